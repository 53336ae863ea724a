import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { PassThrough, Readable } from 'node:stream';

/**
 * A file that can be read as many times as needed, from any offset: an upload kept in PostgreSQL, a file on
 * disk, bytes downloaded from a source. A workbook's parts are read from their offsets.
 */
export interface ReadableFile {
  filename: string;
  byteSize: number;
  /** The bytes from `offset` (the start by default) to the end. */
  open(offset?: number): Readable;
}

/** A file on disk, read from any offset without being loaded. */
export async function fileOnDisk(path: string, filename = basename(path)): Promise<ReadableFile> {
  const { size } = await stat(path);
  return { filename, byteSize: size, open: (offset = 0) => createReadStream(path, { start: offset }) };
}

/** Bytes already in memory (a small download, a test's file). */
export function fileInMemory(filename: string, bytes: Buffer): ReadableFile {
  return { filename, byteSize: bytes.length, open: (offset = 0) => Readable.from([bytes.subarray(offset)]) };
}

/**
 * A file source that counts the bytes read since it was last opened from the start (a workbook's parts are
 * then opened at their offsets): the share of the file read so far.
 */
export function countingSource(source: ReadableFile): ReadableFile & { bytesRead(): number } {
  let bytes = 0;
  return {
    filename: source.filename,
    byteSize: source.byteSize,
    open(offset = 0) {
      if (offset === 0) bytes = 0;
      const counter = new PassThrough();
      counter.on('data', (chunk: Buffer) => (bytes += chunk.length));
      const raw = source.open(offset);
      raw.on('error', (error) => counter.destroy(error));
      return raw.pipe(counter);
    },
    bytesRead: () => bytes,
  };
}

export function startsWith(bytes: Uint8Array, magic: number[]): boolean {
  return magic.every((byte, i) => bytes[i] === byte);
}

/** The first `bytes` of a stream (fewer when it is shorter); the stream is destroyed. */
export async function readHead(stream: Readable, bytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of stream) {
    chunks.push(chunk as Buffer);
    length += (chunk as Buffer).length;
    if (length >= bytes) break;
  }
  stream.destroy();
  return Buffer.concat(chunks).subarray(0, bytes);
}
