import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import { PASSWORD, seedTenants, startTestApp, type Tenants, type TestApp } from './app.js';
import { projectRoot } from '../../core/config.js';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const artifactsDir = path.join(projectRoot, 'test', 'artifacts');

export const chromiumMissingMessage = `Chromium was not found at ${CHROMIUM_PATH}: the browser tests need it. Install it with "apt-get install -y chromium" (Debian), or set CHROMIUM_PATH. CI (.ci/run) installs it.`;

export function chromiumAvailable(): boolean {
  return fs.existsSync(CHROMIUM_PATH);
}

/** Headless Debian Chromium driven by playwright-core, with the flags that work on a machine with no network. */
export async function launchBrowser(): Promise<Browser> {
  if (!chromiumAvailable()) throw new Error(chromiumMissingMessage);
  fs.mkdirSync(artifactsDir, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

export const screenshotPath = (name: string) => path.join(artifactsDir, `${name}.png`);

/** Without Chromium a browser test file cannot run: in CI that is a failure, elsewhere a loud skip. */
export function requireChromiumOrSkip(): boolean {
  if (chromiumAvailable()) return true;
  if (process.env.CI) throw new Error(chromiumMissingMessage);
  console.warn(`\n*** SKIPPING BROWSER TESTS: ${chromiumMissingMessage}\n`);
  return false;
}

/** Signs in through the admin's login form and waits for the home page. */
export async function signInAs(page: Page, baseUrl: string, email: string, password: string): Promise<void> {
  await page.goto(`${baseUrl}/admin/login`);
  await page.fill('input[name="email"]', email);
  await page.fill('input[name="password"]', password);
  await Promise.all([page.waitForURL(/\/admin\/?$/), page.getByRole('button', { name: 'Sign in' }).click()]);
}

/**
 * A browser test file's setup: the product on a fresh database with two seeded businesses, and a
 * browser. Fields are filled before the tests run; `canRun` is false (and nothing starts) without Chromium.
 */
export function useBrowserApp() {
  const session = {
    canRun: requireChromiumOrSkip(),
    app: undefined as unknown as TestApp,
    t: undefined as unknown as Tenants,
    browser: undefined as unknown as Browser,
    signIn: (page: Page, email: string) => signInAs(page, session.app.url, email, PASSWORD),
    /** A page signed in as ops on the data-feed upload workbench, its errors collected into `pageErrors`. */
    openUploadWorkbench: async (pageErrors: string[]): Promise<Page> => {
      const page = await session.browser.newPage({ viewport: { width: 1400, height: 1000 } });
      page.on('pageerror', (error) => pageErrors.push(error.message));
      await signInAs(page, session.app.url, session.t.users.opsA.email, PASSWORD);
      await page.goto(`${session.app.url}/admin/resources/DataFeed/actions/upload`);
      await page.getByTestId('data-feed-upload').waitFor({ timeout: 90_000 });
      return page;
    },
  };
  beforeAll(async () => {
    if (!session.canRun) return;
    session.app = await startTestApp();
    session.t = await seedTenants(session.app.system);
    session.browser = await launchBrowser();
  }, 180_000);
  afterAll(async () => {
    await session.browser?.close();
    await session.app?.close();
  });
  return session;
}
