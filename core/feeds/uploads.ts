import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { to as copyTo } from 'pg-copy-streams';
import type { Context } from '../context.js';
import { BinaryCopyData, COPY_BINARY_HEADER, COPY_BINARY_TRAILER, CopyIn } from '../db/copy.js';
import { withTransaction } from '../db/index.js';
import { AppError } from '../errors.js';
import type { ReadableFile } from '../files/file.js';
import { dataTypes, type DataType } from './templates.js';

/**
 * Uploads are kept in chunks small enough that each one stays under V8's large-object threshold (128 KiB)
 * when it is handled whole: short-lived objects above it are only freed by a full collection.
 */
const CHUNK_BYTES = 32 * 1024;
/**
 * Chunks read per COPY (128 KiB), read whole before they are handed on, so that no connection is held by a
 * reader that stops or pauses (unzipper leaves its streams paused). Chunks read ahead of the reader outlive
 * young collections and wait in the old generation for a full one: at 1 MiB ahead a million-row commit
 * kept ~50 MB of dead chunks.
 */
const CHUNKS_PER_COPY = 4;

/** An upload_chunks row in COPY's binary format up to its data: three fields, the token (uuid), seq (int4), the data's length. */
function copyTupleHead(token: Buffer, seq: number, dataLength: number): Buffer {
  const head = Buffer.alloc(2 + 4 + 16 + 4 + 4 + 4);
  head.writeInt16BE(3, 0);
  head.writeInt32BE(16, 2);
  token.copy(head, 6);
  head.writeInt32BE(4, 22);
  head.writeInt32BE(seq, 26);
  head.writeInt32BE(dataLength, 30);
  return head;
}

/** What an upload is for: a feed of one data type, or a mapping's data source. */
export type UploadKind = DataType | 'data_source';

export interface UploadLimits {
  maxBytes: number;
  /** Null keeps the upload until it is deleted (a data source's file is read again at approval and execution). */
  ttlSeconds: number | null;
}

export interface StoredUpload<K extends UploadKind = DataType> {
  token: string;
  businessId: string;
  dataType: K;
  filename: string;
  byteSize: number;
  /** SHA-256 of the bytes (hex): the same file uploaded again has the same. */
  contentSha256: string;
}

/**
 * Streams an upload into PostgreSQL in 1 MiB chunks under a new token, refusing it (and keeping
 * nothing) once it passes `maxBytes`. The file is then readable by any process until it expires.
 */
export async function storeUpload<K extends UploadKind>(ctx: Context, input: { businessId: string; dataType: K; filename: string; stream: AsyncIterable<Buffer> }, limits: UploadLimits): Promise<StoredUpload<K>> {
  return withTransaction(ctx.db.pool, async (client) => {
    const created = await client.query<{ token: string }>(
      `INSERT INTO upload_files (business_id, user_id, data_type, filename, expires_at) VALUES ($1, $2, $3, $4, COALESCE(now() + make_interval(secs => $5), 'infinity')) RETURNING token`,
      [input.businessId, ctx.user.kind === 'user' ? ctx.user.id : null, input.dataType, input.filename, limits.ttlSeconds],
    );
    const token = created.rows[0]!.token;
    // The chunks go in through one binary COPY: the file's bytes are written to the connection as they are,
    // where an INSERT per batch would build (and throw away) a query message around them.
    const copy = new CopyIn(client, 'COPY upload_chunks (token, seq, data) FROM STDIN (FORMAT binary)');
    const tokenBytes = Buffer.from(token.replace(/-/g, ''), 'hex');
    const send = (bytes: Buffer) => copy.write(bytes);
    let seq = 0;
    let size = 0;
    const hash = createHash('sha256');
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    const cut = async (final: boolean) => {
      const bytes = Buffer.concat(pending, pendingBytes);
      let offset = 0;
      for (; bytes.length - offset >= CHUNK_BYTES || (final && offset < bytes.length); offset += CHUNK_BYTES) {
        const data = bytes.subarray(offset, offset + CHUNK_BYTES);
        await send(copyTupleHead(tokenBytes, seq++, data.length));
        await send(data);
      }
      pending = offset < bytes.length ? [bytes.subarray(offset)] : [];
      pendingBytes = bytes.length - offset;
    };
    try {
      await send(COPY_BINARY_HEADER);
      for await (const chunk of input.stream) {
        size += chunk.length;
        if (size > limits.maxBytes) {
          throw new AppError('payload_too_large', `${input.filename} is larger than the ${Math.round(limits.maxBytes / 1024 / 1024)} MB allowed. Split it into smaller files.`);
        }
        hash.update(chunk);
        pending.push(chunk);
        pendingBytes += chunk.length;
        if (pendingBytes >= CHUNK_BYTES) await cut(false);
      }
      await cut(true);
      await send(COPY_BINARY_TRAILER);
      await copy.end();
    } catch (error) {
      // So that the transaction can roll back.
      await copy.abandon(error as Error);
      throw error;
    }
    const contentSha256 = hash.digest('hex');
    await client.query('UPDATE upload_files SET byte_size = $2, content_sha256 = $3 WHERE token = $1', [token, size, contentSha256]);
    return { token, businessId: input.businessId, dataType: input.dataType, filename: input.filename, byteSize: size, contentSha256 };
  });
}

/**
 * The upload behind a token, if it is still there and belongs to the caller's business; a 410 otherwise
 * (an unknown token and another business's token look the same from outside).
 */
export function findUpload(ctx: Context, token: string): Promise<KeptUpload> {
  return findUploadOf(ctx, token, dataTypes);
}

