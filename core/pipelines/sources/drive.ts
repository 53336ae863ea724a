import fs from 'node:fs';
import type { Readable } from 'node:stream';
import type { drive_v3 } from 'googleapis';
import { z } from 'zod';
import { AppError } from '../../errors.js';
import type { FileSource, SourceFile } from './source.js';

export const GOOGLE_SHEET_MIME = 'application/vnd.google-apps.spreadsheet';
export const XLSX_MIME = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
const FOLDER_MIME = 'application/vnd.google-apps.folder';
const DRIVE_READONLY_SCOPE = 'https://www.googleapis.com/auth/drive.readonly';

/** Files listed per request (Drive allows up to 1,000). */
const PAGE_SIZE = 200;

const serviceAccountKey = z.object({ client_email: z.string().email(), private_key: z.string().min(1), private_key_id: z.string().optional() }).passthrough();
export type ServiceAccountKey = z.infer<typeof serviceAccountKey>;

export interface DriveSettings {
  /** The service account's JSON key, as text (GOOGLE_DRIVE_CREDENTIALS_JSON). */
  credentialsJson?: string;
  /** A path to the service account's JSON key file (GOOGLE_DRIVE_KEY_FILE). */
  keyFile?: string;
  /** Where the Drive API is: Google's by default; a local fake in tests (GOOGLE_DRIVE_ROOT_URL). */
  rootUrl?: string;
}

/** The service account's key from the environment's text or key file, checked, with what to do when it is missing or wrong. */
export function serviceAccountKeyFrom(settings: DriveSettings): ServiceAccountKey {
  let text = settings.credentialsJson;
  if (!text && settings.keyFile) {
    try {
      text = fs.readFileSync(settings.keyFile, 'utf8');
    } catch (error) {
      throw new AppError('unavailable', `The Google service-account key file ${settings.keyFile} cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)}): set GOOGLE_DRIVE_KEY_FILE to the JSON key downloaded for the service account.`);
    }
  }
  if (!text) throw new AppError('unavailable', 'Google Drive sources need a service account: set GOOGLE_DRIVE_KEY_FILE (a JSON key file) or GOOGLE_DRIVE_CREDENTIALS_JSON, and share the Drive folder with the service account\'s email address.');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new AppError('unavailable', 'The Google service-account key is not JSON: use the JSON key Google Cloud gives for the service account (Keys › Add key › JSON).');
  }
  const key = serviceAccountKey.safeParse(parsed);
  if (!key.success) throw new AppError('unavailable', 'The Google service-account key lacks client_email or private_key: use the JSON key Google Cloud gives for the service account.');
  return key.data;
}

/**
 * A Drive v3 client signed in as the service account. Requests carry a JWT the process signs itself with
 * the account's key and the read-only Drive scope (`useJWTAccessWithScope`), which Google accepts for
 * service accounts: no round trip to Google's token host, and a fake Drive in tests sees the same requests.
 */
export async function createDriveClient(settings: DriveSettings): Promise<drive_v3.Drive> {
  const key = serviceAccountKeyFrom(settings);
  const { google } = await import('googleapis');
  const auth = new google.auth.JWT({ email: key.client_email, key: key.private_key, keyId: key.private_key_id, scopes: [DRIVE_READONLY_SCOPE] });
  auth.useJWTAccessWithScope = true;
  return google.drive({ version: 'v3', auth, ...(settings.rootUrl ? { rootUrl: settings.rootUrl } : {}) });
}

/**
 * The files of one Google Drive folder (not its subfolders), through Drive v3: `files.list` page by page
 * with a folder query, modified time and MD5 checksum for change detection (a Google Sheet has no checksum:
 * its modified time counts), `files.get` with `alt=media` for uploaded files and `files.export` as XLSX for
 * Google Sheets. Other Google documents (Docs, Slides, forms, shortcuts) cannot be workbooks and are not listed.
 */
export class GoogleDriveSource implements FileSource {
  readonly kind = 'google_drive' as const;

  private client: Promise<drive_v3.Drive> | null = null;

