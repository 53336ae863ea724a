import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse';
import type { Db } from '../../core/db/index.js';
import { AppError } from '../../core/errors.js';
import type { DayOutputFile, Pipeline, PipelineQueueSettings } from '../../core/pipelines/pipeline.js';
import { pipeline as streamPipeline } from 'node:stream/promises';
import pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';

/** The snapshot table of the test pipeline below: a store's stock count per SKU per day. */
export const COUNTS_TABLE = 'test_stock_counts';

export async function createCountsTable(db: Db): Promise<void> {
  await db.pool.query(`CREATE TABLE IF NOT EXISTS ${COUNTS_TABLE} (
    business_id uuid NOT NULL, business_date date NOT NULL, pipeline_run_id uuid NOT NULL, file_job_id uuid NOT NULL,
    store_code text NOT NULL, sku text NOT NULL, qty integer NOT NULL)`);
  await db.pool.query(`CREATE INDEX IF NOT EXISTS ${COUNTS_TABLE}_day ON ${COUNTS_TABLE} (business_id, business_date)`);
}

/**
 * A small pipeline for the machinery's tests: `counts_<STORE>.csv` files with `store_code,sku,qty` (or `Store
 * Code, SKU, Qty`), one output row per line. A qty that is not a whole number fails the file with its line.
 * `delayPerRowMs` slows reading (to kill a worker in the middle of a file).
 */
export function countsPipeline(options: { name?: string; queue?: Partial<PipelineQueueSettings>; delayPerRowMs?: number; maxFiles?: number; exports?: boolean } = {}): Pipeline<{ line: number; cells: Record<string, string> }> {
  return {
    name: options.name ?? 'test_counts',
    title: 'Test stock counts',
    matcher: { filename: /^counts_.*\.csv$/i, headers: ['Store Code', 'SKU', 'Qty'] },
    storeOf: (peek) => peek.firstRow?.['storecode'] ?? null,
    queue: { attempts: 3, retryDelaySeconds: 1, concurrency: 2, ...options.queue },
    ...(options.maxFiles ? { aggregation: { maxFiles: options.maxFiles } } : {}),
    async *read(file) {
      const parser = fs.createReadStream(file.path).pipe(parse({ columns: (header: string[]) => header.map((h) => h.toLowerCase().replace(/[\s_]+/g, '')) }));
      let line = 1;
      for await (const cells of parser as AsyncIterable<Record<string, string>>) {
        line += 1;
        if (options.delayPerRowMs) await new Promise((resolve) => setTimeout(resolve, options.delayPerRowMs));
        yield { line, cells };
      }
    },
    async *transform(rows) {
      for await (const { line, cells } of rows) {
        const qty = cells['qty'] ?? '';
        if (!/^-?\d+$/.test(qty.trim())) throw new AppError('validation_failed', `Line ${line}: Qty "${qty}" is not a whole number; correct the file and retry it.`);
        yield { output: COUNTS_TABLE, values: { store_code: cells['storecode'], sku: cells['sku'], qty: Number(qty) } };
      }
    },
    outputs: [{ name: COUNTS_TABLE, table: COUNTS_TABLE, columns: ['store_code', 'sku', 'qty'] }],
    // With `exports`: the day's counts as `counts_<YYYYMMDD>.csv`, by store and SKU.
    ...(options.exports ? { exportDay: exportCountsDay } : {}),
  };
}

async function exportCountsDay(client: pg.ClientBase, day: { businessId: string; businessDate: string; outputDir: string }): Promise<DayOutputFile[]> {
  await fs.promises.mkdir(day.outputDir, { recursive: true });
  const target = path.join(day.outputDir, `counts_${day.businessDate.replaceAll('-', '')}.csv`);
  const copy = client.query(copyTo(`COPY (SELECT store_code, sku, qty FROM ${COUNTS_TABLE} WHERE business_id = ${pg.escapeLiteral(day.businessId)} AND business_date = ${pg.escapeLiteral(day.businessDate)} ORDER BY store_code, sku) TO STDOUT WITH (FORMAT csv, HEADER)`));
  await streamPipeline(copy, fs.createWriteStream(`${target}.part`));
  await fs.promises.rename(`${target}.part`, target);
  return [{ name: 'counts', path: target, rows: copy.rowCount }];
}

/** Writes `counts_<code>.csv` with `skus` lines for each store code; returns the paths. */
export function writeCountFiles(folder: string, storeCodes: string[], skus: number, broken?: { store: string; line: number }): string[] {
  fs.mkdirSync(folder, { recursive: true });
  return storeCodes.map((code) => {
    const lines = ['Store Code,SKU,Qty'];
    for (let i = 1; i <= skus; i++) lines.push(`${code},SKU-${String(i).padStart(4, '0')},${broken?.store === code && i + 1 === broken.line ? 'twelve' : (i * 7) % 50}`);
    const file = path.join(folder, `counts_${code}.csv`);
    fs.writeFileSync(file, lines.join('\n') + '\n');
    return file;
  });
}
