/**
 * File pipelines benchmark (`npm run bench:pipelines`): 30 store inventory workbooks of 20,000 rows each
 * (600,000 rows) through the stock_health pipeline with 1, 2 and 4 worker processes (each one file at a
 * time, as `npm run worker` runs them, against an embedded PostgreSQL), from the run's start to its final
 * status: time, rows/s and the workers' peak RSS. In the same run, the floor: the same workbooks read by the
 * XLSX reader alone (doing nothing with the rows) in one process, and split over two processes (the cores).
 * BENCH_STORES and BENCH_ROWS change the size; BENCH_WORKERS the worker counts (default 1,2,4).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startBackhouse } from '../app/runtime.js';
import { systemContext } from '../core/context.js';
import { loadConfig, projectRoot } from '../core/config.js';
import { createLogger } from '../core/log.js';
import { startFolderRun } from '../core/pipelines/runs.js';
import { inventoryFileName, sampleCatalog, sampleStoreCodes, writeInventoryWorkbook, writeSupplierMaster } from '../core/pipelines/samples.js';
import { freePort, peakRssOf } from './product.js';

const stores = Number(process.env.BENCH_STORES ?? 30);
const rowsPerStore = Number(process.env.BENCH_ROWS ?? 20_000);
const workerCounts = (process.env.BENCH_WORKERS ?? '1,2,4').split(',').map(Number);
const totalRows = stores * rowsPerStore;
const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'backhouse-bench-pipelines-'));
const inputDir = path.join(workDir, 'in');
const masterDir = path.join(workDir, 'master');
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

console.log(`load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}, ${os.cpus().length} cores`);
console.log(`generating ${stores} store workbooks of ${rowsPerStore} rows (${totalRows} rows)…`);
const catalog = sampleCatalog(rowsPerStore);
const files: string[] = [];
for (const storeCode of sampleStoreCodes(stores)) {
  const file = path.join(inputDir, inventoryFileName(storeCode, '2026-11-20'));
  await writeInventoryWorkbook(file, { storeCode, catalog });
  files.push(file);
}
await writeSupplierMaster(path.join(masterDir, 'supplier_master.xlsx'), catalog);
const inputBytes = files.reduce((sum, file) => sum + fs.statSync(file).size, 0);
console.log(`  ${mb(inputBytes)} of workbooks`);

const childEnv = (databaseUrl: string) => ({ ...process.env, DATABASE_URL: databaseUrl, LOG_LEVEL: 'warn', SEED_DEMO: 'false', PIPELINE_DATA_DIR: path.join(workDir, 'data'), PIPELINE_FLUSH_SECONDS: '2', DATABASE_POOL_SIZE: '4', MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX ?? '2' });

function child(args: string[], env: NodeJS.ProcessEnv): { process: ChildProcess; output: Promise<string>; line: Promise<string> } {
  // Node itself with tsx's loader (not tsx's CLI, which runs node as a child of its own): the pid is the worker's.
  const proc = spawn(process.execPath, ['--import', 'tsx', path.join(projectRoot, 'bench', 'pipelines-worker.ts'), ...args], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  let text = '';
  let firstLine!: (line: string) => void;
  const line = new Promise<string>((resolve) => (firstLine = resolve));
  proc.stdout!.on('data', (chunk: Buffer) => {
    text += chunk.toString();
    if (text.includes('\n')) firstLine(text.split('\n')[0]!);
  });
  const output = new Promise<string>((resolve, reject) => proc.once('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`bench child ${args[0]} exited with ${code}`)))));
  return { process: proc, output, line };
}

// The floor: the XLSX reader alone, in one process, then split over two (each timed from its first file, as
// the workers are timed once they are ready); the slower of the two is the floor.
async function readingFloor(processes: number): Promise<number> {
  const shares = Array.from({ length: processes }, (_, i) => files.filter((_, index) => index % processes === i));
  const outputs = await Promise.all(shares.map((share) => child(['read', ...share], process.env).output));
  const parts = outputs.map((out) => out.trim().split(' ').map(Number) as [number, number]);
  const rows = parts.reduce((sum, [count]) => sum + count, 0);
  // Each workbook's header row is read too.
  if (rows !== totalRows + stores) throw new Error(`the floor read ${rows} rows, expected ${totalRows + stores}`);
  return Math.max(...parts.map(([, ms]) => ms));
}
const floor1 = await readingFloor(1);
const floor2 = await readingFloor(2);
console.log(`floor (XLSX reader alone): 1 process ${seconds(floor1)} (${Math.round(totalRows / (floor1 / 1000))} rows/s), 2 processes ${seconds(floor2)}`);

const config = loadConfig({ ...process.env, DATABASE_URL: '', DATA_DIR: path.join(workDir, 'db'), EMBEDDED_PG_PORT: String(await freePort()), PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn', SEED_DEMO: 'false', ADMIN_EMAIL: 'bench@example.com', ADMIN_PASSWORD: 'bench-password-1' });
const control = await startBackhouse('web', config, createLogger('warn'));
const databaseUrl = control.db.url;
const ctx = systemContext('bench', control.db, control.log);
const businessId = (await control.db.pool.query<{ id: string }>(`SELECT id FROM businesses ORDER BY created_at LIMIT 1`)).rows[0]?.id ?? (await control.db.pool.query<{ id: string }>(`INSERT INTO businesses (name) VALUES ('Bench') RETURNING id`)).rows[0]!.id;

async function runToEnd(pipelineName: string, dir: string, date: string): Promise<{ ms: number; status: string; rows: number }> {
  const started = performance.now();
  const { run } = await startFolderRun(ctx, control.jobs, { pipelineName, businessId, date, inputDir: dir, trigger: 'cli' });
  for (;;) {
    const row = (await control.db.pool.query<{ status: string; total_rows: string }>(`SELECT status, total_rows FROM pipeline_runs WHERE id = $1`, [run.id])).rows[0]!;
    if (['completed', 'completed_with_errors', 'failed'].includes(row.status)) return { ms: performance.now() - started, status: row.status, rows: Number(row.total_rows) };
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function withWorkers<T>(count: number, work: () => Promise<T>): Promise<{ result: T; peakRss: number[] }> {
  const workers = Array.from({ length: count }, () => child(['worker'], childEnv(databaseUrl)));
  try {
    await Promise.all(workers.map((w) => w.line));
    const result = await work();
    return { result, peakRss: workers.map((w) => peakRssOf(w.process.pid!)) };
  } finally {
    for (const w of workers) w.process.kill('SIGTERM');
    await Promise.allSettled(workers.map((w) => w.output));
  }
}

try {
  await withWorkers(1, () => runToEnd('supplier_master', masterDir, '2026-11-19'));
  const results: { workers: number; ms: number; peak: number }[] = [];
  for (const [index, count] of workerCounts.entries()) {
    const { result, peakRss } = await withWorkers(count, () => runToEnd('stock_health', inputDir, `2026-11-${20 + index}`));
    if (result.status !== 'completed' || result.rows !== totalRows) throw new Error(`run with ${count} workers ended ${result.status} with ${result.rows} rows`);
    results.push({ workers: count, ms: result.ms, peak: Math.max(...peakRss) });
    console.log(`${count} worker${count > 1 ? 's' : ''}: ${seconds(result.ms)}, ${Math.round(totalRows / (result.ms / 1000))} rows/s, peak RSS per worker ${peakRss.map(mb).join(', ')}`);
  }
  const one = results.find((r) => r.workers === 1);
  const four = results.find((r) => r.workers === 4);
  console.log('\nTargets');
  console.log(`  peak RSS under 400 MB: ${mb(Math.max(...results.map((r) => r.peak)))} per worker process`);
  if (one && four) console.log(`  4 workers ≥ 1.7× faster than 1: ${(one.ms / four.ms).toFixed(2)}× (the floor itself scales ${(floor1 / floor2).toFixed(2)}× from 1 to 2 processes on ${os.cpus().length} cores)`);
  if (one) console.log(`  whole run within 2× of the reading floor: 1 worker ${(one.ms / floor1).toFixed(2)}× the 1-process floor`);
  if (four) console.log(`  4 workers ${(four.ms / floor2).toFixed(2)}× the 2-process floor`);
  console.log(`load average after ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
} finally {
  await control.stop();
  fs.rmSync(workDir, { recursive: true, force: true });
}
