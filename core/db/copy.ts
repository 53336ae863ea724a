import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import type { PoolClient } from 'pg';
import { from as copyFrom, type CopyStreamQuery } from 'pg-copy-streams';

const COPY_SPECIAL = /[\\\t\n\r]/;

/** A value in COPY's text format: \N for null; backslash, tab and line breaks escaped. */
export function copyValue(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return '\\N';
  const text = String(value);
  if (!COPY_SPECIAL.test(text)) return text;
  return text.replace(/[\\\t\n\r]/g, (char) => (char === '\\' ? '\\\\' : char === '\t' ? '\\t' : char === '\n' ? '\\n' : '\\r'));
}

/**
 * One COPY … FROM STDIN, written with back-pressure. Its failure (the server's refusal, a lost connection)
 * is kept and thrown by the next write or the end: pg-copy-streams emits it as an 'error' event, which
 * nobody hears while the writer waits for its next data (an upload still arriving), and an unheard one ends
 * the process. After such a failure pg-copy-streams has let go of the connection, so there is nothing to abandon.
 */
export class CopyIn {
  private readonly stream: CopyStreamQuery;
  private failure: Error | null = null;

  constructor(client: PoolClient, sql: string) {
    this.stream = client.query(copyFrom(sql));
    this.stream.on('error', (error: Error) => (this.failure ??= error));
  }

  async write(chunk: string | Buffer): Promise<void> {
    if (this.failure) throw this.failure;
    // once() rejects on an 'error' event while it waits.
    if (!this.stream.write(chunk)) await once(this.stream, 'drain');
  }

  async end(): Promise<void> {
    if (this.failure) throw this.failure;
    this.stream.end();
    await finished(this.stream);
  }

  /**
   * Abandons the COPY (PostgreSQL gets CopyFail and fails it), so the connection can go on: a ROLLBACK sent
   * while a COPY is still open waits behind it for ever.
   */
  async abandon(reason: Error): Promise<void> {
    if (this.failure) return;
    this.stream.destroy(reason);
    await finished(this.stream).catch(() => undefined);
  }
}

/**
 * Lines of COPY's text format through one COPY, in ~64 KiB writes that respect back-pressure, so a million
 * rows stream in without piling up in memory. (Each write's text stays under V8's 128 KiB large-object
 * threshold, above which garbage waits for a full collection.)
 */
export class CopyWriter {
  private buffer: string[] = [];
  private size = 0;
  private readonly copy: CopyIn;

  constructor(client: PoolClient, sql: string) {
    this.copy = new CopyIn(client, sql);
  }

  /** Adds a line (with its line break); true when the buffer is full and `flush()` is due. */
  add(line: string): boolean {
    this.buffer.push(line);
    this.size += line.length;
    return this.size >= 64 * 1024;
  }

  async flush(): Promise<void> {
    if (this.buffer.length === 0) return;
    const chunk = this.buffer.join('');
    this.buffer = [];
    this.size = 0;
    await this.copy.write(chunk);
  }

  async end(): Promise<void> {
    await this.flush();
    await this.copy.end();
  }

  async abandon(reason: Error): Promise<void> {
    await this.copy.abandon(reason);
  }
}

/** Lines written by `work` through one COPY: ended when `work` returns, abandoned when it throws. */
export async function copyLines<T>(client: PoolClient, sql: string, work: (writer: CopyWriter) => Promise<T>): Promise<T> {
  const writer = new CopyWriter(client, sql);
  let result: T;
  try {
    result = await work(writer);
  } catch (error) {
    await writer.abandon(error as Error);
    throw error;
  }
  await writer.end();
  return result;
}

/** COPY's binary format: signature, flags, header extension length; and the end-of-data marker. */
export const COPY_BINARY_HEADER = Buffer.concat([Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1'), Buffer.alloc(8)]);
export const COPY_BINARY_TRAILER = Buffer.from([0xff, 0xff]);

/**
 * The data of each row of a one-column binary COPY, as it arrives: the signature, each row's field count
 * and length and the trailer are dropped, the rows counted. Data is handed on in the pieces it came in.
 */
export class BinaryCopyData {
  rows = 0;
  /** Framing bytes gathered until the unit they belong to is whole (the header, a row's head, the trailer). */
  private framing = Buffer.alloc(0);
  private headerRead = false;
  private dataLeft = 0;

  take(chunk: Buffer): Buffer[] {
    const pieces: Buffer[] = [];
    let at = 0;
    while (at < chunk.length) {
      if (this.dataLeft > 0) {
        const length = Math.min(this.dataLeft, chunk.length - at);
        pieces.push(chunk.subarray(at, at + length));
        at += length;
        this.dataLeft -= length;
        continue;
      }
      const wanted = this.framingLength() - this.framing.length;
      const taken = chunk.subarray(at, at + wanted);
      at += taken.length;
      this.framing = Buffer.concat([this.framing, taken]);
      if (this.framing.length === this.framingLength()) this.readFraming();
    }
    return pieces;
  }

  /** The header; or a row's field count and its field's length; or the trailer (a field count of -1). */
  private framingLength(): number {
    if (!this.headerRead) return COPY_BINARY_HEADER.length;
    return this.framing.length >= 2 && this.framing.readInt16BE(0) === -1 ? 2 : 6;
  }

  private readFraming(): void {
    if (!this.headerRead) {
      if (!this.framing.equals(COPY_BINARY_HEADER)) throw new Error('Unexpected header in a binary COPY.');
      this.headerRead = true;
    } else if (this.framing.length === 6) {
      if (this.framing.readInt16BE(0) !== 1) throw new Error('Unexpected row in a binary COPY: one field per row expected.');
      this.rows++;
      this.dataLeft = Math.max(this.framing.readInt32BE(2), 0);
    }
    this.framing = Buffer.alloc(0);
  }
}
