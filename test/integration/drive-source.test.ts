import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buffer } from 'node:stream/consumers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sampleCatalog, writeInventoryWorkbook, writeSampleDay, type SampleDay } from '../../core/pipelines/samples.js';
import { createDriveClient, GoogleDriveSource, GOOGLE_SHEET_MIME, serviceAccountKeyFrom } from '../../core/pipelines/sources/drive.js';
import { pollSource } from '../../core/pipelines/watcher.js';
import { seedTenants, startTestApp, type Tenants, type TestApp } from '../helpers/app.js';
import { startFakeDrive, type FakeDrive } from '../helpers/fake-drive.js';

const XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
let drive: FakeDrive;
let dir: string;
let sample: SampleDay;
let app: TestApp;
let t: Tenants;

beforeAll(async () => {
  drive = await startFakeDrive();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'drive-source-'));
  sample = await writeSampleDay(path.join(dir, 'in'), { businessDate: '2026-11-20', storeCount: 1, skuCount: 30 });
  drive.put({ id: 'inv-s001', name: 'inventory_S001_2026-11-20.xlsx', mimeType: XLSX, parents: ['folder-1'], content: fs.readFileSync(sample.inventoryFiles[0]!) });
  // The supplier master kept as a Google Sheet: exported as XLSX.
  drive.put({ id: 'sheet-suppliers', name: 'Supplier master', mimeType: GOOGLE_SHEET_MIME, parents: ['folder-1'], content: fs.readFileSync(sample.supplierMaster) });
  drive.put({ id: 'po-export', name: 'po_export_2026-11-20.xlsx', mimeType: XLSX, parents: ['folder-1'], content: fs.readFileSync(sample.poExport) });
  drive.put({ id: 'notes-doc', name: 'Read me', mimeType: 'application/vnd.google-apps.document', parents: ['folder-1'], content: Buffer.alloc(0) });
  drive.put({ id: 'sub', name: 'Archive', mimeType: 'application/vnd.google-apps.folder', parents: ['folder-1'], content: Buffer.alloc(0) });
  drive.put({ id: 'old', name: 'inventory_S001_2026-11-19.xlsx', mimeType: XLSX, parents: ['folder-1'], content: Buffer.from('x'), trashed: true });
  drive.put({ id: 'elsewhere', name: 'inventory_S002_2026-11-20.xlsx', mimeType: XLSX, parents: ['folder-2'], content: Buffer.from('x') });
});
afterAll(async () => {
  await app?.close();
  await drive?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('the Google Drive source against a fake Drive', () => {
  it('lists a folder page by page, with checksums, skipping folders, documents, trashed files and other folders', async () => {
    const source = new GoogleDriveSource(await createDriveClient({ credentialsJson: drive.credentialsJson, rootUrl: drive.rootUrl }), 'folder-1', { pageSize: 2 });
    const before = drive.requests.length;
    const listed = [];
    for await (const file of source.list()) listed.push(file);
    expect(listed.map((file) => file.name)).toEqual(['inventory_S001_2026-11-20.xlsx', 'po_export_2026-11-20.xlsx', 'Supplier master.xlsx']);
    expect(listed[0]).toMatchObject({ id: 'inv-s001', size: fs.statSync(sample.inventoryFiles[0]!).size, checksum: expect.stringMatching(/^[0-9a-f]{32}$/) });
    expect(listed[2]).toMatchObject({ id: 'sheet-suppliers', size: null, checksum: null, mimeType: GOOGLE_SHEET_MIME });
    const lists = drive.requests.slice(before).filter((request) => request.path === '/drive/v3/files');
    // 5 files in the folder (3 listed, a document and a subfolder), 2 a page.
    expect(lists).toHaveLength(3);
    expect(lists.map((request) => request.query.get('pageToken') !== null)).toEqual([false, true, true]);
    expect(lists.every((request) => request.query.get('q') === "'folder-1' in parents and trashed = false")).toBe(true);

    expect(await buffer(await source.download(listed[0]!))).toEqual(fs.readFileSync(sample.inventoryFiles[0]!));
    expect(await buffer(await source.download(listed[2]!))).toEqual(fs.readFileSync(sample.supplierMaster));
    const sheetRequest = drive.requests.at(-1)!;
    expect(sheetRequest.path).toBe('/drive/v3/files/sheet-suppliers/export');
    expect(sheetRequest.query.get('mimeType')).toBe(XLSX);
  });

  it('says what is wrong with a missing key, a folder it cannot see, and a bad folder id', async () => {
    expect(() => serviceAccountKeyFrom({})).toThrow(/set GOOGLE_DRIVE_KEY_FILE/);
    expect(() => serviceAccountKeyFrom({ keyFile: path.join(dir, 'nope.json') })).toThrow(/nope\.json cannot be read \(ENOENT\)/);
    const wrongKey = JSON.parse((await startFakeDrive().then(async (other) => (await other.close(), other))).credentialsJson) as Record<string, string>;
    const source = new GoogleDriveSource(await createDriveClient({ credentialsJson: JSON.stringify(wrongKey), rootUrl: drive.rootUrl }), 'folder-1');
    await expect((async () => { for await (const _ of source.list()) continue; })()).rejects.toThrow(/Google Drive could not list the folder folder-1: 401 Invalid Credentials/);
    expect(() => new GoogleDriveSource(async () => { throw new Error('unused'); }, "x' or name contains '")).toThrow(/is not a Google Drive folder id/);
  });

  it('through the watcher: new files downloaded and routed once, unchanged ones skipped, a file changed upstream taken again', async () => {
    process.env.GOOGLE_DRIVE_CREDENTIALS_JSON = drive.credentialsJson;
    process.env.GOOGLE_DRIVE_ROOT_URL = drive.rootUrl;
    app = await startTestApp({ PIPELINE_DATA_DIR: path.join(dir, 'data'), PIPELINE_FLUSH_SECONDS: '1' });
    t = await seedTenants(app.system);
    await app.db.pool.query(`UPDATE shops SET code = 'S001' WHERE id = $1`, [t.shopA1]);
    const sourceId = (await app.db.pool.query<{ id: string }>(`INSERT INTO pipeline_sources (business_id, name, kind, location) VALUES ($1, 'Store drops', 'google_drive', 'folder-1') RETURNING id`, [t.businessA])).rows[0]!.id;
    const downloads = () => drive.requests.filter((request) => request.query.get('alt') === 'media' || request.path.endsWith('/export')).map((request) => request.path);
    const options = { dataDir: path.join(dir, 'data') };

    const before = downloads().length;
    const first = await pollSource(app.system, app.jobs, sourceId, options);
    expect(first).toMatchObject({ listed: 3, taken: 3, unrouted: 0 });
    expect(first.queued.map((job) => job.fileName).sort()).toEqual(['Supplier master.xlsx', 'inventory_S001_2026-11-20.xlsx', 'po_export_2026-11-20.xlsx']);
    expect(new Set(first.runs.map((run) => run.pipelineName))).toEqual(new Set(['stock_health', 'supplier_master', 'po_snapshot']));
    expect(downloads().length - before).toBe(3);

    const second = await pollSource(app.system, app.jobs, sourceId, options);
    expect(second).toMatchObject({ listed: 3, taken: 0, queued: [] });
    expect(downloads().length - before).toBe(3);

    await expect.poll(async () => (await app.db.pool.query(`SELECT 1 FROM stock_health_snapshots WHERE business_id = $1 AND store_code = 'S001'`, [t.businessA])).rowCount, { timeout: 60_000, interval: 250 }).toBe(30);

    // Saved again unchanged (new modified time, same checksum): not taken.
    drive.change('inv-s001', fs.readFileSync(sample.inventoryFiles[0]!));
    expect(await pollSource(app.system, app.jobs, sourceId, options)).toMatchObject({ taken: 0 });
    const edited = path.join(dir, 'edited.xlsx');
    await writeInventoryWorkbook(edited, { storeCode: 'S001', catalog: sampleCatalog(30), seed: 99 });
    drive.change('inv-s001', fs.readFileSync(edited));
    const third = await pollSource(app.system, app.jobs, sourceId, options);
    expect(third).toMatchObject({ listed: 3, taken: 1 });
    expect(third.queued.map((job) => job.fileName)).toEqual(['inventory_S001_2026-11-20.xlsx']);
    expect(downloads().slice(before + 3)).toEqual(['/drive/v3/files/inv-s001']);
  });
});
