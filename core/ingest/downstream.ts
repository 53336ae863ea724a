import type pg from 'pg';

/**
 * CALL SITES of the two systems silver hands its changes to, built on other branches (CONTRACTS.md):
 *  - gold: ingest-gold's `foldTransactionsIntoGold(client, transactionPks, sign)` in core/ingest/gold.ts
 *    (commit `gold fold:`), called with -1 before a transaction is replaced or re-linked and +1 after;
 *  - webhooks: `notify(client, event)` in core/notify (files branch, commit `notify:`).
 * Until those commits are merged here there is no gold and no webhook to hand anything to; merging them
 * replaces these two functions with the real imports (nothing else in silver changes).
 */
export async function foldTransactionsIntoGold(_client: pg.ClientBase, _transactionPks: string[], _sign: 1 | -1): Promise<void> {}

export interface NotificationEvent {
  type: string;
  businessId: string | null;
  payload: Record<string, unknown>;
}

export async function notify(_client: pg.ClientBase, _event: NotificationEvent): Promise<number> {
  return 0;
}
