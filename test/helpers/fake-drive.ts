import { createHash, generateKeyPairSync, type KeyObject } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { jwtVerify } from 'jose';

/**
 * A small Google Drive v3 server for tests: the parts of the HTTP API the Drive source uses, with Drive's
 * contract. `GET /drive/v3/files` (a `q` of `'<folder>' in parents` and `trashed = false` clauses, `pageSize`,
 * opaque `pageToken`, `orderBy=name`, `fields` partial responses), `GET /drive/v3/files/:id?alt=media` (403
 * `fileNotDownloadable` for Google documents), `GET /drive/v3/files/:id/export?mimeType=` (Sheets as XLSX).
 * Requests must carry a service account's self-signed JWT (RS256, the Drive scope), checked with its key.
 */
export interface FakeDriveFile {
  id: string;
  name: string;
  mimeType: string;
  parents: string[];
  content: Buffer;
  modifiedTime: string;
  trashed?: boolean;
}

export interface FakeDrive {
  rootUrl: string;
  /** The service account's JSON key, as Google Cloud gives it. */
  credentialsJson: string;
  /** Every request's method, path and query, in order. */
  requests: { method: string; path: string; query: URLSearchParams }[];
  put(file: Omit<FakeDriveFile, 'modifiedTime'> & { modifiedTime?: string }): FakeDriveFile;
  /** New content upstream: a new modified time (and checksum). */
  change(id: string, content: Buffer): FakeDriveFile;
  close(): Promise<void>;
}

const SHEET = 'application/vnd.google-apps.spreadsheet';
const XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';

