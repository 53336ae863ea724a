import { generatePassword } from '../auth/passwords.js';
import type { Context } from '../context.js';
import { sqlOf } from '../db/index.js';
import { AppError } from '../errors.js';
import type { JobQueue } from '../queue.js';
import { sealSecret } from '../sealedSecrets.js';
import { clientFor, linkShops, type TekmetricConnectionRow } from '../tekmetric/connections.js';
import { createRecord } from '../records/service.js';
import { requestSyncRun } from '../tekmetric/sync/runs.js';
import type { CreatedLogin } from './seed.js';
import { startFakeTekmetric } from './fake-tekmetric/index.js';

const DEMO_CLIENT_ID = 'backhouse-demo';
const DEMO_CLIENT_SECRET = 'backhouse-demo-secret';
export const DEMO_SHOP_MANAGER_EMAIL = 'shop.manager@demo.backhouse.local';

/**
 * Demo mode's Tekmetric: with no Tekmetric account configured, the fake Tekmetric server runs inside the
 * process that runs the workers (its data generated from a fixed seed, a shop of 300 repair orders over 90
 * days), as a stored connection like any other (its address is refreshed at each start: the port changes), and
 * the shop is synced at once, then every 15 minutes by the schedule. Answers how to stop the fake, and the
 * login created for the shop's manager on the first start.
 *
 * The shop is linked to a business of its own (named after it, in its time zone), not to the demo bakery:
 * money is shown in a business's currency and never converted, and the bakery's is GBP while Tekmetric's
 * amounts are dollars; a bakery's manager is not an auto shop's either. So the shop gets its own demo manager
 * (DEMO_SHOP_MANAGER_EMAIL), who opens the Shop dashboard on that business.
 */
export async function startDemoTekmetric(ctx: Context, queue: Pick<JobQueue, 'send'>): Promise<{ url: string; logins: CreatedLogin[]; close(): Promise<void> }> {
  const fake = await startFakeTekmetric({ seed: 2026, shops: 1, repairOrdersPerShop: 300, days: 90, clientId: DEMO_CLIENT_ID, clientSecret: DEMO_CLIENT_SECRET });
  try {
    const sealed = sealSecret(DEMO_CLIENT_SECRET);
    const query = sqlOf(ctx.db.pool);
    const columns = `id, name, base_url AS "baseUrl", client_id AS "clientId", client_secret_sealed AS "clientSecretSealed", from_environment AS "fromEnvironment", requests_per_minute AS "requestsPerMinute", sync_interval_minutes AS "syncIntervalMinutes", enabled`;
    const [existing] = await query<TekmetricConnectionRow>(`UPDATE tekmetric_connections SET base_url = $1, client_secret_sealed = $2, updated_at = now() WHERE client_id = $3 RETURNING ${columns}`, [fake.url, sealed, DEMO_CLIENT_ID]);
    const connection =
      existing ??
      (await query<TekmetricConnectionRow>(`INSERT INTO tekmetric_connections (name, base_url, client_id, client_secret_sealed) VALUES ('Demo Tekmetric (built-in fake)', $1, $2, $3) RETURNING ${columns}`, [fake.url, DEMO_CLIENT_ID, sealed]))[0]!;
    const shops = await linkShops(ctx, connection, clientFor(ctx, connection, {}), { timezone: fake.shops[0]!.timeZone });
    for (const shop of shops) {
      const [synced] = await query<{ n: string }>(`SELECT count(*) AS n FROM tm_sync_runs WHERE shop_id = $1`, [shop.shopId]);
      if (Number(synced!.n) > 0) continue;
      await requestSyncRun(ctx, queue, { kind: 'incremental', shopId: shop.shopId, trigger: 'demo' }).catch((error: unknown) => {
        if (!(error instanceof AppError && error.code === 'conflict')) throw error;
      });
    }
    const logins: CreatedLogin[] = [];
    const [first] = shops;
    if (first && !(await ctx.db.prisma.user.findUnique({ where: { email: DEMO_SHOP_MANAGER_EMAIL } }))) {
      const password = generatePassword();
      await createRecord(ctx, 'users', { email: DEMO_SHOP_MANAGER_EMAIL, name: 'Sam Shop Manager', role: 'manager', businessId: first.businessId, shopIds: [first.backhouseShopId], password });
      logins.push({ email: DEMO_SHOP_MANAGER_EMAIL, role: 'manager', generatedPassword: password });
    }
    ctx.log.info({ url: fake.url, shops: shops.map((s) => s.shopId) }, 'demo Tekmetric (fake server) started and its shop queued for syncing');
    return { url: fake.url, logins, close: () => fake.close() };
  } catch (error) {
    await fake.close();
    throw error;
  }
}
