/**
 * How long the admin's main pages take to open in a browser, the way a newcomer meets them: `npm start`'s
 * build, then the product started as a process on a fresh embedded PostgreSQL with the demo data.
 * Run with `npm run bench:pages`. Each page is opened "cold" (a browser with an empty cache, right after the
 * start for the first page) and then "warm" (the same browser, opening it again); the time is from the
 * navigation to the page's content being drawn (its rows, chart or tiles). Prints a table; nothing is asserted.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { buildProduct, startScript } from '../cli/build.js';
import { projectRoot } from '../core/config.js';
import { launchBrowser } from '../test/helpers/browser.js';
import { freePort } from '../test/helpers/net.js';

const PASSWORD = 'bench-password-123';
const ADMIN = 'bench-admin@example.com';

/** Each main page, and what shows that it is drawn. */
const pages: { name: string; path: string; drawn: (page: Page) => Promise<unknown> }[] = [
  { name: 'Home', path: '/admin', drawn: (page) => page.getByTestId('tile-products').waitFor({ timeout: 120_000 }) },
  { name: 'Products (list)', path: '/admin/resources/Product/actions/list', drawn: (page) => page.locator('table tbody tr').first().waitFor({ timeout: 120_000 }) },
  { name: 'Data Feeds', path: '/admin/resources/DataFeed/actions/list', drawn: (page) => page.locator('table tbody tr').first().waitFor({ timeout: 120_000 }) },
  { name: 'Metrics', path: '/admin/pages/metrics', drawn: (page) => page.locator('[data-testid="widget-line"] path.recharts-curve').first().waitFor({ timeout: 120_000 }) },
  { name: 'Dashboards', path: '/admin/pages/dashboards', drawn: (page) => page.locator('[data-testid^="widget-"] .recharts-surface, [data-testid="kpi-value"]').first().waitFor({ timeout: 120_000 }) },
  { name: 'Data sources', path: '/admin/pages/mapping', drawn: (page) => page.getByTestId('source-upload').waitFor({ timeout: 120_000 }) },
];

async function timeToDrawn(page: Page, url: string, drawn: (page: Page) => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await page.goto(url, { waitUntil: 'commit' });
  await drawn(page);
  return performance.now() - started;
}

async function signedInContext(context: BrowserContext, base: string): Promise<void> {
  const login = await fetch(`${base}/admin/login`, { method: 'POST', body: new URLSearchParams({ email: ADMIN, password: PASSWORD }), redirect: 'manual' });
  const [name, value] = login.headers.get('set-cookie')!.split(';')[0]!.split('=') as [string, string];
  await context.addCookies([{ name, value, url: base }]);
}

console.log('building (npm start\'s prestart)…');
const buildStarted = performance.now();
buildProduct();
console.log(`build: ${((performance.now() - buildStarted) / 1000).toFixed(1)} s (nothing is rebuilt when nothing changed)`);

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'backhouse-bench-pages-'));
const port = await freePort();
const base = `http://127.0.0.1:${port}`;
const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir, EMBEDDED_PG_PORT: String(await freePort()), PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', ADMIN_EMAIL: ADMIN, ADMIN_PASSWORD: PASSWORD };
delete env.DATABASE_URL;
const startedAt = performance.now();
const child = spawn(process.execPath, [startScript], { cwd: projectRoot, env, stdio: ['ignore', 'ignore', 'inherit'] });
const browser = await launchBrowser();
try {
  while (!(await fetch(`${base}/api/healthz`).then((r) => r.ok, () => false))) {
    if (child.exitCode !== null) throw new Error(`the product exited with ${child.exitCode}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  console.log(`started (embedded PostgreSQL, migrations, demo data): ${((performance.now() - startedAt) / 1000).toFixed(1)} s`);
  // The demo's sales load in the background: wait until Metrics has them, so every page has its content.
  const token = ((await (await fetch(`${base}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: ADMIN, password: PASSWORD }) })).json()) as { token: string }).token;
  for (;;) {
    const { feeds } = (await (await fetch(`${base}/dashboard/data-feeds`, { headers: { authorization: `Bearer ${token}` } })).json()) as { feeds: { status: string }[] };
    if (feeds.length > 0 && feeds.every((feed) => feed.status === 'transformed')) break;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }

  const rows: string[][] = [];
  for (const entry of pages) {
    // A browser with an empty cache for each page's cold open: what someone opening a link to it meets.
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    await signedInContext(context, base);
    const page = await context.newPage();
    const cold = await timeToDrawn(page, `${base}${entry.path}`, entry.drawn);
    const warm: number[] = [];
    for (let i = 0; i < 3; i++) warm.push(await timeToDrawn(page, `${base}${entry.path}`, entry.drawn));
    warm.sort((a, b) => a - b);
    rows.push([entry.name, `${Math.round(cold)} ms`, `${Math.round(warm[1]!)} ms`]);
    await context.close();
  }
  const widths = [16, 10, 18];
  const line = (cells: string[]) => cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ');
  console.log(`\n${line(['page', 'cold', 'warm (median of 3)'])}\n${line(widths.map((w) => '-'.repeat(w)))}`);
  for (const row of rows) console.log(line(row));
} finally {
  await browser.close();
  await new Promise((resolve) => {
    child.once('exit', resolve);
    child.kill('SIGTERM');
  });
  fs.rmSync(dataDir, { recursive: true, force: true });
}
