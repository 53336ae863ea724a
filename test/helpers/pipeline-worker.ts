/**
 * A worker process for the pipelines' crash test: the test pipeline (slowed down per row) registered, and the
 * pipelines' queues worked, as `npm run worker` works the product's. Killed with SIGKILL by the test.
 */
import { loadConfig } from '../../core/config.js';
import { connectDb } from '../../core/db/index.js';
import { createLogger } from '../../core/log.js';
import { registerPipeline } from '../../core/pipelines/registry.js';
import { pipelineQueueDefinitions } from '../../jobs/pipelines.js';
import { startJobs } from '../../jobs/runtime.js';
import { countsPipeline } from './pipelines.js';

const config = loadConfig();
const log = createLogger(config.LOG_LEVEL);
registerPipeline(countsPipeline({ delayPerRowMs: Number(process.env.TEST_DELAY_PER_ROW_MS ?? '0') }));
const db = connectDb(config.DATABASE_URL!, 4);
await startJobs(db, config, log, { work: true, definitions: pipelineQueueDefinitions(config) });
console.log('worker ready');
