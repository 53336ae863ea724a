import type pg from 'pg';
import type { z } from 'zod';
import { withTransaction } from '../../db/index.js';
import { AppError } from '../../errors.js';
import { springPage, tmAppointment, tmCustomer, tmEmployee, tmRepairOrder, tmVehicle } from '../api-types.js';
import type { TekmetricClient } from '../client.js';
import { analyzeStaleParents, fetchMissingReferences, writeRepairOrders, type RepairOrdersChangedHook } from './repair-orders.js';
import { appointmentRow, appointmentSpec, customerRow, customerSpec, employeeRow, employeeSpec, vehicleRow, vehicleSpec, type ShopRef } from './rows.js';
import { upsertRows } from './upsert.js';

export const syncEntities = ['employees', 'customers', 'vehicles', 'repair_orders', 'appointments'] as const;
export type SyncEntity = (typeof syncEntities)[number];

/** One list call of the API: an entity's active records, or its deleted ones (a separate call upstream). */
export type SyncStream = SyncEntity | 'customers_deleted' | 'vehicles_deleted' | 'repair_orders_deleted';

/** Everything a page writer needs besides the page. */
export interface PageDeps {
  api: TekmetricClient;
  shop: ShopRef;
  runId: string | null;
  storeRaw: boolean;
  onRepairOrdersChanged?: RepairOrdersChangedHook;
}

interface StreamDefinition<T> {
  entity: SyncEntity;
  path: string;
  item: z.ZodType<T>;
  deleted: boolean;
  /** When the record last changed, as the stream's filter reads it (updatedDate, or deletedDate for deleted streams). */
  changedAt(item: T): string | null | undefined;
  /** Fetches what the page needs from elsewhere before its transaction (outside it: HTTP calls). */
  prepare?(pool: pg.Pool, deps: PageDeps, items: T[]): Promise<void>;
  write(tx: pg.ClientBase, deps: PageDeps, items: T[]): Promise<{ written: number; removed: number }>;
}

const simple = <T>(spec: Parameters<typeof upsertRows>[1], row: (shop: ShopRef, item: T) => object) => async (tx: pg.ClientBase, deps: PageDeps, items: T[]) => ({
  written: (await upsertRows(tx, spec, items.map((item) => row(deps.shop, item)))).length,
  removed: 0,
});

const employees: StreamDefinition<z.infer<typeof tmEmployee>> = { entity: 'employees', path: '/employees', item: tmEmployee, deleted: false, changedAt: (e) => e.updatedDate, write: simple(employeeSpec, employeeRow) };
const customers = (deleted: boolean): StreamDefinition<z.infer<typeof tmCustomer>> => ({
  entity: 'customers',
  path: '/customers',
  item: tmCustomer,
  deleted,
  changedAt: (c) => (deleted ? c.deletedDate : c.updatedDate),
  write: simple(customerSpec, customerRow),
});
const vehicles = (deleted: boolean): StreamDefinition<z.infer<typeof tmVehicle>> => ({
  entity: 'vehicles',
  path: '/vehicles',
  item: tmVehicle,
  deleted,
  changedAt: (v) => (deleted ? v.deletedDate : v.updatedDate),
  write: simple(vehicleSpec, vehicleRow),
});
const repairOrders = (deleted: boolean): StreamDefinition<z.infer<typeof tmRepairOrder>> => ({
  entity: 'repair_orders',
  path: '/repair-orders',
  item: tmRepairOrder,
  deleted,
  changedAt: (r) => (deleted ? r.deletedDate : r.updatedDate),
  prepare: async (pool, deps, items) => {
    await analyzeStaleParents(pool);
    await fetchMissingReferences(pool, deps.api, deps.shop, items);
  },
  write: (tx, deps, items) => writeRepairOrders(tx, deps.shop, items, deps.onRepairOrdersChanged),
});
const appointments: StreamDefinition<z.infer<typeof tmAppointment>> = { entity: 'appointments', path: '/appointments', item: tmAppointment, deleted: false, changedAt: (a) => a.updatedDate, write: simple(appointmentSpec, appointmentRow) };

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const streams: Record<SyncStream, StreamDefinition<any>> = {
  employees,
  customers: customers(false),
  customers_deleted: customers(true),
  vehicles: vehicles(false),
  vehicles_deleted: vehicles(true),
  repair_orders: repairOrders(false),
  repair_orders_deleted: repairOrders(true),
  appointments,
};

