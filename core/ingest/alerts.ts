import type pg from 'pg';
import { z } from 'zod';
import { writeAudit } from '../auth/audit.js';
import { assertCan } from '../auth/permissions.js';
import { scopeIncludes } from '../auth/scope.js';
import type { Context } from '../context.js';
import { withTransaction } from '../db/index.js';
import { AppError, notFound } from '../errors.js';
import { notify } from '../notify/index.js';
import type { OpenedAlert } from './quality.js';

/** Critical alerts go to the webhooks subscribed to `ingest.alert.critical`, queued in the batch's transaction. */
export async function sendCriticalAlerts(client: pg.ClientBase, alerts: OpenedAlert[]): Promise<number> {
  let queued = 0;
  for (const alert of alerts.filter((a) => a.severity === 'critical')) {
    queued += await notify(client, {
      type: 'ingest.alert.critical',
      businessId: alert.business_id,
      payload: { alert_id: alert.id, rule: alert.rule, event_id: alert.event_id, store_id: alert.store_code, transaction_id: alert.transaction_id, message: alert.message },
    });
  }
  return queued;
}

export const alertIdInput = z.object({ alert_id: z.string().regex(/^\d{1,18}$/, 'must be an alert id (a number)') });

export interface AlertView {
  id: string;
  business_id: string;
  severity: string;
  rule: string;
  event_id: string | null;
  message: string;
  opened_at: Date;
  acknowledged_at: Date | null;
  acknowledged_by: string | null;
}

/**
 * A person has seen an alert: it leaves the open alerts (health dashboard, counts) and remembers who and when.
 * Audited. An alert of another business is "not found"; one acknowledged already is a conflict naming when.
 */
export async function acknowledgeAlert(ctx: Context, input: z.infer<typeof alertIdInput>): Promise<AlertView> {
  assertCan(ctx.user, 'dataQualityAlerts', 'edit');
  if (ctx.user.kind !== 'user') throw new AppError('forbidden', 'Alerts are acknowledged by a person.');
  const userId = ctx.user.id;
  return withTransaction(ctx.db.pool, async (client) => {
    const { rows } = await client.query<AlertView & { shop_id: string | null }>(
      `SELECT a.id::text, a.business_id, a.severity, a.rule, a.event_id::text, a.message, a.opened_at, a.acknowledged_at, a.acknowledged_by, e.shop_id
       FROM data_quality_alerts a LEFT JOIN ingest_events e ON e.id = a.event_id WHERE a.id = $1 FOR UPDATE OF a`,
      [input.alert_id],
    );
    const before = rows[0];
    if (!before || !scopeIncludes(ctx.scope, before.business_id, before.shop_id)) throw notFound(`Data-quality alert ${input.alert_id}`);
    if (before.acknowledged_at) throw new AppError('conflict', `Alert ${input.alert_id} was acknowledged already, at ${before.acknowledged_at.toISOString()}.`);
    const { rows: after } = await client.query<AlertView>(
      `UPDATE data_quality_alerts SET acknowledged_at = now(), acknowledged_by = $2 WHERE id = $1
       RETURNING id::text, business_id, severity, rule, event_id::text, message, opened_at, acknowledged_at, acknowledged_by`,
      [input.alert_id, userId],
    );
    await writeAudit(ctx, { resource: 'dataQualityAlerts', recordId: input.alert_id, action: 'acknowledge', businessId: before.business_id, before: { acknowledged_at: null }, after: { acknowledged_at: after[0]!.acknowledged_at, acknowledged_by: userId } }, client);
    return after[0]!;
  });
}
