import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { AppError } from '../../errors.js';
import type { FileSource, SourceFile } from './source.js';

/** Names that are not files people sent: hidden files, Office's lock files, partial downloads. */
function isIgnored(name: string): boolean {
  return name.startsWith('.') || name.startsWith('~$') || /\.(tmp|part|crdownload)$/i.test(name);
}

/**
 * A local folder (the default source; works offline): its files, not its subfolders. A file's id is its
 * name; it counts as changed when its modified time or size changes (no checksum without reading it).
 */
export class LocalFolderSource implements FileSource {
  readonly kind = 'local' as const;

  constructor(readonly folder: string) {}

  async *list(signal?: AbortSignal): AsyncIterable<SourceFile> {
    const entries = await fs.promises.readdir(this.folder, { withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
      throw new AppError('not_found', `The folder ${this.folder} cannot be read (${error.code ?? error.message}); check the source's location.`);
    });
    for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      signal?.throwIfAborted();
      if (!entry.isFile() || isIgnored(entry.name)) continue;
      const stat = await fs.promises.stat(path.join(this.folder, entry.name)).catch(() => null);
      if (!stat) continue; // gone between the listing and now
      yield { id: entry.name, name: entry.name, modifiedTime: stat.mtime, size: stat.size, checksum: null, mimeType: null };
    }
  }

  /** The file's path on this machine: a local file is read where it is, never copied. */
  pathOf(file: SourceFile): string {
    return path.join(this.folder, file.id);
  }

  async download(file: SourceFile): Promise<Readable> {
    return fs.createReadStream(this.pathOf(file));
  }
}