/** The streams an entity is synced through: its active records, then (where the API has the filter) its deleted ones. */
export const streamsOf: Record<SyncEntity, SyncStream[]> = {
  employees: ['employees'],
  customers: ['customers', 'customers_deleted'],
  vehicles: ['vehicles', 'vehicles_deleted'],
  repair_orders: ['repair_orders', 'repair_orders_deleted'],
  appointments: ['appointments'],
};

/** Before the first cursor, the deleted streams ask for everything deleted since this instant. */
const BEGINNING = '2000-01-01T00:00:00Z';

export interface PageProgress {
  stream: SyncStream;
  page: number;
  totalPages: number;
  totalElements: number;
  fetched: number;
  written: number;
  removed: number;
}

export interface StreamResult {
  pages: number;
  fetched: number;
  written: number;
  removed: number;
}

type Params = Record<string, string | number | (string | number)[] | undefined>;

function queryOf(params: Params): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value === undefined) continue;
    for (const one of Array.isArray(value) ? value : [value]) search.append(name, String(one));
  }
  return search.toString();
}

const PAGE_SIZE = 100;

/**
 * How many pages are asked for beyond the one being written. Page n+1's request (its turn at the rate
 * limiter, the HTTP exchange, parsing) overlaps page n's transaction, so a sync under the plan's limit takes
 * the limiter's time rather than the limiter's plus the writer's; two pages let a slow page's write be made
 * up by quicker ones after it. Bounded: a failed or stopped sync leaves at most this many answers unread.
 */
const PAGES_AHEAD = 2;

interface FetchedPage<T> {
  items: T[];
  totalPages: number;
  totalElements: number;
  raw: unknown[];
}

async function fetchPage<T>(api: TekmetricClient, definition: StreamDefinition<T>, params: Params, page: number): Promise<FetchedPage<T>> {
  const path = `${definition.path}?${queryOf({ ...params, page, size: PAGE_SIZE })}`;
  const body = await api.get(path, springPage);
  const items = body.content.map((one) => {
    const parsed = definition.item.safeParse(one);
    if (parsed.success) return parsed.data;
    const id = one && typeof one === 'object' && 'id' in one ? String((one as { id: unknown }).id) : '?';
    throw new AppError('unavailable', `Tekmetric's ${definition.entity} ${id} from ${path} is not what the API documents: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}.`);
  });
  return { items, totalPages: body.totalPages, totalElements: body.totalElements, raw: body.content };
}

/**
 * Reads a stream's pages for a writer that takes them in order, asking for up to `PAGES_AHEAD` pages beyond
 * the one handed out (never past the last page, nor past `maxPages`). Reading ahead writes nothing: each page
 * is still written, and its cursor moved, in its own transaction after the pages before it. `restart`
 * forgets what was read ahead (the window is read again from its first page).
 */
function pageReader<T>(api: TekmetricClient, definition: StreamDefinition<T>, params: Params, maxPages = Infinity) {
  let ahead = new Map<number, Promise<FetchedPage<T>>>();
  const request = (page: number) => {
    const fetched = fetchPage(api, definition, params, page);
    // A page read ahead that the writer never takes (it failed first) must not be an unhandled rejection.
    fetched.catch(() => undefined);
    ahead.set(page, fetched);
    return fetched;
  };
  return {
    async read(page: number): Promise<FetchedPage<T>> {
      const fetched = await (ahead.get(page) ?? request(page));
      ahead.delete(page);
      const end = Math.min(fetched.totalPages, maxPages, page + 1 + PAGES_AHEAD);
      if (fetched.items.length > 0) for (let next = page + 1; next < end; next += 1) if (!ahead.has(next)) request(next);
      return fetched;
    },
    restart(): void {
      ahead = new Map();
    },
  };
}

