import { writeAudit } from '../auth/audit.js';
import { assertCan } from '../auth/permissions.js';
import type { Context } from '../context.js';
import { AppError, notFound } from '../errors.js';
import { createIngestKey, resolveBusiness } from './keys.js';
import type { TransactionPayload } from './payload.js';
import { simulatorCatalog, simulatorStores, TrafficModel, type SimulatedStore } from './traffic.js';

/**
 * The traffic simulator: the traffic model's transactions sent through the real HTTP endpoint, one request
 * per transaction as a till sends them, each store with its own key, with a few duplicates (a till that
 * did not hear the answer) and late events (a till that was offline), all marked `simulated`.
 */

export interface SimulationProgress {
  sent: number;
  accepted: number;
  duplicates: number;
  refused: number;
  failed: number;
  /** Requests answered 429 and sent again after Retry-After. */
  throttled: number;
  elapsedSeconds: number;
  /** The model's rate now (transactions per second). */
  ratePerSecond: number;
}

export interface SimulationOptions {
  /** Where Backhouse listens: http://host:port. */
  baseUrl: string;
  /** Each store's ingest API key, by store code. */
  keys: Map<string, string>;
  stores: SimulatedStore[];
  minutes: number;
  /** Transactions per second over all stores, on average over a day: rushes send more, nights fewer. */
  ratePerSecond: number;
  seed?: number;
  utcOffsetHours?: number;
  /** Share of transactions sent twice (default 2%) and sent late, with an earlier ts (default 2%). */
  duplicateShare?: number;
  lateShare?: number;
  /** Requests in flight at most. */
  concurrency?: number;
  signal?: AbortSignal;
  onProgress?: (progress: SimulationProgress) => void | Promise<void>;
}

const TICK_MS = 100;

