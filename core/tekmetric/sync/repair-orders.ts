import type pg from 'pg';
import { withTransaction } from '../../db/index.js';
import { tmCustomer, tmVehicle, type TmRepairOrder } from '../api-types.js';
import type { TekmetricClient } from '../client.js';
import { TekmetricError } from '../client.js';
import { addRepairOrderRows, concernSpec, customerRow, customerSpec, discountSpec, emptyRepairOrderRows, feeSpec, jobSpec, laborSpec, partSpec, repairOrderSpec, subletSpec, vehicleRow, vehicleSpec, type ShopRef } from './rows.js';
import { upsertRows } from './upsert.js';

/** What a page of repair orders changed, for the metrics and snapshots that follow it (in its transaction). */
export interface RepairOrdersChanged {
  shop: ShopRef;
  /** Repair orders whose row or any child was inserted, changed or removed. */
  repairOrderIds: number[];
  /** Shop-local days those repair orders count on, before and after the change (created, completed, posted). */
  days: string[];
  /** Status moves (`from` null for a repair order seen for the first time). */
  statusChanges: { repairOrderId: number; from: number | null; to: number }[];
}

export type RepairOrdersChangedHook = (client: pg.ClientBase, change: RepairOrdersChanged) => Promise<void>;

/** Child tables whose rows a repair order's new version no longer lists are deleted (jobs' lines cascade with their job). */
const childTables = ['tm_jobs', 'tm_job_parts', 'tm_job_labor', 'tm_sublets', 'tm_fees', 'tm_discounts', 'tm_concerns'] as const;

interface PriorState {
  id: string;
  status_id: number;
  days: (string | null)[];
}

/**
 * Writes a page of repair orders with all their children in the caller's transaction, set-based (one
 * statement per table): children that upstream no longer lists are removed, unchanged rows are not
 * rewritten. Answers how many rows were inserted, changed or removed, and calls `onChanged` with what moved.
 */
export async function writeRepairOrders(client: pg.ClientBase, shop: ShopRef, orders: readonly TmRepairOrder[], onChanged?: RepairOrdersChangedHook): Promise<{ written: number; removed: number }> {
  if (orders.length === 0) return { written: 0, removed: 0 };
  const rows = emptyRepairOrderRows();
  for (const order of orders) addRepairOrderRows(rows, shop, order);
  const ids = orders.map((o) => o.id);
  const prior = await client.query<PriorState>(
    `SELECT id::text, status_id, ARRAY[created_on::text, completed_date::text, posted_date::text] AS days FROM tm_repair_orders WHERE shop_id = $1 AND id = ANY($2::bigint[]) FOR UPDATE`,
    [shop.shopId, ids],
  );
  const priorById = new Map(prior.rows.map((row) => [Number(row.id), row]));

  const changed = new Set<number>();
  let removed = 0;
  const keep: Record<(typeof childTables)[number], number[]> = {
    tm_jobs: idsOf(rows.jobs),
    tm_job_parts: idsOf(rows.parts),
    tm_job_labor: idsOf(rows.labor),
    tm_sublets: idsOf(rows.sublets),
    tm_fees: idsOf(rows.fees),
    tm_discounts: idsOf(rows.discounts),
    tm_concerns: idsOf(rows.concerns),
  };
  // Only orders already held can have children to remove (a child's parent row exists while it does): a
  // backfill's pages, all new, skip these seven statements.
  const held = ids.filter((id) => priorById.has(id));
  for (const table of held.length > 0 ? childTables : []) {
    const gone = await client.query<{ repair_order_id: string }>(
      `DELETE FROM ${table} WHERE shop_id = $1 AND repair_order_id = ANY($2::bigint[]) AND NOT (id = ANY($3::bigint[])) RETURNING repair_order_id::text`,
      [shop.shopId, held, keep[table]],
    );
    removed += gone.rowCount ?? 0;
    for (const row of gone.rows) changed.add(Number(row.repair_order_id));
  }
  let written = 0;
  const write = async (spec: typeof repairOrderSpec, list: object[]) => {
    const result = await upsertRows<{ repair_order_id: string }>(client, spec, list);
    written += result.length;
    for (const row of result) changed.add(Number(row.repair_order_id));
  };
  await write(repairOrderSpec, rows.repairOrders);
  await write(jobSpec, rows.jobs);
  await write(partSpec, rows.parts);
  await write(laborSpec, rows.labor);
  await write(subletSpec, rows.sublets);
  await write(feeSpec, rows.fees);
  await write(discountSpec, rows.discounts);
  await write(concernSpec, rows.concerns);

  if (changed.size > 0 && onChanged) {
    const days = new Set<string>();
    const statusChanges: RepairOrdersChanged['statusChanges'] = [];
    for (const row of rows.repairOrders as { id: number; status_id: number; created_on: string | null; completed_date: string | null; posted_date: string | null }[]) {
      if (!changed.has(row.id)) continue;
      const before = priorById.get(row.id);
      for (const day of [row.created_on, row.completed_date, row.posted_date, ...(before?.days ?? [])]) if (day) days.add(day);
      if (!before || before.status_id !== row.status_id) statusChanges.push({ repairOrderId: row.id, from: before?.status_id ?? null, to: row.status_id });
    }
    await onChanged(client, { shop, repairOrderIds: [...changed], days: [...days].sort(), statusChanges });
  }
  return { written, removed };
}

