import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { withAdvisoryLock } from '../db/index.js';

/**
 * An incremental aggregate: a table of key columns and additive measures that its writers keep up to date
 * by folding deltas into it (`foldIntoAggregate`), in the transaction that changes its sources, and that
 * a check recomputes from its sources to prove it (`recomputeAggregate`).
 *
 * The table needs (in its migration):
 * - a unique index over exactly `keys`, `NULLS NOT DISTINCT` when a key may be null (the upsert's target);
 * - a partial index `WHERE <count> <= 0`: rows whose count reaches zero are removed by the fold, and that
 *   index lets it find them at the cost of the rows it just zeroed, not of the table. A count below zero
 *   means something was folded out that was never folded in: the fold throws (a CHECK constraint cannot
 *   say so, since PostgreSQL checks the proposed row of an upsert, negative for sign -1, before the conflict).
 * `assertAggregateTable` checks the two (a test runs it over every registered aggregate).
 */
export interface IncrementalAggregate {
  /** The table (schema public). */
  table: string;
  keys: readonly string[];
  /** Additive measures (counts, sums; never averages or distinct counts, which do not fold). */
  measures: readonly string[];
  /** The measure counting the source rows a row sums (one of `measures`): a row at zero is removed. */
  count: string;
  /**
   * The aggregate's full content computed from its sources: a SELECT answering the key and measure columns,
   * any number of rows per key (they are summed). Key columns must have the table's types (cast dates).
   */
  source: string;
  /** The tables `source` reads; aggregates among them are recomputed first, and their writes mark this one changed. */
  sources: readonly string[];
}

/** A delta: a SELECT answering the key and measure columns of what changed (summed by key), with its parameters. */
export interface AggregateDelta {
  text: string;
  values?: unknown[];
}

const id = (name: string) => pg.escapeIdentifier(name);

/**
 * Adds `sign` × the delta's measures to the aggregate, in the caller's transaction: one upsert
 * (`m = t.m + EXCLUDED.m`) over the delta's keys in key order (two folds of overlapping keys lock rows in
 * the same order, so they wait rather than deadlock), then removes the rows whose count reached zero.
 * Costs what the delta holds: the upsert goes through the key index, the removal through the zero index.
 */
export async function foldIntoAggregate(client: pg.ClientBase, aggregate: IncrementalAggregate, delta: AggregateDelta, sign: 1 | -1): Promise<{ folded: number; removed: number }> {
  if (sign !== 1 && sign !== -1) throw new Error(`A fold's sign is 1 or -1, not ${String(sign)}.`);
  const keys = aggregate.keys.map(id);
  const measures = aggregate.measures.map(id);
  const signed = measures.map((m) => (sign === 1 ? `sum(${m})` : `-sum(${m})`));
  const upsert = await client.query(
    `INSERT INTO ${id(aggregate.table)} AS t (${[...keys, ...measures].join(', ')})
     SELECT ${[...keys, ...signed].join(', ')} FROM (${delta.text}) AS delta
      GROUP BY ${keys.join(', ')} ORDER BY ${keys.join(', ')}
     ON CONFLICT (${keys.join(', ')}) DO UPDATE SET ${measures.map((m) => `${m} = t.${m} + EXCLUDED.${m}`).join(', ')}`,
    delta.values ?? [],
  );
  const folded = upsert.rowCount ?? 0;
  if (folded === 0) return { folded, removed: 0 };
  const removed = await client.query<{ key: unknown[]; count: string }>(
    `DELETE FROM ${id(aggregate.table)} WHERE ${id(aggregate.count)} <= 0 RETURNING jsonb_build_array(${keys.join(', ')}) AS key, ${id(aggregate.count)}::text AS count`,
  );
  const negative = removed.rows.filter((row) => Number(row.count) < 0);
  if (negative.length > 0) {
    throw new Error(`Folding out rows never folded into ${aggregate.table}: ${aggregate.count} would be ${negative[0]!.count} at key ${JSON.stringify(negative[0]!.key)}${negative.length > 1 ? ` (and ${negative.length - 1} more)` : ''}.`);
  }
  return { folded, removed: removed.rowCount ?? 0 };
}

/** One key where the stored aggregate and its recomputation differ; null: the row is missing on that side. */
export interface AggregateDifference {
  key: Record<string, unknown>;
  stored: Record<string, number | string> | null;
  expected: Record<string, number | string> | null;
}

