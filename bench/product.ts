/**
 * The product as its own process for the load benchmarks (bench:api, bench:soak): `node .build/cli/start.js`
 * as `npm start` runs it, on a free port, with an embedded PostgreSQL in a temporary folder (or DATABASE_URL),
 * so that the load generator's work and the server's are not on one event loop, and the server's memory and
 * CPU are its own. A pg pool to the same database is handed back for seeding and for the floors.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { buildServer } from '../cli/build.js';
import { projectRoot } from '../core/config.js';

export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** The p-th percentile of ascending latencies. */
export function percentile(sorted: number[], p: number): number {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** A process's resident memory now (VmRSS), in bytes; null once it is gone. */
export function rssOf(pid: number): number | null {
  try {
    return Number(/VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;
  } catch {
    return null;
  }
}

/** A process's peak resident memory, as the kernel counted it (VmHWM), in bytes. */
export function peakRssOf(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)![1]) * 1024;
}

const clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }));

/** A process's parent and CPU seconds (its own, and those of its children it has waited for: a server's ended backends). */
export function processStat(pid: number): { parent: number; cpuSeconds: number } {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command's closing parenthesis: state, ppid, … utime (14), stime, cutime, cstime (17).
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = [11, 12, 13, 14].reduce((sum, index) => sum + Number(fields[index]), 0);
  return { parent: Number(fields[1]), cpuSeconds: ticks / clockTicks };
}

/** CPU seconds of a PostgreSQL server: the postmaster, its ended backends and workers, and the running ones. */
export function serverCpuSeconds(postmaster: number): number {
  let seconds = processStat(postmaster).cpuSeconds;
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const child = processStat(Number(entry));
      if (child.parent === postmaster) seconds += child.cpuSeconds;
    } catch {
      // Ended between the listing and the read: the postmaster's count has it.
    }
  }
  return seconds;
}

/** The postmaster of the server behind `pool` (a local server: its backends are its children). */
export async function postmasterOf(pool: pg.Pool): Promise<number> {
  const backend = (await pool.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
  return processStat(backend).parent;
}

export interface Product {
  base: string;
  pid: number;
  /** A pool of `poolSize` connections to the product's database (closed by stop). */
  pool: pg.Pool;
  /** Where the product's stdout and stderr (its JSON log) go. */
  logFile: string;
  /** Set once the process has ended, with how. */
  exit: { code: number | null; signal: NodeJS.Signals | null } | null;
  /** Resolves when the process ends, on its own or by stop(). */
  exited: Promise<void>;
  /** SIGTERM (the clean shutdown), then removes the temporary folder. */
  stop(): Promise<void>;
}

export interface ProductOptions {
  /** Environment of the product on top of the benchmark's own (PORT, DATA_DIR and the database are set here). */
  env: Record<string, string>;
  poolSize: number;
  /** Node flags for the server process, such as `--cpu-prof`. */
  nodeFlags?: string[];
}

/** Starts the product and waits until /api/healthz answers 200. */
export async function startProduct(options: ProductOptions): Promise<Product> {
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'backhouse-bench-product-'));
  const [port, pgPort] = [await freePort(), await freePort()];
  const dataDir = path.join(workDir, 'data');
  const databaseUrl = process.env.DATABASE_URL || `postgresql://postgres:postgres@127.0.0.1:${pgPort}/backhouse`;
  const logFile = path.join(workDir, 'product.log');
  const log = fs.openSync(logFile, 'a');
  const child: ChildProcess = spawn(process.execPath, [...(options.nodeFlags ?? []), buildServer()], {
    cwd: projectRoot,
    env: {
      ...process.env,
      DATABASE_URL: process.env.DATABASE_URL ?? '',
      DATA_DIR: dataDir,
      PORT: String(port),
      EMBEDDED_PG_PORT: String(pgPort),
      HOST: '127.0.0.1',
      NODE_ENV: 'development',
      MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX ?? '2',
      ...options.env,
    },
    stdio: ['ignore', log, log],
  });
  fs.closeSync(log);
  const product: Product = {
    base: `http://127.0.0.1:${port}`,
    pid: child.pid!,
    pool: new pg.Pool({ connectionString: databaseUrl, max: options.poolSize }),
    logFile,
    exit: null,
    exited: new Promise((resolve) => child.once('exit', (code, signal) => ((product.exit = { code, signal }), resolve()))),
    async stop() {
      await product.pool.end().catch(() => undefined);
      if (!product.exit) {
        child.kill('SIGTERM');
        await product.exited;
      }
      await stopOrphanedPostgres(path.join(dataDir, 'postgres'));
      fs.rmSync(workDir, { recursive: true, force: true });
    },
  };
  // A server that went away must not crash the benchmark through an idle client.
  product.pool.on('error', () => undefined);
  for (let i = 0; ; i++) {
    if (await fetch(`${product.base}/api/healthz`).then((r) => r.ok, () => false)) break;
    if (i > 900 || product.exit) {
      const tail = fs.readFileSync(logFile, 'utf8').split('\n').slice(-20).join('\n');
      await product.stop();
      throw new Error(`the product did not start (${JSON.stringify(product.exit)}); its log ended with:\n${tail}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return product;
}

/**
 * A product killed outright leaves its embedded PostgreSQL running (issue 15): stop the server named in the
 * data folder's pid file, and wait (at most 30 s) until it has gone.
 */
async function stopOrphanedPostgres(databaseDir: string): Promise<void> {
  const pidFile = path.join(databaseDir, 'postmaster.pid');
  if (!fs.existsSync(pidFile)) return;
  const pid = Number(fs.readFileSync(pidFile, 'utf8').split('\n')[0]);
  try {
    // Only the server of this data folder: a stale pid file's number may belong to another process by now.
    if (!fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(databaseDir)) return;
    process.kill(pid, 'SIGINT');
  } catch {
    return; // Gone already; the pid file is stale.
  }
  for (let i = 0; i < 150 && fs.existsSync(pidFile); i++) await new Promise((resolve) => setTimeout(resolve, 200));
}

/** The initial passwords the product printed for the logins it created on first start (see core/demo/seed.ts). */
export function createdLogins(product: Product): Map<string, string> {
  const logins = new Map<string, string>();
  for (const line of fs.readFileSync(product.logFile, 'utf8').split('\n')) {
    if (!line.includes('created a login')) continue;
    const entry = JSON.parse(line) as { email: string; initialPassword: string };
    logins.set(entry.email, entry.initialPassword);
  }
  return logins;
}