const idsOf = (list: object[]): number[] => list.map((row) => (row as { id: number }).id);

/**
 * Analyzes tm_repair_orders and tm_jobs when their statistics are missing or cover under a quarter of their
 * rows. Each child row's foreign-key check runs a plan its connection caches on first use; made while a
 * backfill's parents had no statistics, it went through another (shop_id, …) index and read all of the shop's
 * repair orders or jobs per row (17 million index entries for a 1,500-order backfill, growing quadratic).
 * An ANALYZE drops those cached plans, and with statistics the new ones take the primary key. Outside the
 * page's transaction: the lock ANALYZE takes is not held through the page's writes.
 */
export async function analyzeStaleParents(client: pg.Pool): Promise<void> {
  const { rows } = await client.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_class c JOIN pg_stat_user_tables s ON s.relid = c.oid
     WHERE c.oid IN ('tm_repair_orders'::regclass, 'tm_jobs'::regclass) AND (c.reltuples < 0 OR c.reltuples * 4 < s.n_live_tup)`,
  );
  if (rows.length > 0) await client.query(`ANALYZE ${rows.map((row) => row.name).join(', ')}`);
}

/**
 * Customers and vehicles the repair orders name that are not in the warehouse yet, fetched one by one
 * (`GET /customers/{id}`, `/vehicles/{id}`) and written, so a repair order never points at nobody because
 * its customer was created after the customers' pass. One that upstream no longer has (404) is skipped.
 * One look-up for both; a transaction only when something was fetched (usually nothing is missing).
 */
export async function fetchMissingReferences(pool: pg.Pool, api: TekmetricClient, shop: ShopRef, orders: readonly TmRepairOrder[]): Promise<{ customers: number; vehicles: number }> {
  const customerIds = [...new Set(orders.map((o) => o.customerId).filter((id): id is number => typeof id === 'number'))];
  const vehicleIds = [...new Set(orders.map((o) => o.vehicleId).filter((id): id is number => typeof id === 'number'))];
  if (customerIds.length === 0 && vehicleIds.length === 0) return { customers: 0, vehicles: 0 };
  const { rows } = await pool.query<{ customers: string[]; vehicles: string[] }>(
    `SELECT ARRAY(SELECT w.id::text FROM unnest($2::bigint[]) AS w(id) WHERE NOT EXISTS (SELECT 1 FROM tm_customers t WHERE t.shop_id = $1 AND t.id = w.id)) AS customers,
            ARRAY(SELECT w.id::text FROM unnest($3::bigint[]) AS w(id) WHERE NOT EXISTS (SELECT 1 FROM tm_vehicles t WHERE t.shop_id = $1 AND t.id = w.id)) AS vehicles`,
    [shop.shopId, customerIds, vehicleIds],
  );
  const missing = rows[0]!;
  if (missing.customers.length === 0 && missing.vehicles.length === 0) return { customers: 0, vehicles: 0 };
  const fetchAll = async <T>(ids: string[], fetch: (id: string) => Promise<T>): Promise<T[]> => {
    const found: T[] = [];
    for (const id of ids) {
      try {
        found.push(await fetch(id));
      } catch (error) {
        if (error instanceof TekmetricError && error.failure === 'not_found') continue;
        throw error;
      }
    }
    return found;
  };
  const customers = await fetchAll(missing.customers, (id) => api.get(`/customers/${id}`, tmCustomer));
  const vehicles = await fetchAll(missing.vehicles, (id) => api.get(`/vehicles/${id}`, tmVehicle));
  await withTransaction(pool, async (client) => {
    await upsertRows(client, customerSpec, customers.map((c) => customerRow(shop, c)));
    await upsertRows(client, vehicleSpec, vehicles.map((v) => vehicleRow(shop, v)));
  });
  return { customers: customers.length, vehicles: vehicles.length };
}
