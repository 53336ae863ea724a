import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import pg from 'pg';
import PgBoss from 'pg-boss';
import { startEmbeddedPostgres, type EmbeddedServer } from '../../core/db/embedded.js';
import { listMigrations, migrateDatabase } from '../../core/db/migrate.js';
import { createLogger } from '../../core/log.js';
import { buildProduct } from '../../cli/build.js';
import { freePort } from './net.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Maintenance database URL of the test server, for CREATE/DROP DATABASE. */
    pgAdminUrl: string;
    /** A migrated database (with pg-boss's schema) that every test file copies. */
    templateDatabase: string;
    /**
     * How this run's test databases are named. Several runs may share one server (TEST_DATABASE_URL): each
     * drops only its own at the end.
     */
    testDatabasePrefix: string;
  }
}

/**
 * One PostgreSQL server per test run: TEST_DATABASE_URL when given, otherwise an embedded one in a
 * temporary folder. Migrations run once into a template database; each test file then gets its own
 * copy (CREATE DATABASE … TEMPLATE), which takes a fraction of a second.
 */
export default async function setup(project: TestProject) {
  const log = createLogger(process.env.TEST_LOG_LEVEL ?? 'warn', 'test-setup');
  // Tests that start the product as a process run what `npm start` runs: the build (the admin's scripts
  // included, which every test app serves).
  buildProduct();
  let embedded: EmbeddedServer | null = null;
  let dataDir: string | null = null;
  let adminUrl = process.env.TEST_DATABASE_URL;
  if (!adminUrl) {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'backhouse-test-pg-'));
    embedded = await startEmbeddedPostgres({ dataDir, port: await freePort(), log });
    adminUrl = embedded.adminUrl;
  }
  const template = `backhouse_template_${listMigrations().length}_${process.pid}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${template}`);
  await admin.query(`CREATE DATABASE ${template}`);
  await admin.end();
  const templateUrl = withDatabase(adminUrl, template);
  await migrateDatabase(templateUrl, log);
  // pg-boss installs its schema on first start; doing it once here keeps each test database quick.
  const boss = new PgBoss({ connectionString: templateUrl, schema: 'pgboss', supervise: false, schedule: false });
  await boss.start();
  await boss.stop({ graceful: false, wait: true });

  project.provide('pgAdminUrl', adminUrl);
  project.provide('templateDatabase', template);
  const prefix = `bh_test_${process.pid}_`;
  project.provide('testDatabasePrefix', prefix);

  return async () => {
    const client = new pg.Client({ connectionString: adminUrl });
    await client.connect();
    const leftovers = await client.query<{ datname: string }>(`SELECT datname FROM pg_database WHERE starts_with(datname, $1) OR datname = $2`, [prefix, template]);
    for (const { datname } of leftovers.rows) await client.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(datname)} WITH (FORCE)`);
    await client.end();
    await embedded?.stop();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  };
}

export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}
