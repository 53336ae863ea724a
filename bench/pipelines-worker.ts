/**
 * A child process of bench:pipelines. `worker`: one product worker process (as `npm run worker` starts it)
 * taking one stock_health file at a time; prints "ready" once it listens for jobs. `read <files…>`: the floor,
 * the workbooks' rows read by the XLSX reader alone; prints the row count, the milliseconds it took and the CPU milliseconds it used (the process's start left out).
 */
import path from 'node:path';
import { startBackhouse } from '../app/runtime.js';
import { loadConfig } from '../core/config.js';
import { createLogger } from '../core/log.js';
import { openWorkbookRows } from '../core/pipelines/formats/workbook.js';
import { registerPipeline } from '../core/pipelines/registry.js';
import { stockHealth } from '../core/pipelines/stock_health/index.js';

const [mode, ...files] = process.argv.slice(2);
if (mode === 'worker') {
  registerPipeline({ ...stockHealth, queue: { ...stockHealth.queue, concurrency: 1 } });
  const config = loadConfig();
  const running = await startBackhouse('worker', config, createLogger(config.LOG_LEVEL));
  process.stdout.write('ready\n');
  process.once('SIGTERM', () => void running.stop().then(() => process.exit(0)));
} else if (mode === 'read') {
  const started = performance.now();
  const cpuAtStart = process.cpuUsage();
  let rows = 0;
  for (const file of files) {
    const sheet = await openWorkbookRows(file, path.basename(file));
    for await (const _ of sheet.rows) rows++;
  }
  const cpu = process.cpuUsage(cpuAtStart);
  process.stdout.write(`${rows} ${performance.now() - started} ${(cpu.user + cpu.system) / 1000}\n`);
} else {
  throw new Error(`Unknown mode ${mode}: worker or read.`);
}