/** The stored rows and the recomputed ones side by side by key (as jsonb, which compares numbers by value). */
function comparison(aggregate: IncrementalAggregate): string {
  const keys = aggregate.keys.map(id);
  const keyOf = (alias: string) => `jsonb_build_array(${keys.map((k) => `${alias}.${k}`).join(', ')})`;
  const measuresOf = (alias: string, summed: boolean) => `jsonb_build_object(${aggregate.measures.map((m) => `'${m}', ${summed ? `sum(${alias}.${id(m)})` : `${alias}.${id(m)}`}`).join(', ')})`;
  return `expected AS (
      SELECT ${keyOf('e')} AS key, ${measuresOf('e', true)} AS measures, ${keys.map((k) => `e.${k}`).join(', ')}, ${aggregate.measures.map((m) => `sum(e.${id(m)}) AS ${id(m)}`).join(', ')}
        FROM (${aggregate.source}) AS e GROUP BY ${keys.map((k) => `e.${k}`).join(', ')} HAVING sum(e.${id(aggregate.count)}) <> 0),
    stored AS (SELECT ${keyOf('s')} AS key, ${measuresOf('s', false)} AS measures, s.* FROM ${id(aggregate.table)} AS s),
    compared AS (
      SELECT coalesce(expected.key, stored.key) AS key, stored.measures AS stored_measures, expected.measures AS expected_measures,
             ${keys.map((k) => `coalesce(expected.${k}, stored.${k}) AS ${k}`).join(', ')},
             ${aggregate.measures.map((m) => `coalesce(expected.${id(m)}, 0) - coalesce(stored.${id(m)}, 0) AS ${id(m)}`).join(', ')}
        FROM expected FULL JOIN stored ON stored.key = expected.key
       WHERE expected.measures IS DISTINCT FROM stored.measures)`;
}

export interface AggregateCheck {
  aggregate: string;
  /** 'unchanged': nothing written to its sources or to it since its last clean check; 'running': another check of it holds its lock. */
  skipped: 'unchanged' | 'running' | null;
  differences: AggregateDifference[];
  /** True when the differences were folded in, so that the table now equals its recomputation. */
  repaired: boolean;
  durationMs: number;
}

/**
 * Write counters of the aggregate's table and its sources (PostgreSQL's cumulative statistics): they move
 * with every insert, update and delete, so an unchanged figure means nothing was written since. The
 * statistics are flushed about every second, so a write is seen by a check within seconds of its commit.
 */
async function writeVersion(client: pg.ClientBase, aggregate: IncrementalAggregate): Promise<string> {
  const result = await client.query<{ version: string }>(
    `SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0)::text || '/' || coalesce((SELECT stats_reset::text FROM pg_stat_database WHERE datname = current_database()), '') AS version
       FROM pg_stat_user_tables WHERE schemaname = 'public' AND relname = ANY($1::text[])`,
    [[aggregate.table, ...aggregate.sources]],
  );
  return result.rows[0]!.version;
}

/**
 * Recomputes the aggregate from its sources and reports every difference from what is stored; with
 * `repair`, folds the differences in (expected − stored, per key) so that the table equals the
 * recomputation. Compare and repair each read silver and the aggregate in one statement, so one snapshot:
 * folds committed meanwhile are in both sides or in neither, and the repair adds to what they wrote.
 *
 * Two checks of one aggregate never run at once (a session advisory lock; the second answers 'running').
 * Nothing is done when nothing was written to the aggregate or its sources since its last clean check,
 * unless `force`. Each check that ran is recorded in aggregate_checks.
 */
export async function recomputeAggregate(pool: pg.Pool, aggregate: IncrementalAggregate, options: { repair?: boolean; force?: boolean } = {}): Promise<AggregateCheck> {
  const started = performance.now();
  const checked = await withAdvisoryLock(
    pool,
    `aggregate:${aggregate.table}`,
    async (client): Promise<AggregateCheck> => {
      const version = await writeVersion(client, aggregate);
      if (!options.force) {
        const last = await client.query<{ write_version: string }>(
          `SELECT write_version FROM aggregate_checks WHERE aggregate = $1 AND (differences = 0 OR repaired) ORDER BY started_at DESC, id DESC LIMIT 1`,
          [aggregate.table],
        );
        if (last.rows[0]?.write_version === version) return { aggregate: aggregate.table, skipped: 'unchanged', differences: [], repaired: false, durationMs: Math.round(performance.now() - started) };
      }
      const compared = await client.query<{ key: unknown[]; stored_measures: Record<string, number | string> | null; expected_measures: Record<string, number | string> | null }>(
        `WITH ${comparison(aggregate)} SELECT key, stored_measures, expected_measures FROM compared ORDER BY key`,
      );
      const differences = compared.rows.map((row) => ({
        key: Object.fromEntries(aggregate.keys.map((k, i) => [k, row.key[i]])),
        stored: row.stored_measures,
        expected: row.expected_measures,
      }));
      let repaired = false;
      if (options.repair && differences.length > 0) {
        await client.query('BEGIN');
        try {
          await foldIntoAggregate(client, aggregate, { text: `WITH ${comparison(aggregate)} SELECT ${[...aggregate.keys, ...aggregate.measures].map(id).join(', ')} FROM compared` }, 1);
          await client.query('COMMIT');
        } catch (error) {
          await client.query('ROLLBACK');
          throw error;
        }
        repaired = true;
      }
      const durationMs = Math.round(performance.now() - started);
      await client.query(
        `INSERT INTO aggregate_checks (aggregate, started_at, write_version, differences, repaired, sample, duration_ms)
         VALUES ($1, now() - make_interval(secs => $2::float8 / 1000), $3, $4, $5, $6, $2)`,
        [aggregate.table, durationMs, version, differences.length, repaired, JSON.stringify(differences.slice(0, 20))],
      );
      return { aggregate: aggregate.table, skipped: null, differences, repaired, durationMs };
    },
    { skipIfHeld: true },
  );
  return checked ?? { aggregate: aggregate.table, skipped: 'running', differences: [], repaired: false, durationMs: Math.round(performance.now() - started) };
}