/** The file of a data source, as `findUpload` finds a feed's (feeds and data sources never open each other's). */
export function findDataSourceUpload(ctx: Context, token: string): Promise<KeptUpload<'data_source'>> {
  return findUploadOf(ctx, token, ['data_source'] as const);
}

/** A kept upload as read back: its file, and the date format a person gave for it (null: detected from the file). */
export type KeptUpload<K extends UploadKind = DataType> = StoredUpload<K> & ReadableFile & { dateFormat: string | null };

async function findUploadOf<K extends UploadKind>(ctx: Context, token: string, kinds: readonly K[]): Promise<KeptUpload<K>> {
  const gone = new AppError('gone', 'This upload has expired or does not exist. Upload the file again to get a new preview.');
  if (!/^[0-9a-f-]{36}$/i.test(token)) throw gone;
  const result = await ctx.db.pool.query<{ token: string; business_id: string; data_type: K; filename: string; byte_size: string; date_format: string | null; content_sha256: string | null }>(
    'SELECT token, business_id, data_type, filename, byte_size, date_format, content_sha256 FROM upload_files WHERE token = $1 AND expires_at > now() AND data_type = ANY($2)',
    [token, kinds],
  );
  const row = result.rows[0];
  if (!row || (ctx.scope.kind === 'business' && row.business_id !== ctx.scope.businessId)) throw gone;
  return {
    token: row.token,
    businessId: row.business_id,
    dataType: row.data_type,
    filename: row.filename,
    byteSize: Number(row.byte_size),
    dateFormat: row.date_format,
    // Uploads kept from before hashes were recorded have none (an empty string matches no feed).
    contentSha256: row.content_sha256 ?? '',
    open: (offset = 0) => readChunks(ctx, row.token, offset),
  };
}

/**
 * The bytes of an upload from `offset` as a stream. They are read through binary COPYs of the chunks, which
 * send the bytes as stored: a SELECT sends bytea as hex text, twice the bytes for PostgreSQL to encode and
 * this process to decode (a 74 MB file took ~0.6 s of this process's CPU through SELECTs, ~0.25 s through COPYs).
 */
function readChunks(ctx: Context, token: string, offset: number): Readable {
  return Readable.from(uploadBytes(ctx, token, offset), { objectMode: false, highWaterMark: CHUNK_BYTES });
}

async function* uploadBytes(ctx: Context, token: string, offset: number): AsyncGenerator<Buffer> {
  let { seq: next, skip } = await chunkAt(ctx, token, offset);
  for (;;) {
    const { pieces, chunks } = await readChunksFrom(ctx, token, next);
    for (let piece of pieces) {
      if (skip > 0) {
        const skipped = Math.min(skip, piece.length);
        skip -= skipped;
        piece = piece.subarray(skipped);
        if (piece.length === 0) continue;
      }
      yield piece;
    }
    if (chunks < CHUNKS_PER_COPY) return;
    next += chunks;
  }
}

/** Up to CHUNKS_PER_COPY chunks of an upload from `seq` on, through one binary COPY: their bytes, in the pieces they came in. */
async function readChunksFrom(ctx: Context, token: string, seq: number): Promise<{ pieces: Buffer[]; chunks: number }> {
  const client = await ctx.db.pool.connect();
  let broken: Error | undefined;
  try {
    const data = new BinaryCopyData();
    const pieces: Buffer[] = [];
    // The token was checked to be a uuid and the bounds are integers: COPY takes no parameters.
    const copy = client.query(copyTo(`COPY (SELECT data FROM upload_chunks WHERE token = '${token}' AND seq >= ${seq} AND seq < ${seq + CHUNKS_PER_COPY} ORDER BY seq) TO STDOUT (FORMAT binary)`));
    for await (const chunk of copy as AsyncIterable<Buffer>) pieces.push(...data.take(chunk));
    return { pieces, chunks: data.rows };
  } catch (error) {
    broken = error as Error;
    throw error;
  } finally {
    client.release(broken);
  }
}

/**
 * The chunk holding byte `offset` of an upload and where in it that byte is. Found from the chunks' lengths
 * (kept in their TOAST pointers, so their data is not read), not from today's chunk size: data sources keep
 * their files indefinitely, whatever size their chunks were written in.
 */
async function chunkAt(ctx: Context, token: string, offset: number): Promise<{ seq: number; skip: number }> {
  if (offset === 0) return { seq: 0, skip: 0 };
  const found = await ctx.db.pool.query<{ seq: number; start: string }>(
    `SELECT seq, start FROM (SELECT seq, sum(octet_length(data)) OVER (ORDER BY seq) - octet_length(data) AS start FROM upload_chunks WHERE token = $1) chunks
     WHERE start <= $2 ORDER BY seq DESC LIMIT 1`,
    [token, offset],
  );
  const chunk = found.rows[0];
  return chunk ? { seq: chunk.seq, skip: offset - Number(chunk.start) } : { seq: 0, skip: 0 };
}

/** Keeps the date format a person gave for an upload's date column (null: detect it from the file again). */
export async function setUploadDateFormat(ctx: Context, token: string, dateFormat: string | null): Promise<void> {
  await ctx.db.pool.query('UPDATE upload_files SET date_format = $2 WHERE token = $1', [token, dateFormat]);
}

export async function deleteUpload(ctx: Context, token: string): Promise<void> {
  await ctx.db.pool.query('DELETE FROM upload_files WHERE token = $1', [token]);
}

/** Housekeeping: uploads past their time. */
export async function purgeExpiredUploads(ctx: Context): Promise<number> {
  const result = await ctx.db.pool.query('DELETE FROM upload_files WHERE expires_at < now()');
  return result.rowCount ?? 0;
}