export async function startFakeDrive(): Promise<FakeDrive> {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const clientEmail = 'backhouse-test@backhouse-test.iam.gserviceaccount.com';
  const files = new Map<string, FakeDriveFile>();
  const requests: FakeDrive['requests'] = [];
  let clock = Date.parse('2026-11-20T06:00:00Z');
  const tick = () => new Date((clock += 60_000)).toISOString();

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://fake');
    requests.push({ method: req.method ?? 'GET', path: url.pathname, query: url.searchParams });
    handle(req, url, publicKey, clientEmail, files)
      .then(({ status, body, type }) => {
        res.writeHead(status, { 'content-type': type });
        res.end(body);
      })
      .catch((error: unknown) => {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { code: 500, message: String(error) } }));
      });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    rootUrl: `http://127.0.0.1:${port}/`,
    credentialsJson: JSON.stringify({
      type: 'service_account',
      project_id: 'backhouse-test',
      private_key_id: 'test-key-1',
      private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      client_email: clientEmail,
      token_uri: 'https://oauth2.googleapis.com/token',
    }),
    requests,
    put(file) {
      const stored = { ...file, modifiedTime: file.modifiedTime ?? tick() };
      files.set(file.id, stored);
      return stored;
    },
    change(id, content) {
      const file = files.get(id);
      if (!file) throw new Error(`no file ${id}`);
      file.content = content;
      file.modifiedTime = tick();
      return file;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

type Answer = { status: number; body: string | Buffer; type: string };

const json = (status: number, value: unknown): Answer => ({ status, body: JSON.stringify(value), type: 'application/json; charset=UTF-8' });
const driveError = (code: number, reason: string, message: string): Answer => json(code, { error: { code, message, errors: [{ domain: 'global', reason, message }] } });

async function handle(req: http.IncomingMessage, url: URL, publicKey: KeyObject, clientEmail: string, files: Map<string, FakeDriveFile>): Promise<Answer> {
  const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
  if (!token) return driveError(401, 'authError', 'Request is missing required authentication credential.');
  try {
    const { payload } = await jwtVerify(token, publicKey, { issuer: clientEmail, subject: clientEmail });
    if (!String(payload['scope'] ?? '').split(' ').includes('https://www.googleapis.com/auth/drive.readonly')) return driveError(403, 'insufficientPermissions', 'Insufficient Permission');
  } catch {
    return driveError(401, 'authError', 'Invalid Credentials');
  }
  if (req.method !== 'GET') return driveError(405, 'methodNotAllowed', 'Method not allowed');

  if (url.pathname === '/drive/v3/files') return list(url.searchParams, files);
  const one = /^\/drive\/v3\/files\/([^/]+)(\/export)?$/.exec(url.pathname);
  if (!one) return driveError(404, 'notFound', 'Not Found');
  const file = files.get(decodeURIComponent(one[1]!));
  if (!file || file.trashed) return driveError(404, 'notFound', `File not found: ${one[1]}.`);
  if (one[2]) {
    if (file.mimeType !== SHEET) return driveError(403, 'fileNotExportable', 'Export only supports Docs Editors files.');
    if (url.searchParams.get('mimeType') !== XLSX) return driveError(400, 'badRequest', 'The requested conversion is not supported.');
    return { status: 200, body: file.content, type: XLSX };
  }
  if (url.searchParams.get('alt') !== 'media') return json(200, metadata(file, null));
  if (file.mimeType.startsWith('application/vnd.google-apps.')) return driveError(403, 'fileNotDownloadable', 'Only files with binary content can be downloaded. Use Export with Docs Editors files.');
  return { status: 200, body: file.content, type: file.mimeType };
}

function list(query: URLSearchParams, files: Map<string, FakeDriveFile>): Answer {
  const filters: ((file: FakeDriveFile) => boolean)[] = [];
  for (const clause of (query.get('q') ?? '').split(/\s+and\s+/i).filter(Boolean)) {
    const parent = /^'([^']+)' in parents$/.exec(clause.trim());
    if (parent) filters.push((file) => file.parents.includes(parent[1]!));
    else if (/^trashed\s*=\s*false$/.test(clause.trim())) filters.push((file) => !file.trashed);
    else return driveError(400, 'invalid', `Invalid Value: q (${clause})`);
  }
  const pageSize = Math.min(Number(query.get('pageSize') ?? 100), 1000);
  if (!Number.isInteger(pageSize) || pageSize < 1) return driveError(400, 'invalid', 'Invalid Value: pageSize');
  let offset = 0;
  const pageToken = query.get('pageToken');
  if (pageToken) {
    const decoded = /^offset:(\d+)$/.exec(Buffer.from(pageToken, 'base64url').toString());
    if (!decoded) return driveError(400, 'invalid', 'Invalid Value: pageToken');
    offset = Number(decoded[1]);
  }
  const matching = [...files.values()].filter((file) => filters.every((keep) => keep(file)));
  if (query.get('orderBy') === 'name') matching.sort((a, b) => a.name.localeCompare(b.name));
  const page = matching.slice(offset, offset + pageSize);
  const next = offset + pageSize < matching.length ? Buffer.from(`offset:${offset + pageSize}`).toString('base64url') : undefined;
  const wanted = fileFields(query.get('fields'));
  const body: Record<string, unknown> = { kind: 'drive#fileList', incompleteSearch: false, files: page.map((file) => metadata(file, wanted)) };
  if (next) body['nextPageToken'] = next;
  if (query.get('fields') && !/nextPageToken/.test(query.get('fields')!)) delete body['nextPageToken'];
  return json(200, body);
}

/** The fields asked of each file by `fields=nextPageToken, files(id, name)`; null for Drive's default set. */
function fileFields(fields: string | null): string[] | null {
  const inner = fields ? /files\(([^)]*)\)/.exec(fields)?.[1] : undefined;
  return inner ? inner.split(',').map((field) => field.trim()) : null;
}

function metadata(file: FakeDriveFile, wanted: string[] | null): Record<string, unknown> {
  const binary = !file.mimeType.startsWith('application/vnd.google-apps.');
  const all: Record<string, unknown> = {
    kind: 'drive#file',
    id: file.id,
    name: file.name,
    mimeType: file.mimeType,
    parents: file.parents,
    modifiedTime: file.modifiedTime,
    trashed: file.trashed ?? false,
    ...(binary ? { size: String(file.content.length), md5Checksum: createHash('md5').update(file.content).digest('hex') } : {}),
  };
  if (!wanted) return { kind: all.kind, id: all.id, name: all.name, mimeType: all.mimeType };
  return Object.fromEntries(wanted.filter((field) => field in all).map((field) => [field, all[field]]));
}
