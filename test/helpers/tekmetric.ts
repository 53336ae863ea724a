import { loadConfig } from '../../core/config.js';
import type { Context } from '../../core/context.js';
import type { FakeTekmetric } from '../../core/demo/fake-tekmetric/index.js';
import { createRecord } from '../../core/records/service.js';
import { forgetTekmetricTokens } from '../../core/tekmetric/client.js';
import { clientFor, ensureEnvironmentConnection, linkShops, type LinkedShop } from '../../core/tekmetric/connections.js';
import { executeSyncRun } from '../../core/tekmetric/sync/execute.js';
import { requestSyncRun } from '../../core/tekmetric/sync/runs.js';
import { refreshChangedViews } from '../../core/warehouse/views.js';
import { PASSWORD } from './app.js';

/**
 * Links every shop of the fake to `businessId`, syncs them all (metrics and snapshots with it) and
 * refreshes the warehouse views, as the product does after a sync. Answers the linked shops.
 */
export async function syncFakeIntoBusiness(system: Context, fake: FakeTekmetric, businessId: string, timezone = 'America/Chicago'): Promise<LinkedShop[]> {
  forgetTekmetricTokens();
  const config = loadConfig({ TEKMETRIC_BASE_URL: fake.url, TEKMETRIC_CLIENT_ID: fake.clientId, TEKMETRIC_CLIENT_SECRET: fake.clientSecret });
  const connection = await ensureEnvironmentConnection(system, config);
  if (!connection) throw new Error('the environment connection was not created');
  const linked = await linkShops(system, connection, clientFor(system, connection, config), { businessId, timezone });
  const run = await requestSyncRun(system, null, { kind: 'incremental', trigger: 'cli' });
  await executeSyncRun(system, config, run.id);
  await refreshChangedViews(system);
  return linked;
}

/** A manager of `businessId` assigned to the given shops of ours only. */
export async function managerOfShops(system: Context, email: string, businessId: string, shopIds: string[]): Promise<{ id: string; email: string }> {
  const user = await createRecord(system, 'users', { email, role: 'manager', businessId, shopIds, password: PASSWORD });
  return { id: user.id as string, email };
}
