/**
 * File pipelines benchmark (`npm run bench:pipelines`): 30 store inventory workbooks of 20,000 rows each
 * (600,000 rows) through the stock_health pipeline with 1, 2 and 4 worker processes (each one file at a
 * time, as `npm run worker` runs them, against an embedded PostgreSQL), from the run's start to its final
 * status: time, rows/s and the workers' peak RSS. In the same run, the floor: the same workbooks read by the
 * XLSX reader alone (doing nothing with the rows) in one process, and split over two processes (the cores).
 * BENCH_STORES and BENCH_ROWS change the size; BENCH_WORKERS the worker counts (default 1,2,4);
 * BENCH_CPU_PROF_DIR writes each child's CPU profile there (node --cpu-prof); BENCH_LOG_LEVEL (e.g. info) shows
 * the workers' logs (each flush with its CSV and swap milliseconds).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { buildSync } from 'esbuild';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { systemContext } from '../core/context.js';
import { closeDb, connectDb, provideDatabase } from '../core/db/index.js';
import { loadConfig, projectRoot } from '../core/config.js';
import { createLogger } from '../core/log.js';
import { startJobs } from '../jobs/runtime.js';
import { buildDir, buildServer } from '../cli/build.js';
import { startFolderRun } from '../core/pipelines/runs.js';
import { inventoryFileName, sampleCatalog, sampleStoreCodes, writeInventoryWorkbook, writeSupplierMaster } from '../core/pipelines/samples.js';
import { freePort, peakRssOf, postmasterOf, processStat, rssOf, serverCpuSeconds } from './product.js';

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

const childEnv = (databaseUrl: string) => ({ ...process.env, DATABASE_URL: databaseUrl, LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn', SEED_DEMO: 'false', PIPELINE_DATA_DIR: path.join(workDir, 'data'), PIPELINE_FLUSH_SECONDS: '2', DATABASE_POOL_SIZE: '4', MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX ?? '2' });

// The children run as `npm run worker` runs the product: plain Node on the transpiled build (under tsx, a
// loader thread keeps a copy of every module, ~100 MB a process that is not the product's).
buildServer();
buildSync({ entryPoints: [path.join(projectRoot, 'bench', 'pipelines-worker.ts')], outdir: buildDir, outbase: projectRoot, format: 'esm', platform: 'node', target: 'node20', logLevel: 'warning' });
const childScript = path.join(buildDir, 'bench', 'pipelines-worker.js');

function child(args: string[], env: NodeJS.ProcessEnv): { process: ChildProcess; output: Promise<string>; started: Promise<void> } {
  const profile = process.env.BENCH_CPU_PROF_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF_DIR}`] : [];
  const proc = spawn(process.execPath, [...profile, childScript, ...args], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  let text = '';
  let ready!: () => void;
  const started = new Promise<void>((resolve) => (ready = resolve));
  proc.stdout!.on('data', (chunk: Buffer) => {
    text += chunk.toString();
    if (process.env.BENCH_LOG_LEVEL) process.stderr.write(chunk);
    if (text.split('\n').includes('ready')) ready();
  });
  const output = new Promise<string>((resolve, reject) => proc.once('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`bench child ${args[0]} exited with ${code}`)))));
  return { process: proc, output, started };
}

// The floor: the XLSX reader alone, in one process, then split over two (each timed from its first file, as
// the workers are timed once they are ready); the slower of the two is the floor.
async function readingFloor(processes: number): Promise<{ ms: number; cpuMs: number }> {
  const shares = Array.from({ length: processes }, (_, i) => files.filter((_, index) => index % processes === i));
  const outputs = await Promise.all(shares.map((share) => child(['read', ...share], process.env).output));
  const parts = outputs.map((out) => out.trim().split(' ').map(Number) as [number, number, number]);
  const rows = parts.reduce((sum, [count]) => sum + count, 0);
  // Each workbook's header row is read too.
  if (rows !== totalRows + stores) throw new Error(`the floor read ${rows} rows, expected ${totalRows + stores}`);
  return { ms: Math.max(...parts.map(([, ms]) => ms)), cpuMs: parts.reduce((sum, [, , cpu]) => sum + cpu, 0) };
}
const { ms: floor1, cpuMs: floorCpuMs } = await readingFloor(1);
const { ms: floor2 } = await readingFloor(2);
console.log(`floor (XLSX reader alone, ${totalRows + stores} rows read: ${stores} × ${rowsPerStore} and each header): 1 process ${seconds(floor1)} (${Math.round(totalRows / (floor1 / 1000))} rows/s, ${seconds(floorCpuMs)} of CPU), 2 processes ${seconds(floor2)}`);

// The bench's own process only starts runs and watches them: the database and the job queue without
// workers, and no web server (the admin's bundler would take a core and ~300 MB for nothing measured).
const config = loadConfig({ ...process.env, DATABASE_URL: '', DATA_DIR: path.join(workDir, 'db'), EMBEDDED_PG_PORT: String(await freePort()), LOG_LEVEL: 'warn', SEED_DEMO: 'false' });
const log = createLogger('warn');
const database = await provideDatabase(config, log);
const db = connectDb(database.url, 4);
const jobs = await startJobs(db, config, log, { work: false });
const databaseUrl = database.url;
const ctx = systemContext('bench', db, log);
const postmaster = await postmasterOf(db.pool);
const businessId = (await db.pool.query<{ id: string }>(`INSERT INTO businesses (name) VALUES ('Bench') RETURNING id`)).rows[0]!.id;

async function runToEnd(pipelineName: string, dir: string, date: string): Promise<{ ms: number; status: string; rows: number }> {
  const started = performance.now();
  const { run } = await startFolderRun(ctx, jobs, { pipelineName, businessId, date, inputDir: dir, trigger: 'cli' });
  for (;;) {
    const row = (await db.pool.query<{ status: string; total_rows: string }>(`SELECT status, total_rows FROM pipeline_runs WHERE id = $1`, [run.id])).rows[0]!;
    if (['completed', 'completed_with_errors', 'failed'].includes(row.status)) return { ms: performance.now() - started, status: row.status, rows: Number(row.total_rows) };
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * Runs `work` with `count` worker processes; besides its result, each worker's peak RSS and the CPU seconds
 * the workers (from ready to done) and the database server used meanwhile: unlike times, CPU seconds hardly
 * move with the machine's load, so they say what the run costs when other processes share the cores.
 */