async function storeRaw(tx: pg.ClientBase, deps: PageDeps, entity: SyncEntity, raw: unknown[]): Promise<void> {
  if (!deps.storeRaw || raw.length === 0) return;
  await tx.query(
    `INSERT INTO tm_raw_payloads (shop_id, business_id, run_id, entity, tekmetric_id, payload)
     SELECT $1, $2, $3, $4, (p->>'id')::bigint, p FROM jsonb_array_elements($5::jsonb) AS p`,
    [deps.shop.shopId, deps.shop.businessId, deps.runId, entity, JSON.stringify(raw)],
  );
}

interface CursorRow {
  updated_through: Date | null;
  window_start: Date | null;
  window_end: Date | null;
  next_page: number;
  window_total: number | null;
}

/** How far back each new window reaches before the cursor: records committed upstream late are not missed; re-read ones write nothing. */
export const CURSOR_OVERLAP_MS = 60_000;

/**
 * Syncs one stream of one shop incrementally from its cursor. A window starts at the cursor (less a
 * minute's overlap) and is read page by page; each page is written and the cursor moved past it in the
 * same transaction, so a crash resumes at the first page not committed: no gap, and no duplicate (rows
 * are keyed on Tekmetric ids anyway). When the window's size changes between pages (records left it
 * upstream, shifting the pages), it is read again from its first page rather than skipping a record.
 * When the last page is committed, the cursor becomes the latest change seen.
 */
