import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startScript } from '../../cli/build.js';
import { projectRoot } from '../../core/config.js';
import { freePort } from '../helpers/net.js';

/**
 * `npm start` as a newcomer runs it: no DATABASE_URL, so an embedded PostgreSQL under DATA_DIR, the
 * migrations, the first admin and the demo business; then SIGTERM, and a second start on the same data.
 */
// A private (0700) folder on purpose: start-up must make it passable for the embedded server's user.
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'backhouse-start-'));
afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

interface Launched {
  child: ChildProcess;
  lines: Record<string, unknown>[];
  url: string;
}

/** Runs the product as `npm start` does (the built start script, embedded PostgreSQL), collecting its log lines. */
async function launch(env: Record<string, string>): Promise<Launched> {
  const port = await freePort();
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'info', NODE_ENV: 'development' };
  delete childEnv.DATABASE_URL;
  const child = spawn(process.execPath, [startScript], { cwd: projectRoot, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: Record<string, unknown>[] = [];
  let buffered = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const parts = buffered.split('\n');
    buffered = parts.pop()!;
    for (const part of parts) {
      let parsed: unknown = null;
      try {
        parsed = JSON.parse(part);
      } catch {
        // not JSON: a line for a person
      }
      lines.push(parsed !== null && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : { text: part });
    }
  });
  child.stderr!.on('data', (chunk: Buffer) => lines.push({ stderr: chunk.toString() }));
  return { child, lines, url: `http://127.0.0.1:${port}` };
}

