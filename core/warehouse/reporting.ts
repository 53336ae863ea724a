import type pg from 'pg';
import { withTransaction } from '../db/index.js';

/**
 * Whose rows a reporting read sees: a business (none set: no rows at all), within it a manager's team, and
 * whether personal data (customers' names and email addresses) is shown or pseudonymised (the default).
 */
export interface ReaderScope {
  businessId?: string;
  managerId?: string | null;
  /**
   * The shops a reader is limited to (null: every shop of the business; empty: none): views of shop-level rows
   * (gold aggregates, stock) and the Tekmetric tables' row-level security keep to them.
   */
  shopIds?: string[] | null;
  showsPersonalData?: boolean;
}

/**
 * Runs `read` in a read-only transaction as the role `backhouse_reporting`, with the reader's business and
 * team (and whether personal data shows) set for the row-level security of the canonical tables and the filters of `reporting.*` views.
 * The settings are transaction-local, so a pooled connection carries nothing to its next user.
 */
export function readAsReporter<T>(pool: pg.Pool, scope: ReaderScope, read: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  return withTransaction(
    pool,
    async (client) => {
      await client.query('SET LOCAL ROLE backhouse_reporting');
      if (scope.businessId) await client.query(`SELECT set_config('backhouse.business_id', $1, true)`, [scope.businessId]);
      if (scope.managerId) await client.query(`SELECT set_config('backhouse.manager_id', $1, true)`, [scope.managerId]);
      if (scope.shopIds) await client.query(`SELECT set_config('backhouse.shop_ids', $1, true)`, [`{${scope.shopIds.join(',')}}`]);
      if (scope.showsPersonalData) await client.query(`SELECT set_config('backhouse.personal_data', 'shown', true)`);
      return read(client);
    },
    'BEGIN READ ONLY',
  );
}
