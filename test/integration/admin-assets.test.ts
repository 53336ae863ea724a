import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildAdminBundle } from '../../admin/bundle.js';
import { adminClient, seedTenants, startTestApp, type Tenants, type TestApp } from '../helpers/app.js';

/** The admin's pages load the built, minified scripts: compressed, cached for a year at addresses that change with them. */
let app: TestApp;
let t: Tenants;
beforeAll(async () => {
  app = await startTestApp();
  t = await seedTenants(app.system);
});
afterAll(async () => app?.close());

const scripts = ['global.bundle.js', 'design-system.bundle.js', 'app.bundle.js', 'components.bundle.js'];

async function scriptAddresses(html: string): Promise<string[]> {
  return [...html.matchAll(/<script src="([^"]+)"><\/script>/g)].map((m) => m[1]!);
}

describe('the admin\'s scripts', () => {
  it('the pages (sign-in included) name the built scripts, which are served gzipped with a year\'s cache; the old addresses lead there', async () => {
    const dir = buildAdminBundle();
    const key = path.basename(dir);
    const expected = scripts.map((name) => `/admin/assets/${key}/${name}`);
    const login = await (await fetch(`${app.url}/admin/login`)).text();
    expect(await scriptAddresses(login)).toEqual(expected);
    const admin = await adminClient(app.url, t.users.admin.email);
    const home = await fetch(`${app.url}/admin`, { headers: { cookie: admin.cookie } });
    expect(await scriptAddresses(await home.text())).toEqual(expected);

    for (const [i, name] of scripts.entries()) {
      const res = await fetch(`${app.url}${expected[i]}`, { headers: { 'accept-encoding': 'gzip' } });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-encoding')).toBe('gzip');
      expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      expect(res.headers.get('content-type')).toMatch(/^text\/javascript/);
      // fetch decodes the gzip: what arrives is the built file.
      expect(Buffer.from(await res.arrayBuffer()).equals(fs.readFileSync(path.join(dir, name)))).toBe(true);
      const sizes = { plain: fs.statSync(path.join(dir, name)).size, gzipped: zlib.gzipSync(fs.readFileSync(path.join(dir, name))).length };
      expect(sizes.gzipped).toBeLessThan(sizes.plain / 2);
      const old = await fetch(`${app.url}/admin/frontend/assets/${name}`, { redirect: 'manual' });
      expect([old.status, old.headers.get('location')]).toEqual([302, expected[i]]);
    }
  });

  it('are the minified production builds, React\'s included', () => {
    const dir = buildAdminBundle();
    for (const name of scripts) {
      const text = fs.readFileSync(path.join(dir, name), 'utf8');
      // Minified: long lines (500+ characters on average). The development builds average ~130.
      expect(text.split('\n').length, name).toBeLessThan(text.length / 400);
      // React's development build checks the DOM's nesting; its production build does not.
      expect(text, name).not.toContain('validateDOMNesting');
    }
  });

  it('JSON answers are gzipped when the caller takes it', async () => {
    const admin = await adminClient(app.url, t.users.admin.email);
    const res = await fetch(`${app.url}/admin/api/resources/Product/actions/list`, { headers: { cookie: admin.cookie, 'accept-encoding': 'gzip' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-encoding')).toBe('gzip');
    expect(((await res.json()) as { records: unknown[] }).records.length).toBeGreaterThan(0);
  });
});