async function start(env: Record<string, string>): Promise<Launched> {
  const { child, lines, url } = await launch(env);
  const deadline = Date.now() + 150_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`npm start exited with ${child.exitCode}: ${JSON.stringify(lines.slice(-5))}`);
    const ok = await fetch(`${url}/api/healthz`).then((r) => r.status === 200, () => false);
    if (ok) return { child, lines, url };
    if (Date.now() > deadline) {
      // Not left running (with its embedded PostgreSQL) after the test gives up on it.
      child.kill('SIGTERM');
      throw new Error(`not healthy in time: ${JSON.stringify(lines.slice(-5))}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

function stop(started: Launched, signal: NodeJS.Signals): Promise<number | null> {
  return new Promise((resolve) => {
    started.child.once('exit', (code) => resolve(code));
    started.child.kill(signal);
  });
}

function portIsClosed(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

describe('npm start on a fresh machine', () => {
  it('starts an embedded PostgreSQL, migrates, seeds once, and stops cleanly on SIGTERM and SIGINT', async () => {
    const pgPort = await freePort();
    const env = { DATA_DIR: dataDir, EMBEDDED_PG_PORT: String(pgPort), ADMIN_EMAIL: 'boss@example.com', ADMIN_PASSWORD: 'first-admin-password' };
    const first = await start(env);

    // Not a terminal: every line is JSON, for machines, and no banner.
    expect(first.lines.filter((l) => 'text' in l)).toEqual([]);
    const created = first.lines.filter((l) => l.msg === 'created a login: note the password now, it is not shown again');
    expect(created.map((l) => [l.email, l.role])).toEqual([
      ['boss@example.com', 'admin'],
      ['ops@demo.backhouse.local', 'ops'],
      ['manager@demo.backhouse.local', 'manager'],
      // The demo Tekmetric shop's manager (core/demo/tekmetric.ts).
      ['shop.manager@demo.backhouse.local', 'manager'],
    ]);
    // A password given in the environment is never echoed; generated ones are shown once.
    expect(JSON.stringify(first.lines)).not.toContain('first-admin-password');
    const opsPassword = String(created[1]!.initialPassword);
    expect(opsPassword).toMatch(/^[\w]{5}(-[\w]{5}){3}$/);

    const login = await fetch(`${first.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'ops@demo.backhouse.local', password: opsPassword }) });
    expect(login.status).toBe(200);
    const { token } = (await login.json()) as { token: string };
    const products = (await (await fetch(`${first.url}/api/products?perPage=100`, { headers: { authorization: `Bearer ${token}` } })).json()) as { meta: { total: number } };
    expect(products.meta.total).toBe(12);
    // The demo's sales went through the real pipeline: the Metrics page has numbers at once.
    const deadline = Date.now() + 60_000;
    let kpi: { kpi: { records: number; gross_revenue: number } } | null = null;
    while (Date.now() < deadline) {
      kpi = (await (await fetch(`${first.url}/dashboard/metrics/kpi?range=last_30_days`, { headers: { authorization: `Bearer ${token}` } })).json()) as typeof kpi;
      if (kpi!.kpi.records > 0) break;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    // The last 30 days end today, and the demo's sales end yesterday: 29 days of 12 products.
    expect(kpi!.kpi.records).toBe(29 * 12);
    expect(kpi!.kpi.gross_revenue).toBeGreaterThan(0);
    const health = (await (await fetch(`${first.url}/api/healthz`)).json()) as { status: string; database: { ok: boolean }; jobQueue: { ok: boolean } };
    expect(health).toMatchObject({ status: 'ok', database: { ok: true }, jobQueue: { ok: true } });

    expect(await stop(first, 'SIGTERM')).toBe(0);
    expect(first.lines.some((l) => l.msg === 'stopped')).toBe(true);
    // Nothing goes wrong on the way down: no connection is cut by the database stopping under it.
    expect(first.lines.filter((l) => Number(l.level) >= 50)).toEqual([]);
    expect(await portIsClosed(pgPort)).toBe(true);
    expect(fs.existsSync(path.join(dataDir, 'postgres', 'postmaster.pid'))).toBe(false);

    const second = await start(env);
    expect(second.lines.filter((l) => l.msg === 'created a login: note the password now, it is not shown again')).toEqual([]);
    const again = await fetch(`${second.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'ops@demo.backhouse.local', password: opsPassword }) });
    const token2 = ((await again.json()) as { token: string }).token;
    const after = (await (await fetch(`${second.url}/api/products?perPage=100`, { headers: { authorization: `Bearer ${token2}` } })).json()) as { meta: { total: number } };
    expect(after.meta.total).toBe(12);
    const feeds = (await (await fetch(`${second.url}/dashboard/data-feeds`, { headers: { authorization: `Bearer ${token2}` } })).json()) as { feeds: unknown[] };
    expect(feeds.feeds).toHaveLength(1);
    expect(await stop(second, 'SIGINT')).toBe(0);
    expect(second.lines.filter((l) => Number(l.level) >= 50)).toEqual([]);
    expect(await portIsClosed(pgPort)).toBe(true);
  }, 180_000);
});

/** The PostgreSQL process named in the data directory's lock file, if it is running. */
function runningPostmaster(pgDataDir: string): number | null {
  const lockFile = path.join(pgDataDir, 'postmaster.pid');
  if (!fs.existsSync(lockFile)) return null;
  const pid = Number(fs.readFileSync(lockFile, 'utf8').split('\n')[0]);
  try {
    process.kill(pid, 0);
    return pid;
  } catch {
    return null;
  }
}

/** The detached watcher that stops the embedded server when the process that started it dies. */
function watcherOf(pgDataDir: string): number | null {
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const args = (() => {
      try {
        return fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      } catch {
        return [];
      }
    })();
    if (args.includes('backhouse-embedded-postgres-watcher') && args.includes(path.join(pgDataDir, 'postmaster.pid'))) return Number(entry);
  }
  return null;
}

describe('npm start after a crash', () => {
  const crashDir = fs.mkdtempSync(path.join(os.tmpdir(), 'backhouse-crash-'));
  const pgDataDir = path.join(crashDir, 'postgres');
  afterAll(() => {
    const left = runningPostmaster(pgDataDir);
    if (left) process.kill(left, 'SIGINT');
    fs.rmSync(crashDir, { recursive: true, force: true });
  });
  const env = { DATA_DIR: crashDir, SEED_DEMO: 'false', ADMIN_EMAIL: 'boss@example.com', ADMIN_PASSWORD: 'first-admin-password' };
  const killed = async (started: Launched) => {
    const exited = new Promise((resolve) => started.child.once('exit', resolve));
    started.child.kill('SIGKILL');
    await exited;
  };

  it('does not leave its PostgreSQL running when its process is killed with SIGKILL', async () => {
    const first = await start({ ...env, EMBEDDED_PG_PORT: String(await freePort()) });
    expect(runningPostmaster(pgDataDir)).not.toBeNull();
    await killed(first);
    await expect.poll(() => runningPostmaster(pgDataDir), { timeout: 30_000, interval: 100 }).toBeNull();
  }, 180_000);

  it('starts again after a kill that left its PostgreSQL running, stopping that server first', async () => {
    const pgPort = String(await freePort());
    const first = await start({ ...env, EMBEDDED_PG_PORT: pgPort });
    // Power loss of the watcher too, or the OOM killer taking both: the server is left running on the data directory.
    process.kill(watcherOf(pgDataDir)!, 'SIGKILL');
    await killed(first);
    const orphan = runningPostmaster(pgDataDir);
    expect(orphan).not.toBeNull();

    const second = await start({ ...env, EMBEDDED_PG_PORT: pgPort });
    expect(second.lines.map((l) => l.msg)).toContain('stopped the PostgreSQL left running on the data directory by an earlier start');
    expect(runningPostmaster(pgDataDir)).not.toBe(orphan);
    const login = await fetch(`${second.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'boss@example.com', password: 'first-admin-password' }) });
    expect(login.status).toBe(200);
    expect(await stop(second, 'SIGTERM')).toBe(0);
    expect(second.lines.filter((l) => Number(l.level) >= 50)).toEqual([]);
    expect(runningPostmaster(pgDataDir)).toBeNull();
    // A clean stop ends the watcher with the server.
    expect(watcherOf(pgDataDir)).toBeNull();
  }, 180_000);

  it('says why it could not start at the default log level, and what to do', async () => {
    // Another program holds the embedded PostgreSQL's port.
    const squatter = net.createServer();
    const pgPort = await new Promise<number>((resolve) => squatter.listen(0, '127.0.0.1', () => resolve((squatter.address() as net.AddressInfo).port)));
    try {
      const failed = await launch({ DATA_DIR: dataDir, EMBEDDED_PG_PORT: String(pgPort), SEED_DEMO: 'false' });
      const code = await new Promise((resolve) => failed.child.once('exit', resolve));
      expect(code).toBe(1);
      const fatal = failed.lines.find((l) => Number(l.level) === 60);
      expect(String(fatal?.msg)).toMatch(/^Backhouse could not start: .*Address already in use/);
      expect(String(fatal?.msg)).toContain('EMBEDDED_PG_PORT');
    } finally {
      squatter.close();
    }
  }, 120_000);
});

