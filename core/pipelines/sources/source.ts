import type { Readable } from 'node:stream';

/** A file as a source lists it: enough to tell a new or changed file from one already taken. */
export interface SourceFile {
  /** Stable within the source: a path relative to the folder, or a Drive file id. */
  id: string;
  name: string;
  modifiedTime: Date;
  /** Bytes, where the source knows them before downloading (a Google Sheet does not). */
  size: number | null;
  /** A content checksum the source gives without a download (Drive's md5Checksum), else null. */
  checksum: string | null;
  mimeType: string | null;
}

/**
 * Where a pipeline's files come from: a local folder (the default, offline) or a Google Drive folder.
 * Listing never downloads; `download` gives the file's bytes (a Google Sheet exported as XLSX).
 */
export interface FileSource {
  readonly kind: 'local' | 'google_drive';
  list(signal?: AbortSignal): AsyncIterable<SourceFile>;
  download(file: SourceFile, signal?: AbortSignal): Promise<Readable>;
}
