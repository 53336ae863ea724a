import { AppError } from '../../errors.js';
import { loadConfig } from '../../config.js';
import { createDriveClient, GoogleDriveSource } from './drive.js';
import { LocalFolderSource } from './local.js';
import type { FileSource, SourceFile } from './source.js';

/** A row of pipeline_sources, as the watcher needs it. */
export interface SourceRow {
  id: string;
  businessId: string;
  name: string;
  kind: FileSource['kind'];
  location: string;
  enabled: boolean;
  pollIntervalSeconds: number;
  lastPolledAt: Date | null;
}

/** A source's files as local paths: read in place (a local folder) or downloaded once into the cache. */
export interface OpenedSource {
  source: FileSource;
  /** The local path of a listed file, when the source keeps its files on this machine; else null (download). */
  localPathOf(file: SourceFile): string | null;
}

type SourceFactory = (row: SourceRow) => OpenedSource;

/** How each kind of source is opened: the local folder here; Google Drive is added by its module. */
const sourceKinds = new Map<FileSource['kind'], SourceFactory>([
  ['local', (row) => {
    const source = new LocalFolderSource(row.location);
    return { source, localPathOf: (file) => source.pathOf(file) };
  }],
  ['google_drive', (row) => {
    const config = loadConfig();
    const settings = { credentialsJson: config.GOOGLE_DRIVE_CREDENTIALS_JSON, keyFile: config.GOOGLE_DRIVE_KEY_FILE, rootUrl: config.GOOGLE_DRIVE_ROOT_URL };
    return { source: new GoogleDriveSource(() => createDriveClient(settings), row.location), localPathOf: () => null };
  }],
]);

export function registerSourceKind(kind: FileSource['kind'], factory: SourceFactory): void {
  sourceKinds.set(kind, factory);
}

export function openSource(row: SourceRow): OpenedSource {
  const factory = sourceKinds.get(row.kind);
  if (!factory) throw new AppError('unavailable', `Sources of kind ${row.kind} cannot be read by this installation (source "${row.name}").`);
  return factory(row);
}

export const sourceColumns = `id, business_id AS "businessId", name, kind, location, enabled, poll_interval_seconds AS "pollIntervalSeconds", last_polled_at AS "lastPolledAt"`;