describe('npm start in a terminal', () => {
  it('prints readable logs and, once ready, a banner: the address, who to sign in as with the generated passwords, where the data and logs are', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'backhouse-banner-'));
    try {
      // LOG_FORMAT=pretty is what a terminal gets by default (LOG_FORMAT=auto); the test's output is a pipe.
      const started = await start({ DATA_DIR: dir, EMBEDDED_PG_PORT: String(await freePort()), ADMIN_EMAIL: 'boss@example.com', LOG_FORMAT: 'pretty' });
      const text = () => started.lines.map((l) => String(l.text ?? JSON.stringify(l))).join('\n');
      await expect.poll(text, { timeout: 30_000 }).toContain('Stop:  Ctrl+C');
      const output = text();
      const port = new URL(started.url).port;
      expect(output).toContain(`Backhouse is ready: http://localhost:${port}/admin`);
      const signIn = output.slice(output.indexOf('Sign in as'));
      const row = (role: string, email: string) => new RegExp(`${role}\\s+${email.replace(/\./g, '\\.')}\\s+([\\w]{5}(?:-[\\w]{5}){3})`).exec(signIn)?.[1];
      const passwords = { admin: row('admin', 'boss@example.com'), ops: row('ops', 'ops@demo.backhouse.local'), manager: row('manager', 'manager@demo.backhouse.local') };
      expect(passwords.admin && passwords.ops && passwords.manager, signIn).toBeTruthy();
      // The passwords shown are the real ones.
      const login = await fetch(`${started.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'boss@example.com', password: passwords.admin }) });
      expect(login.status).toBe(200);
      expect(output).toContain(`embedded PostgreSQL, files in ${dir}`);
      expect(output).toContain('Logs:  below, in this terminal');
      // The logs are readable lines, not JSON.
      expect(started.lines.filter((l) => !('text' in l) && !('stderr' in l))).toEqual([]);
      expect(output).toMatch(/\d\d:\d\d:\d\d\] INFO.*: Backhouse is ready/);
      expect(await stop(started, 'SIGTERM')).toBe(0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 240_000);
});
