import { writeAudit } from '../auth/audit.js';
import type { Context } from '../context.js';
import { ingestTransactions } from './bronze.js';
import { authenticateIngestKey, createIngestKey, revokeIngestKey } from './keys.js';
import { ensureSimulatorCatalog } from './simulator.js';
import { simulatorStores, TrafficModel } from './traffic.js';

/** The demo's retail business, whose stores send the simulated point-of-sale traffic. */
export const DEMO_RETAIL_BUSINESS_ID = '0b5e0000-0000-4000-8000-000000000017';
const DEMO_DAYS = 3;
const DEMO_STORES = 6;
/** Transactions per second over all stores, on average over a day: about 5,000 a day. */
const DEMO_RATE = 0.06;

/**
 * A few days of simulated point-of-sale history for the demo (back-dated `ts` and received-at), stored
 * through the same bronze insert as the API's (ingestTransactions), with the traffic model's rushes,
 * segments and regions, a few duplicates and late events, so the silver and gold screens show something
 * on first start. Does nothing when the demo retail business exists already. Answers the events stored.
 */
export async function seedDemoIngestHistory(ctx: Context, now = new Date()): Promise<number | null> {
  if (await ctx.db.prisma.business.findUnique({ where: { id: DEMO_RETAIL_BUSINESS_ID } })) return null;
  const business = await ctx.db.prisma.business.create({ data: { id: DEMO_RETAIL_BUSINESS_ID, name: 'Corner Market (demo, simulated tills)', timezone: 'Europe/London', currency: 'GBP' } });
  await writeAudit(ctx, { resource: 'businesses', recordId: business.id, action: 'create', businessId: business.id, after: business });
  await ensureSimulatorCatalog(ctx, business.id);
  const stores = simulatorStores(DEMO_STORES);
  const made = await createIngestKey(ctx, { businessId: business.id, stores: stores.map((store) => store.code), name: 'demo history (revoked once written)' });
  const grant = (await authenticateIngestKey(async (sql, params) => (await ctx.db.pool.query(sql, params)).rows, made.key))!;
  const model = new TrafficModel({ stores, seed: 17 });
  const to = new Date(Math.floor(now.getTime() / 60_000) * 60_000);
  const from = new Date(to.getTime() - DEMO_DAYS * 86_400_000);
  // Most tills answer within seconds; a late one (offline) sends up to three hours later.
  const receivedAt = new Map<string, Date>();
  let batch: unknown[] = [];
  let stored = 0;
  const flush = async () => {
    const outcomes = await ingestTransactions(ctx, grant, batch, { receivedAt: (payload) => receivedAt.get(payload.transaction_id) ?? new Date(payload.ts) });
    stored += outcomes.filter((outcome) => outcome.status === 'accepted').length;
    batch = [];
  };
  for (const payload of model.between(from, to, DEMO_RATE)) {
    const ts = new Date(payload.ts).getTime();
    const delay = model.chance() < 0.02 ? 60_000 + model.chance() * 3 * 3_600_000 : 500 + model.chance() * 3_000;
    receivedAt.set(payload.transaction_id, new Date(Math.min(ts + delay, to.getTime())));
    batch.push(payload);
    // A till that did not hear the answer sends the same transaction again: stored once.
    if (model.chance() < 0.01) batch.push(payload);
    if (batch.length >= 1000) await flush();
  }
  if (batch.length > 0) await flush();
  await revokeIngestKey(ctx, made.record.id);
  return stored;
}
