import { describe, expect, it } from 'vitest';
import { apiClient } from '../helpers/app.js';
import { screenshotPath, useBrowserApp } from '../helpers/browser.js';

const session = useBrowserApp();
const { canRun, signIn } = session;

describe.skipIf(!canRun)('ending sessions in a real browser', () => {
  it('an admin ends a user\'s sessions from the user\'s page: the user\'s open admin page and API token stop working', { timeout: 90_000 }, async () => {
    const { app, t } = session;
    const ops = await session.browser.newPage({ viewport: { width: 1400, height: 900 } });
    await signIn(ops, t.users.opsA.email);
    const token = await apiClient(app.url, t.users.opsA.email);
    expect((await token.call('GET', '/api/me')).status).toBe(200);

    const admin = await session.browser.newPage({ viewport: { width: 1400, height: 900 } });
    await signIn(admin, t.users.admin.email);
    await admin.goto(`${app.url}/admin/resources/User/records/${t.users.opsA.id}/show`);
    await admin.getByText(t.users.opsA.email).first().waitFor();
    await admin.screenshot({ path: screenshotPath('admin-user-page') });
    await admin.getByText('End sessions', { exact: true }).click();
    await admin.getByText("End all of this user's sessions and API tokens?").waitFor();
    await admin.screenshot({ path: screenshotPath('admin-end-sessions-confirm') });
    await admin.getByRole('button', { name: 'Confirm' }).click();
    await admin.getByText(`Every session and API token of ${t.users.opsA.email} has ended.`).waitFor();
    await admin.screenshot({ path: screenshotPath('admin-end-sessions-done') });

    expect((await token.call('GET', '/api/me')).status).toBe(401);
    await ops.goto(`${app.url}/admin/resources/Product`);
    await ops.waitForURL(/\/admin\/login/);
    await ops.screenshot({ path: screenshotPath('admin-end-sessions-user-signed-out') });
    // The admin's own session goes on.
    await admin.goto(`${app.url}/admin/resources/User`);
    await admin.getByText(t.users.opsA.email).first().waitFor();
    await ops.close();
    await admin.close();
  });

  it('signing out of the admin ends the session: the cookie the browser held signs nobody in', { timeout: 60_000 }, async () => {
    const { app, t } = session;
    const page = await session.browser.newPage({ viewport: { width: 1400, height: 900 } });
    await signIn(page, t.users.managerA.email);
    const cookies = await page.context().cookies();
    await page.goto(`${app.url}/admin/logout`);
    await page.waitForURL(/\/admin\/login/);
    // The cookie the browser held before signing out signs nobody in.
    const cookie = cookies.map((c) => `${c.name}=${c.value}`).join('; ');
    expect((await fetch(`${app.url}/api/me`, { headers: { cookie } })).status).toBe(401);
    await page.close();
  });
});
