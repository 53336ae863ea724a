import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { configVariableNames, loadConfig, projectRoot } from '../../core/config.js';

describe('configuration', () => {
  it('the README documents every environment variable the product reads', () => {
    const readme = fs.readFileSync(path.join(projectRoot, 'README.md'), 'utf8');
    const missing = configVariableNames.filter((name) => !readme.includes(`\`${name}\``));
    expect(missing).toEqual([]);
  });

  it('has a working default for everything', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ PORT: 3000, SEED_DEMO: true, cookieSecure: false });
    expect(config.DATABASE_URL).toBeUndefined();
    expect(loadConfig({ NODE_ENV: 'production' }).cookieSecure).toBe(true);
    expect(loadConfig({ NODE_ENV: 'production', COOKIE_SECURE: 'false' }).cookieSecure).toBe(false);
  });

  it('keeps the pipelines\' files in the product\'s data directory unless told otherwise, and retries a file after 30 s', () => {
    expect(loadConfig({}).PIPELINE_DATA_DIR).toBe(path.join(projectRoot, '.data', 'pipelines'));
    expect(loadConfig({ DATA_DIR: '/srv/backhouse' }).PIPELINE_DATA_DIR).toBe(path.join('/srv/backhouse', 'pipelines'));
    expect(loadConfig({ DATA_DIR: '/srv/backhouse', PIPELINE_DATA_DIR: '/mnt/pipelines' }).PIPELINE_DATA_DIR).toBe('/mnt/pipelines');
    expect(loadConfig({ PIPELINE_DATA_DIR: '' }).PIPELINE_DATA_DIR).toBe(path.join(projectRoot, '.data', 'pipelines'));
    expect(loadConfig({}).PIPELINE_RETRY_DELAY_SECONDS).toBe(30);
    expect(() => loadConfig({ PIPELINE_RETRY_DELAY_SECONDS: '0' })).toThrow(/PIPELINE_RETRY_DELAY_SECONDS/);
  });

  it('names each bad value and what is wrong with it', () => {
    expect(() => loadConfig({ PORT: 'eighty', ADMIN_EMAIL: 'not-an-email', SESSION_SECRET: 'short' })).toThrow(/PORT[\s\S]*SESSION_SECRET[\s\S]*ADMIN_EMAIL|PORT[\s\S]*ADMIN_EMAIL/);
  });
});