/** Sends simulated traffic until `minutes` have passed or `signal` aborts; answers what happened. */
export async function runSimulation(options: SimulationOptions): Promise<SimulationProgress> {
  const model = new TrafficModel({ stores: options.stores, seed: options.seed, utcOffsetHours: options.utcOffsetHours });
  const progress: SimulationProgress = { sent: 0, accepted: 0, duplicates: 0, refused: 0, failed: 0, throttled: 0, elapsedSeconds: 0, ratePerSecond: 0 };
  const started = Date.now();
  const endsAt = started + options.minutes * 60_000;
  const concurrency = options.concurrency ?? 32;
  const inFlight = new Set<Promise<void>>();
  const recent: TransactionPayload[] = [];
  const late: { at: number; payload: TransactionPayload }[] = [];
  let owed = 0;
  let lastReport = 0;

  const send = async (payload: TransactionPayload): Promise<void> => {
    const key = options.keys.get(payload.store_id);
    if (!key) throw new Error(`simulator: no key for store ${payload.store_id}`);
    for (let attempt = 0; attempt < 5; attempt += 1) {
      let response: Response;
      try {
        response = await fetch(`${options.baseUrl}/api/ingest/transactions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body: JSON.stringify(payload),
          signal: AbortSignal.timeout(30_000),
        });
      } catch {
        progress.failed += 1;
        return;
      }
      const answer = (await response.json().catch(() => null)) as { data?: { status?: string } } | null;
      if (response.status === 429) {
        progress.throttled += 1;
        await new Promise((resolve) => setTimeout(resolve, Number(response.headers.get('retry-after') ?? 1) * 1000));
        continue;
      }
      if (response.status === 202) {
        if (answer?.data?.status === 'duplicate') progress.duplicates += 1;
        else progress.accepted += 1;
      } else if (response.status >= 400 && response.status < 500) progress.refused += 1;
      else progress.failed += 1;
      return;
    }
    progress.failed += 1;
  };

  const dispatch = async (payload: TransactionPayload) => {
    while (inFlight.size >= concurrency) await Promise.race(inFlight);
    progress.sent += 1;
    const request = send(payload).finally(() => inFlight.delete(request));
    inFlight.add(request);
  };

  while (Date.now() < endsAt && !options.signal?.aborted) {
    const now = Date.now();
    progress.ratePerSecond = model.rateAt(new Date(now), options.ratePerSecond);
    owed += (progress.ratePerSecond * TICK_MS) / 1000;
    while (owed >= 1) {
      owed -= 1;
      const payload = model.transactionAt(new Date(now));
      if (model.chance() < (options.lateShare ?? 0.02)) {
        // Offline for a while: sent between 5 s and 2 min from now, with the time it happened.
        late.push({ at: now + 5_000 + model.chance() * 115_000, payload });
        continue;
      }
      await dispatch(payload);
      recent.push(payload);
      if (recent.length > 200) recent.shift();
      if (recent.length > 10 && model.chance() < (options.duplicateShare ?? 0.02)) await dispatch(recent[Math.floor(model.chance() * recent.length)]!);
    }
    for (let index = late.length - 1; index >= 0; index -= 1) {
      if (late[index]!.at <= now) await dispatch(late.splice(index, 1)[0]!.payload);
    }
    progress.elapsedSeconds = (Date.now() - started) / 1000;
    if (now - lastReport >= 1000) {
      lastReport = now;
      await options.onProgress?.({ ...progress });
    }
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, TICK_MS - (Date.now() - now))));
  }
  // Tills that were offline send what they held before the run ends.
  for (const held of late.splice(0)) await dispatch(held.payload);
  await Promise.all(inFlight);
  progress.elapsedSeconds = (Date.now() - started) / 1000;
  await options.onProgress?.({ ...progress });
  return progress;
}

/**
 * The business's side of a simulation: the simulator's products in its catalog (so that product linking
 * finds them), its stores (SIM-001 …) and one ingest key per store, made for this run.
 */
export async function prepareSimulation(ctx: Context, input: { businessId?: string; stores: number }): Promise<{ businessId: string; stores: SimulatedStore[]; keys: Map<string, string>; keyIds: string[] }> {
  assertCan(ctx.user, 'ingestSimulator', 'new');
  const business = await resolveBusiness(ctx, input.businessId);
  await ensureSimulatorCatalog(ctx, business.id);
  const stores = simulatorStores(input.stores);
  const keys = new Map<string, string>();
  const keyIds: string[] = [];
  for (const store of stores) {
    const made = await createIngestKey(ctx, { businessId: business.id, stores: [store.code], name: `simulator ${store.code} (${store.region})` });
    keys.set(store.code, made.key);
    keyIds.push(made.record.id);
  }
  return { businessId: business.id, stores, keys, keyIds };
}

/** The simulator's products in the business's catalog, added where missing (one statement). */
export async function ensureSimulatorCatalog(ctx: Context, businessId: string): Promise<void> {
  await ctx.db.pool.query(
    `INSERT INTO products (business_id, name, category, selling_price_cents, cost_price_cents)
     SELECT $1, name, category, price, (price * 0.6)::int FROM unnest($2::text[], $3::text[], $4::int[]) AS p(name, category, price)
     ON CONFLICT (business_id, name) DO NOTHING`,
    [businessId, simulatorCatalog.map((product) => product.name), simulatorCatalog.map((product) => product.category), simulatorCatalog.map((product) => product.priceCents)],
  );
}

/** Revokes the keys made for a run: a simulation's keys live as long as it does. */
export async function revokeSimulationKeys(ctx: Context, keyIds: string[]): Promise<void> {
  await ctx.db.pool.query('UPDATE ingest_api_keys SET revoked_at = now() WHERE id = ANY ($1::uuid[]) AND revoked_at IS NULL', [keyIds]);
}

export interface SimulationRow {
  id: string;
  businessId: string;
  stores: number;
  minutes: number;
  rate: number;
  status: string;
  startedAt: Date;
  heartbeatAt: Date;
  finishedAt: Date | null;
  sent: number;
  accepted: number;
  duplicates: number;
  refused: number;
  failed: number;
  error: string | null;
}

const simulationColumns = `id, business_id AS "businessId", stores, minutes, rate, status, started_at AS "startedAt", heartbeat_at AS "heartbeatAt", finished_at AS "finishedAt", sent, accepted, duplicates, refused, failed, error`;

/** Where this process serves HTTP, for simulations started from its admin (set by app/runtime.ts once listening). */
let servedAt: string | null = null;
export function setOwnBaseUrl(url: string): void {
  servedAt = url.replace('//localhost:', '//127.0.0.1:');
}
export const ownBaseUrl = (): string | null => servedAt;

export const simulationLimits = { maxStores: 200, maxMinutes: 24 * 60, maxRate: 2000 };

/**
 * Starts a simulation run in this process, sending to `baseUrl`: answers at once with the run's row (which
 * the run updates every second) and the run itself, which ends with its totals. Any process may stop it
 * (stopSimulation). The admin leaves the run to go on; the command line waits for it.
 */
export async function startSimulation(
  ctx: Context,
  input: { businessId?: string; stores: number; minutes: number; rate: number; baseUrl: string; onProgress?: (progress: SimulationProgress) => void },
): Promise<{ run: SimulationRow; done: Promise<SimulationProgress | null> }> {
  assertCan(ctx.user, 'ingestSimulator', 'new');
  if (!(input.stores >= 1 && input.stores <= simulationLimits.maxStores) || !(input.minutes > 0 && input.minutes <= simulationLimits.maxMinutes) || !(input.rate > 0 && input.rate <= simulationLimits.maxRate)) {
    throw new AppError('bad_request', `A simulation has 1 to ${simulationLimits.maxStores} stores, more than 0 and up to ${simulationLimits.maxMinutes} minutes and a rate above 0 and at most ${simulationLimits.maxRate} transactions a second.`);
  }
  const prepared = await prepareSimulation(ctx, { businessId: input.businessId, stores: input.stores });
  const business = await ctx.db.prisma.business.findUniqueOrThrow({ where: { id: prepared.businessId }, select: { timezone: true } });
  const { rows } = await ctx.db.pool.query<SimulationRow>(
    `INSERT INTO ingest_simulations (business_id, stores, minutes, rate, started_by) VALUES ($1, $2, $3, $4, $5) RETURNING ${simulationColumns}`,
    [prepared.businessId, input.stores, input.minutes, input.rate, ctx.user.kind === 'user' ? ctx.user.id : null],
  );
  const run = rows[0]!;
  await writeAudit(ctx, { resource: 'ingestSimulations', recordId: run.id, action: 'start', businessId: prepared.businessId, after: { stores: input.stores, minutes: input.minutes, rate: input.rate } });
  const controller = new AbortController();
  const record = async (progress: SimulationProgress) => {
    input.onProgress?.(progress);
    const { rows: state } = await ctx.db.pool.query<{ status: string }>(
      `UPDATE ingest_simulations SET heartbeat_at = now(), sent = $2, accepted = $3, duplicates = $4, refused = $5, failed = $6 WHERE id = $1 RETURNING status`,
      [run.id, progress.sent, progress.accepted, progress.duplicates, progress.refused, progress.failed],
    );
    if (state[0]?.status !== 'running') controller.abort();
  };
  const done = runSimulation({
    baseUrl: input.baseUrl,
    keys: prepared.keys,
    stores: prepared.stores,
    minutes: input.minutes,
    ratePerSecond: input.rate,
    utcOffsetHours: utcOffsetHours(business.timezone),
    signal: controller.signal,
    onProgress: (progress) => record(progress).catch((error) => ctx.log.warn({ err: error }, 'simulator: progress not recorded')),
  })
    .then(
      async (progress) => {
        await finishRun(ctx, run.id, controller.signal.aborted ? 'stopped' : 'finished', progress, null);
        return progress;
      },
      async (error: unknown) => {
        await finishRun(ctx, run.id, 'failed', null, error instanceof Error ? error.message : String(error));
        return null;
      },
    )
    .finally(() => revokeSimulationKeys(ctx, prepared.keyIds));
  return { run, done };
}

/** How many hours `timeZone` is ahead of UTC now (the stores' rushes follow their local time). */
export function utcOffsetHours(timeZone: string, at = new Date()): number {
  try {
    const local = new Date(at.toLocaleString('en-US', { timeZone }));
    const utc = new Date(at.toLocaleString('en-US', { timeZone: 'UTC' }));
    return (local.getTime() - utc.getTime()) / 3_600_000;
  } catch {
    return 0;
  }
}

async function finishRun(ctx: Context, id: string, status: 'finished' | 'stopped' | 'failed', progress: SimulationProgress | null, error: string | null): Promise<void> {
  await ctx.db.pool.query(
    `UPDATE ingest_simulations SET status = $2, finished_at = now(), heartbeat_at = now(), error = $3,
            sent = coalesce($4, sent), accepted = coalesce($5, accepted), duplicates = coalesce($6, duplicates), refused = coalesce($7, refused), failed = coalesce($8, failed)
      WHERE id = $1`,
    [id, status, error, progress?.sent ?? null, progress?.accepted ?? null, progress?.duplicates ?? null, progress?.refused ?? null, progress?.failed ?? null],
  );
  ctx.log.info({ simulation: id, status, ...progress }, 'simulator: run ended');
}

/** Asks a running simulation to stop; the process running it ends it within a second or so. */
export async function stopSimulation(ctx: Context, id: string): Promise<SimulationRow> {
  assertCan(ctx.user, 'ingestSimulator', 'delete');
  const { rows } = await ctx.db.pool.query<SimulationRow>(
    // A run whose process died (no heartbeat for a minute) is closed here instead of waiting for nobody.
    `UPDATE ingest_simulations SET status = CASE WHEN heartbeat_at < now() - interval '1 minute' THEN 'stopped' ELSE 'stopping' END,
            finished_at = CASE WHEN heartbeat_at < now() - interval '1 minute' THEN now() END
      WHERE id = $1 AND status = 'running' RETURNING ${simulationColumns}`,
    [id],
  );
  if (!rows[0]) {
    const existing = await ctx.db.pool.query<SimulationRow>(`SELECT ${simulationColumns} FROM ingest_simulations WHERE id = $1`, [id]);
    if (!existing.rows[0]) throw notFound(`The simulation ${id}`);
    return existing.rows[0];
  }
  await writeAudit(ctx, { resource: 'ingestSimulations', recordId: id, action: 'stop', businessId: rows[0].businessId });
  return rows[0];
}

/** The latest simulation runs. */
export async function listSimulations(ctx: Context, limit = 20): Promise<SimulationRow[]> {
  assertCan(ctx.user, 'ingestSimulator', 'view');
  return (await ctx.db.pool.query<SimulationRow>(`SELECT ${simulationColumns} FROM ingest_simulations ORDER BY started_at DESC LIMIT $1`, [limit])).rows;
}