/** The aggregates in an order where each comes after the aggregates among its sources (given order among equals). */
export function recomputeOrder(aggregates: readonly IncrementalAggregate[]): IncrementalAggregate[] {
  const pending = new Set(aggregates);
  const ordered: IncrementalAggregate[] = [];
  while (pending.size > 0) {
    const ready = [...pending].find((a) => !a.sources.some((source) => [...pending].some((other) => other !== a && other.table === source)));
    if (!ready) throw new Error(`The aggregates have a dependency cycle among: ${[...pending].map((a) => a.table).join(', ')}`);
    ordered.push(ready);
    pending.delete(ready);
  }
  return ordered;
}

/** Checks (and with `repair`, repairs) each aggregate in dependency order. */
export async function recomputeAggregates(pool: pg.Pool, aggregates: readonly IncrementalAggregate[], options: { repair?: boolean; force?: boolean } = {}): Promise<AggregateCheck[]> {
  const checks: AggregateCheck[] = [];
  for (const aggregate of recomputeOrder(aggregates)) checks.push(await recomputeAggregate(pool, aggregate, options));
  return checks;
}

/**
 * Opens an alert in warehouse_alerts (kind 'aggregate_mismatch', one open per aggregate) for each check that
 * found differences, naming how many and the first keys; closes the open alert of an aggregate whose check
 * found none. Answers the aggregates whose alert it opened.
 */
export async function alertOnDifferences(runner: Pick<pg.ClientBase, 'query'>, checks: readonly AggregateCheck[]): Promise<string[]> {
  const opened: string[] = [];
  for (const check of checks) {
    if (check.skipped) continue;
    if (check.differences.length === 0) {
      await runner.query(`UPDATE warehouse_alerts SET closed_at = now() WHERE closed_at IS NULL AND kind = 'aggregate_mismatch' AND view_name = $1`, [check.aggregate]);
      continue;
    }
    const first = check.differences.slice(0, 3).map((d) => JSON.stringify(d.key)).join(', ');
    const message = `Aggregate ${check.aggregate} differs from its recomputation at ${check.differences.length} key(s) (first: ${first})${check.repaired ? '; repaired from the sources' : ''}. Something wrote its sources without folding the change in: see aggregate_checks for the stored and expected figures.`;
    const result = await runner.query(
      `INSERT INTO warehouse_alerts (view_name, kind, message) VALUES ($1, 'aggregate_mismatch', $2)
       ON CONFLICT (view_name, kind) WHERE closed_at IS NULL DO UPDATE SET message = EXCLUDED.message`,
      [check.aggregate, message],
    );
    if (result.rowCount) opened.push(check.aggregate);
  }
  return opened;
}

/** Proves an aggregate's table has what folding needs: the unique key index and the zero-count partial index. */
export async function assertAggregateTable(runner: Pick<pg.ClientBase, 'query'>, aggregate: IncrementalAggregate): Promise<void> {
  const indexes = await runner.query<{ columns: string[]; unique: boolean; predicate: string | null }>(
    `SELECT array_agg(a.attname ORDER BY k.ord)::text[] AS columns, i.indisunique AS unique, pg_get_expr(i.indpred, i.indrelid) AS predicate
       FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
       LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
      WHERE i.indrelid = to_regclass('public.' || quote_ident($1)) GROUP BY i.indexrelid, i.indisunique, i.indpred, i.indrelid`,
    [aggregate.table],
  );
  const keyed = indexes.rows.some((i) => i.unique && i.predicate === null && i.columns.length === aggregate.keys.length && aggregate.keys.every((k) => i.columns.includes(k)));
  if (!keyed) throw new Error(`Aggregate ${aggregate.table} has no unique index over exactly its keys (${aggregate.keys.join(', ')}).`);
  const zeroIndexed = indexes.rows.some((i) => i.predicate !== null && new RegExp(`^\\(?${aggregate.count} <= 0\\)?$`).test(i.predicate));
  if (!zeroIndexed) throw new Error(`Aggregate ${aggregate.table} has no partial index WHERE ${aggregate.count} <= 0 (the fold removes zeroed rows through it).`);
}