async function withWorkers<T>(count: number, work: () => Promise<T>): Promise<{ result: T; peakRss: number[]; readyRss: number[]; workerCpu: number; databaseCpu: number }> {
  const workers = Array.from({ length: count }, () => child(['worker'], childEnv(databaseUrl)));
  try {
    await Promise.all(workers.map((w) => w.started));
    const cpuAtReady = workers.map((w) => processStat(w.process.pid!).cpuSeconds);
    // What a worker holds before its first file: the part of the peak that each more process adds anyway.
    const readyRss = workers.map((w) => rssOf(w.process.pid!) ?? 0);
    const databaseCpuBefore = serverCpuSeconds(postmaster);
    const result = await work();
    const databaseCpu = serverCpuSeconds(postmaster) - databaseCpuBefore;
    const workerCpu = workers.reduce((sum, w, i) => sum + processStat(w.process.pid!).cpuSeconds - cpuAtReady[i]!, 0);
    return { result, peakRss: workers.map((w) => peakRssOf(w.process.pid!)), readyRss, workerCpu, databaseCpu };
  } finally {
    for (const w of workers) w.process.kill('SIGTERM');
    await Promise.allSettled(workers.map((w) => w.output));
  }
}

try {
  await withWorkers(1, () => runToEnd('supplier_master', masterDir, '2026-11-19'));
  const results: { workers: number; ms: number; peak: number }[] = [];
  for (const [index, count] of workerCounts.entries()) {
    const { result, peakRss, readyRss, workerCpu, databaseCpu } = await withWorkers(count, () => runToEnd('stock_health', inputDir, `2026-11-${20 + index}`));
    if (result.status !== 'completed' || result.rows !== totalRows) throw new Error(`run with ${count} workers ended ${result.status} with ${result.rows} rows`);
    // The workers' processes together (each its own peak, so an upper bound of what they held at once).
    const peak = peakRss.reduce((sum, rss) => sum + rss, 0);
    results.push({ workers: count, ms: result.ms, peak });
    console.log(`${count} worker${count > 1 ? 's' : ''}: ${seconds(result.ms)}, ${Math.round(totalRows / (result.ms / 1000))} rows/s, peak RSS ${mb(peak)} (${peakRss.map(mb).join(' + ')}; at ready ${readyRss.map(mb).join(' + ')}); CPU: workers ${workerCpu.toFixed(1)} s + PostgreSQL ${databaseCpu.toFixed(1)} s = ${((workerCpu + databaseCpu) / (floorCpuMs / 1000)).toFixed(2)}× the floor's CPU`);
  }
  const one = results.find((r) => r.workers === 1);
  const four = results.find((r) => r.workers === 4);
  const met = (ok: boolean) => (ok ? 'met' : 'NOT met');
  console.log('\nTargets (each beside its floor, measured above in the same run)');
  const worstPeak = Math.max(...results.map((r) => r.peak));
  console.log(`  peak RSS, all worker processes together, < 400 MB: ${mb(worstPeak)} — ${met(worstPeak < 400 * 1024 * 1024)}`);
  if (one && four) {
    const speedup = one.ms / four.ms;
    console.log(`  4 workers ≥ 1.7× faster than 1: ${speedup.toFixed(2)}× — ${met(speedup >= 1.7)}; floor: the reader alone scales ${(floor1 / floor2).toFixed(2)}× from 1 to 2 processes on ${os.cpus().length} cores`);
  }
  if (one) console.log(`  whole run ≤ 2× the reading floor, 1 worker: ${seconds(one.ms)} = ${(one.ms / floor1).toFixed(2)}× the 1-process floor (${seconds(floor1)}) — ${met(one.ms <= 2 * floor1)}`);
  if (four) console.log(`  whole run ≤ 2× the reading floor, 4 workers: ${seconds(four.ms)} = ${(four.ms / floor2).toFixed(2)}× the 2-process floor (${seconds(floor2)}) — ${met(four.ms <= 2 * floor2)}`);
  console.log(`load average after ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
} finally {
  await jobs.stop();
  await closeDb(db);
  await database.stop();
  fs.rmSync(workDir, { recursive: true, force: true });
}
