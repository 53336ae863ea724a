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
 * Lines of COPY's text format through one COPY, in ~64 KiB writes that respect back-pressure, so a million
 * rows stream in without piling up in memory. (Each write's text stays under V8's 128 KiB large-object
 * threshold, above which garbage waits for a full collection.)
 */
export class CopyWriter {
  private buffer: string[] = [];
  private size = 0;
  private readonly stream: CopyStreamQuery;

  constructor(client: PoolClient, sql: string) {
    this.stream = client.query(copyFrom(sql));
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
    if (!this.stream.write(chunk)) await once(this.stream, 'drain');
  }

  async end(): Promise<void> {
    await this.flush();
    this.stream.end();
    await finished(this.stream);
  }

  async abandon(reason: Error): Promise<void> {
    await abandonCopy(this.stream, reason);
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

/**
 * Abandons a COPY (PostgreSQL gets CopyFail and fails it), so the connection can go on: a ROLLBACK sent
 * while a COPY is still open waits behind it for ever.
 */
export async function abandonCopy(copy: CopyStreamQuery, reason: Error): Promise<void> {
  copy.destroy(reason);
  await finished(copy).catch(() => undefined);
}