export async function syncStreamIncrementally(pool: pg.Pool, deps: PageDeps, stream: SyncStream, onPage: (progress: PageProgress) => Promise<void>): Promise<StreamResult> {
  const definition = streams[stream];
  const { shop } = deps;
  await pool.query(`INSERT INTO tm_sync_cursors (shop_id, stream, business_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, [shop.shopId, stream, shop.businessId]);
  const [cursor] = (await pool.query<CursorRow>(`SELECT updated_through, window_start, window_end, next_page, window_total FROM tm_sync_cursors WHERE shop_id = $1 AND stream = $2`, [shop.shopId, stream])).rows;
  if (!cursor) throw new AppError('internal', `The cursor of ${stream} for shop ${shop.shopId} is missing.`);
  const open = cursor.window_start !== null || cursor.next_page > 0;
  const windowStart: string | null = open ? (cursor.window_start?.toISOString() ?? null) : cursor.updated_through ? new Date(cursor.updated_through.getTime() - CURSOR_OVERLAP_MS).toISOString() : null;
  if (!open) {
    await pool.query(`UPDATE tm_sync_cursors SET window_start = $3, window_end = NULL, window_opened_at = now(), next_page = 0, window_total = NULL, updated_at = now() WHERE shop_id = $1 AND stream = $2`, [shop.shopId, stream, windowStart]);
  }
  const from = windowStart ?? (definition.deleted ? BEGINNING : undefined);
  const params: Params = { shop: shop.shopId, [definition.deleted ? 'deletedDateStart' : 'updatedDateStart']: from };
  let page = open ? cursor.next_page : 0;
  let windowTotal = open ? cursor.window_total : null;
  let restarts = 0;
  const result: StreamResult = { pages: 0, fetched: 0, written: 0, removed: 0 };
  const reader = pageReader(deps.api, definition, params);
  for (;;) {
    const fetched = await reader.read(page);
    if (page > 0 && windowTotal !== null && fetched.totalElements !== windowTotal && restarts < 3) {
      // Records left (or joined) the window since its first page: the pages shifted. Read it again from the start.
      restarts += 1;
      page = 0;
      windowTotal = null;
      reader.restart();
      continue;
    }
    if (page === 0) windowTotal = fetched.totalElements;
    if (definition.prepare) await definition.prepare(pool, deps, fetched.items);
    const last = page + 1 >= fetched.totalPages || fetched.items.length === 0;
    const latest = fetched.items.reduce<string | null>((max, item) => {
      const at = definition.changedAt(item);
      return at && (!max || Date.parse(at) > Date.parse(max)) ? at : max;
    }, null);
    const outcome = await withTransaction(pool, async (tx) => {
      const written = await definition.write(tx, deps, fetched.items);
      await storeRaw(tx, deps, definition.entity, fetched.raw);
      if (last) {
        await tx.query(
          `UPDATE tm_sync_cursors SET updated_through = greatest(updated_through, least(greatest(window_end, $3::timestamptz), window_opened_at)), window_start = NULL, window_end = NULL, window_opened_at = NULL, next_page = 0, window_total = NULL,
             rows_synced = rows_synced + $4, last_run_id = $5, last_success_at = now(), last_error = NULL, updated_at = now() WHERE shop_id = $1 AND stream = $2`,
          [shop.shopId, stream, latest, written.written + written.removed, deps.runId],
        );
      } else {
        await tx.query(
          `UPDATE tm_sync_cursors SET window_end = greatest(window_end, $3::timestamptz), next_page = $4, window_total = $5, rows_synced = rows_synced + $6, last_run_id = $7, updated_at = now()
           WHERE shop_id = $1 AND stream = $2`,
          [shop.shopId, stream, latest, page + 1, windowTotal, written.written + written.removed, deps.runId],
        );
      }
      return written;
    });
    result.pages += 1;
    result.fetched += fetched.items.length;
    result.written += outcome.written;
    result.removed += outcome.removed;
    await onPage({ stream, page, totalPages: fetched.totalPages, totalElements: fetched.totalElements, fetched: fetched.items.length, written: outcome.written, removed: outcome.removed });
    if (last) return result;
    page += 1;
  }
}

export interface WindowOptions {
  /** Records changed since this instant (none: every record). */
  updatedSince?: string;
  /** Repair orders only: these statuses (the board). */
  statusIds?: number[];
  /** Stop after this many records. */
  limit?: number;
}

/**
 * Syncs one stream for a window asked for by a person (`days_back`, a board, a limit). A board or a limit
 * reads part of the changes and leaves the incremental cursor alone. A whole window ("Backfill N days") read to
 * its end moves the cursor forward only when it reached back to the cursor (see `advanceCursorPastWindow`).
 */
export async function syncStreamWindow(pool: pg.Pool, deps: PageDeps, stream: SyncStream, window: WindowOptions, onPage: (progress: PageProgress) => Promise<void>): Promise<StreamResult> {
  const definition = streams[stream];
  const whole = window.limit === undefined && !(window.statusIds?.length && definition.entity === 'repair_orders');
  const openedAt = (await pool.query<{ now: Date }>('SELECT now()')).rows[0]!.now;
  let latest: string | null = null;
  let totalElements: number | null = null;
  let shifted = false;
  const params: Params = {
    shop: deps.shop.shopId,
    [definition.deleted ? 'deletedDateStart' : 'updatedDateStart']: window.updatedSince ?? (definition.deleted ? BEGINNING : undefined),
    ...(window.statusIds?.length && definition.entity === 'repair_orders' ? { repairOrderStatusId: window.statusIds } : {}),
  };
  const result: StreamResult = { pages: 0, fetched: 0, written: 0, removed: 0 };
  const reader = pageReader(deps.api, definition, params, window.limit === undefined ? undefined : Math.ceil(window.limit / PAGE_SIZE));
  for (let page = 0; ; page += 1) {
    const fetched = await reader.read(page);
    const room = window.limit === undefined ? fetched.items.length : Math.max(0, window.limit - result.fetched);
    const items = fetched.items.slice(0, room);
    if (totalElements !== null && fetched.totalElements !== totalElements) shifted = true;
    totalElements = fetched.totalElements;
    for (const item of items) {
      const at = definition.changedAt(item);
      if (at && (!latest || Date.parse(at) > Date.parse(latest))) latest = at;
    }
    if (definition.prepare) await definition.prepare(pool, deps, items);
    const outcome = await withTransaction(pool, async (tx) => {
      const written = await definition.write(tx, deps, items);
      await storeRaw(tx, deps, definition.entity, fetched.raw.slice(0, room));
      return written;
    });
    result.pages += 1;
    result.fetched += items.length;
    result.written += outcome.written;
    result.removed += outcome.removed;
    await onPage({ stream, page, totalPages: fetched.totalPages, totalElements: fetched.totalElements, fetched: items.length, written: outcome.written, removed: outcome.removed });
    const limitReached = window.limit !== undefined && result.fetched >= window.limit;
    if (limitReached || page + 1 >= fetched.totalPages || fetched.items.length === 0) {
      // Pages that shifted under the read (records entering or leaving the window) may have hidden a record.
      if (whole && !shifted) await advanceCursorPastWindow(pool, deps, stream, window.updatedSince ?? null, openedAt, latest);
      return result;
    }
  }
}

/**
 * After a whole window was read, from `since` (null: from the beginning) to when it opened: the stream's
 * cursor may move to the latest change the window saw (never past the window's opening, by our clock), and
 * only forward. It moves only when the window reached back to the cursor, so that nothing between the cursor
 * and the window's start is skipped (a 3-day backfill of a shop last synced a week ago leaves the cursor, and
 * the next incremental run reads the week), and only when no incremental window is open (an interrupted run
 * resumes its own pages). A shop never synced incrementally gets a cursor only from a window from the beginning.
 */
async function advanceCursorPastWindow(pool: pg.Pool, deps: PageDeps, stream: SyncStream, since: string | null, openedAt: Date, latest: string | null): Promise<void> {
  if (!latest) return;
  const { shop } = deps;
  const through = `least($4::timestamptz, $5::timestamptz)`;
  const covers = `tm_sync_cursors.window_start IS NULL AND tm_sync_cursors.next_page = 0
    AND ($3::timestamptz IS NULL OR tm_sync_cursors.updated_through >= $3::timestamptz)`;
  const params = [shop.shopId, stream, since, latest, openedAt, deps.runId];
  if (since === null) {
    await pool.query(
      `INSERT INTO tm_sync_cursors (shop_id, stream, business_id, updated_through, last_run_id, last_success_at) VALUES ($1, $2, $7, ${through}, $6, now())
       ON CONFLICT (shop_id, stream) DO UPDATE SET updated_through = greatest(tm_sync_cursors.updated_through, EXCLUDED.updated_through), last_run_id = $6, last_success_at = now(), updated_at = now()
       WHERE ${covers}`,
      [...params, shop.businessId],
    );
  } else {
    await pool.query(`UPDATE tm_sync_cursors SET updated_through = greatest(updated_through, ${through}), last_run_id = $6, last_success_at = now(), updated_at = now() WHERE shop_id = $1 AND stream = $2 AND ${covers}`, params);
  }
}

/** One repair order by id (`GET /repair-orders/{id}`), with its references and children, in one transaction. */
export async function syncOneRepairOrder(pool: pg.Pool, deps: PageDeps, repairOrderId: number): Promise<StreamResult> {
  const order = await deps.api.get(`/repair-orders/${repairOrderId}`, tmRepairOrder);
  if (order.shopId !== deps.shop.shopId) throw new AppError('bad_request', `Repair order ${repairOrderId} belongs to shop ${order.shopId}, not ${deps.shop.shopId}.`);
  await fetchMissingReferences(pool, deps.api, deps.shop, [order]);
  const outcome = await withTransaction(pool, async (tx) => {
    const written = await writeRepairOrders(tx, deps.shop, [order], deps.onRepairOrdersChanged);
    await storeRaw(tx, deps, 'repair_orders', [order]);
    return written;
  });
  return { pages: 1, fetched: 1, written: outcome.written, removed: outcome.removed };
}