  /** `drive`: a client, or how to make one (made on first use, so a source with bad credentials fails its poll, not its opening). */
  constructor(
    private readonly drive: drive_v3.Drive | (() => Promise<drive_v3.Drive>),
    readonly folderId: string,
    private readonly options: { pageSize?: number } = {},
  ) {
    if (!/^[\w-]{1,200}$/.test(folderId)) throw new AppError('validation_failed', `“${folderId}” is not a Google Drive folder id: use the last part of the folder's address (drive.google.com/drive/folders/<id>).`);
  }

  async *list(signal?: AbortSignal): AsyncIterable<SourceFile> {
    let pageToken: string | undefined;
    do {
      signal?.throwIfAborted();
      const files = await this.files();
      const response = await this.call(`list the folder ${this.folderId}`, () =>
        files.list(
          {
            q: `'${this.folderId}' in parents and trashed = false`,
            fields: 'nextPageToken, files(id, name, mimeType, modifiedTime, md5Checksum, size)',
            pageSize: this.options.pageSize ?? PAGE_SIZE,
            orderBy: 'name',
            supportsAllDrives: true,
            includeItemsFromAllDrives: true,
            ...(pageToken ? { pageToken } : {}),
          },
          { signal },
        ),
      );
      for (const file of response.data.files ?? []) {
        const listed = sourceFileOf(file);
        if (listed) yield listed;
      }
      pageToken = response.data.nextPageToken ?? undefined;
    } while (pageToken);
  }

  async download(file: SourceFile, signal?: AbortSignal): Promise<Readable> {
    const files = await this.files();
    if (file.mimeType === GOOGLE_SHEET_MIME) {
      const response = await this.call(`export the Google Sheet “${file.name}” as XLSX`, () => files.export({ fileId: file.id, mimeType: XLSX_MIME }, { responseType: 'stream', signal }));
      return response.data as unknown as Readable;
    }
    const response = await this.call(`download “${file.name}”`, () => files.get({ fileId: file.id, alt: 'media', supportsAllDrives: true }, { responseType: 'stream', signal }));
    return response.data as unknown as Readable;
  }

  private async files(): Promise<drive_v3.Resource$Files> {
    if (typeof this.drive !== 'function') return this.drive.files;
    this.client ??= this.drive();
    return (await this.client).files;
  }

  /** A Drive failure in words of what was being done, the status and Google's own message. */
  private async call<T>(what: string, request: () => Promise<T>): Promise<T> {
    try {
      return await request();
    } catch (error) {
      const status = (error as { status?: number; code?: number | string }).status ?? (error as { code?: number | string }).code;
      const message = error instanceof Error ? error.message : String(error);
      const hint = status === 404 ? ' Check the folder id and that the folder is shared with the service account.' : status === 403 || status === 401 ? ' Check that the folder is shared with the service account and the Drive API is enabled for its project.' : '';
      throw Object.assign(new AppError('unavailable', `Google Drive could not ${what}: ${status ? `${status} ` : ''}${message}.${hint}`), { cause: error });
    }
  }
}

/** A listed Drive file as a source file; null for folders and Google documents that are not Sheets. */
function sourceFileOf(file: drive_v3.Schema$File): SourceFile | null {
  if (!file.id || !file.name || !file.modifiedTime) return null;
  const mimeType = file.mimeType ?? null;
  if (mimeType === FOLDER_MIME) return null;
  if (mimeType?.startsWith('application/vnd.google-apps.') && mimeType !== GOOGLE_SHEET_MIME) return null;
  const isSheet = mimeType === GOOGLE_SHEET_MIME;
  return {
    id: file.id,
    // A Sheet is read as its XLSX export: its name says so, for routing by name.
    name: isSheet && !/\.xlsx$/i.test(file.name) ? `${file.name}.xlsx` : file.name,
    modifiedTime: new Date(file.modifiedTime),
    size: file.size ? Number(file.size) : null,
    checksum: file.md5Checksum ?? null,
    mimeType,
  };
}
