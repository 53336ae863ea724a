import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

/**
 * The project's root folder (the one with package.json), wherever the process was started from and whether
 * this module runs from its source or from the build in `.build/`.
 */
export const projectRoot = (() => {
  let folder = path.dirname(fileURLToPath(import.meta.url));
  while (!fs.existsSync(path.join(folder, 'package.json'))) {
    const parent = path.dirname(folder);
    if (parent === folder) throw new Error(`No package.json above ${fileURLToPath(import.meta.url)}.`);
    folder = parent;
  }
  return folder;
})();

const booleanFromEnv = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((value) => value === 'true' || value === '1' || value === 'yes');

const emptyAsUndefined = (value: unknown) => (value === '' ? undefined : value);

/**
 * Every environment variable the product reads, in one place. The README's configuration table
 * lists the same names; test/unit/config.test.ts keeps the two in step.
 */
const configSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().default('0.0.0.0'),
  DATABASE_URL: z.preprocess(emptyAsUndefined, z.string().url().optional()),
  DATA_DIR: z.string().default(path.join(projectRoot, '.data')),
  EMBEDDED_PG_PORT: z.coerce.number().int().min(1).max(65535).default(54329),
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(10),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  LOG_FORMAT: z.enum(['auto', 'json', 'pretty']).default('auto'),
  SESSION_SECRET: z.preprocess(emptyAsUndefined, z.string().min(32).optional()),
  TOKEN_SECRET: z.preprocess(emptyAsUndefined, z.string().min(32).optional()),
  SECRETS_KEY: z.preprocess(emptyAsUndefined, z.string().optional()),
  TOKEN_TTL_SECONDS: z.coerce.number().int().min(60).default(8 * 3600),
  SESSION_TTL_SECONDS: z.coerce.number().int().min(60).default(8 * 3600),
  COOKIE_SECURE: z.preprocess(emptyAsUndefined, booleanFromEnv.optional()),
  TRUST_PROXY: z.preprocess(emptyAsUndefined, z.string().optional()),
  LOGIN_MAX_FAILURES_PER_ACCOUNT: z.coerce.number().int().min(1).default(5),
  LOGIN_MAX_FAILURES_PER_IP: z.coerce.number().int().min(1).default(30),
  LOGIN_BLOCK_SECONDS: z.coerce.number().int().min(1).default(15 * 60),
  ADMIN_EMAIL: z.preprocess(emptyAsUndefined, z.string().email().optional()),
  ADMIN_PASSWORD: z.preprocess(emptyAsUndefined, z.string().min(8).optional()),
  SEED_DEMO: z.preprocess(emptyAsUndefined, booleanFromEnv.default(true)),
  JOB_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(2),
  SHUTDOWN_TIMEOUT_SECONDS: z.coerce.number().int().min(1).default(30),
  JOB_LIVENESS_INTERVAL_SECONDS: z.coerce.number().int().min(1).max(300).default(10),
  FEED_PREVIEW_ROWS: z.coerce.number().int().min(1).max(1000).default(50),
  FEED_UPLOAD_TTL_SECONDS: z.coerce.number().int().min(60).default(2 * 3600),
  FEED_MAX_UPLOAD_MB: z.coerce.number().min(1).max(2048).default(200),
  FEED_MAX_COLUMNS: z.coerce.number().int().min(1).max(16_384).default(1000),
  FEED_FUZZY_THRESHOLD: z.coerce.number().min(0).max(1).default(0.7),
  FEED_QUEUE_CONCURRENCY: z.coerce.number().int().min(1).max(16).default(1),
  FEED_JOB_TIMEOUT_SECONDS: z.coerce.number().int().min(1).default(3600),
  FEED_PARTITION_MIN_ROWS: z.coerce.number().int().min(1).default(50_000),
  FEED_LOAD_CONNECTIONS: z.coerce.number().int().min(1).max(16).default(2),
  MAPPING_LLM_BASE_URL: z.preprocess(emptyAsUndefined, z.string().url().optional()),
  MAPPING_LLM_API_KEY: z.preprocess(emptyAsUndefined, z.string().optional()),
  MAPPING_LLM_MODEL: z.preprocess(emptyAsUndefined, z.string().default('gpt-4o-mini')),
  MAPPING_LLM_TIMEOUT_SECONDS: z.coerce.number().int().min(1).max(600).default(20),
  MAPPING_LLM_MAX_SAMPLES: z.coerce.number().int().min(0).max(50).default(5),
  MAPPING_SAMPLE_ROWS: z.coerce.number().int().min(1).max(1000).default(20),
  // Streaming ingestion, silver (core/ingest/silver.ts).
  INGEST_SILVER_BATCH_SIZE: z.coerce.number().int().min(1).max(50_000).default(2000),
  /** Silver loops each worker process runs when woken (they claim disjoint batches with SKIP LOCKED). */
  INGEST_SILVER_LOOPS: z.coerce.number().int().min(1).max(16).default(2),
  INGEST_LINK_THRESHOLD: z.coerce.number().min(0).max(1).default(0.85),
  INGEST_MAX_TRANSACTION_AMOUNT: z.coerce.number().positive().default(10_000),
  INGEST_FUTURE_TOLERANCE_SECONDS: z.coerce.number().int().min(0).default(300),
  INGEST_MAX_BODY_KB: z.coerce.number().int().min(1).max(1024 * 1024).default(4096),
  INGEST_CORS_ORIGINS: z.preprocess(emptyAsUndefined, z.string().optional()),
  INGEST_RATE_LIMIT_PER_SECOND: z.coerce.number().min(0.01).max(1_000_000).default(50),
  INGEST_RATE_LIMIT_BURST: z.coerce.number().int().min(1).max(1_000_000).default(100),
  // Tekmetric (issue 19): the connection taken from the environment, and the sync's schedule and raw payloads.
  TEKMETRIC_BASE_URL: z.preprocess(emptyAsUndefined, z.string().url().optional()),
  TEKMETRIC_CLIENT_ID: z.preprocess(emptyAsUndefined, z.string().optional()),
  TEKMETRIC_CLIENT_SECRET: z.preprocess(emptyAsUndefined, z.string().optional()),
  TEKMETRIC_SYNC_INTERVAL_MINUTES: z.coerce.number().int().min(1).max(1440).default(15),
  TEKMETRIC_RAW_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(14),
  // File pipelines (issue 18): intermediate CSVs and exports (default DATA_DIR/pipelines), the aggregator's flush
  // rules, the watcher's default poll, the first retry's delay.
  PIPELINE_DATA_DIR: z.preprocess(emptyAsUndefined, z.string().optional()),
  PIPELINE_FLUSH_FILES: z.coerce.number().int().min(1).max(10_000).default(5),
  PIPELINE_FLUSH_BYTES: z.coerce.number().int().min(1024).default(10 * 1024 * 1024),
  PIPELINE_FLUSH_SECONDS: z.coerce.number().min(0.01).max(86_400).default(300),
  PIPELINE_POLL_SECONDS: z.coerce.number().min(1).max(86_400).default(300),
  PIPELINE_RETRY_DELAY_SECONDS: z.coerce.number().int().min(1).max(86_400).default(30),
  STOCK_CRITICAL_DAYS: z.coerce.number().min(0).default(7),
  STOCK_LOW_DAYS: z.coerce.number().min(0).default(14),
  STOCK_OVERSTOCK_DAYS: z.coerce.number().min(1).default(90),
  STOCK_SERVICE_LEVEL_Z: z.coerce.number().min(0).max(5).default(1.65),
  STOCK_ORDER_CYCLE_DAYS: z.coerce.number().min(0).max(365).default(14),
  GOOGLE_DRIVE_KEY_FILE: z.preprocess(emptyAsUndefined, z.string().optional()),
  GOOGLE_DRIVE_CREDENTIALS_JSON: z.preprocess(emptyAsUndefined, z.string().optional()),
  GOOGLE_DRIVE_ROOT_URL: z.preprocess(emptyAsUndefined, z.string().url().optional()),
  WEBHOOK_TIMEOUT_SECONDS: z.coerce.number().min(0.1).max(120).default(10),
  WEBHOOK_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(50).default(8),
  WEBHOOK_RETRY_BASE_SECONDS: z.coerce.number().min(0.01).max(3600).default(30),
  WEBHOOK_RETRY_MAX_SECONDS: z.coerce.number().min(0.01).max(86_400).default(3600),
  WEBHOOK_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(4),
});

export type Config = Omit<z.infer<typeof configSchema>, 'PIPELINE_DATA_DIR'> & {
  /** Where the pipelines keep their files: PIPELINE_DATA_DIR, else `pipelines` in DATA_DIR (beside the embedded database). */
  PIPELINE_DATA_DIR: string;
  cookieSecure: boolean;
};

/** Names of every variable the product reads (for the README check). */
export const configVariableNames = Object.keys(configSchema.shape);

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = configSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new Error(`Invalid configuration in the environment:\n  ${problems.join('\n  ')}`);
  }
  const config = parsed.data;
  return {
    ...config,
    PIPELINE_DATA_DIR: config.PIPELINE_DATA_DIR ?? path.join(config.DATA_DIR, 'pipelines'),
    cookieSecure: config.COOKIE_SECURE ?? config.NODE_ENV === 'production',
  };
}
