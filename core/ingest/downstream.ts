import type pg from 'pg';

/**
 * CALL SITE of webhooks: `notify(client, event)` in core/notify (files branch, commit `notify:`, CONTRACTS.md),
 * which queues one delivery per webhook subscribed to the event in the caller's transaction. Until that commit
 * is merged here there is no webhook to hand a critical alert to; merging it replaces this function with the
 * real import (nothing else in silver changes).
 */
export interface NotificationEvent {
  type: string;
  businessId: string | null;
  payload: Record<string, unknown>;
}

export async function notify(_client: pg.ClientBase, _event: NotificationEvent): Promise<number> {
  return 0;
}
