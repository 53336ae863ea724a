import type pg from 'pg';

/**
 * The data-quality rules checked at ingestion. A broken rule opens an alert (data_quality_alerts, one per event
 * and rule) and drops nothing: the transaction still goes to silver, flagged, except for `unknown_store` and
 * `malformed_event`, whose events cannot be moved and are failed (kept in bronze, retryable).
 *   critical: the numbers are wrong for reporting (negative amounts, lines that do not make the total), or
 *             the event is stuck; critical alerts are also sent to webhooks (`ingest.alert.critical`).
 *   warning:  plausible but unusual (a very large transaction, a timestamp in the future).
 */
export const qualityRules = {
  negative_amount: 'critical',
  line_items_total_mismatch: 'critical',
  over_threshold: 'warning',
  future_timestamp: 'warning',
  unknown_store: 'critical',
  malformed_event: 'critical',
} as const;
export type QualityRule = keyof typeof qualityRules;
export type Severity = 'info' | 'warning' | 'critical';

export interface QualityDefaults {
  /** Above this a transaction is flagged, unless its business set its own (ingest_quality_settings). */
  maxTransactionCents: number;
  /** How far past the time of processing a transaction's timestamp may be. */
  futureToleranceSeconds: number;
}

export interface OpenedAlert {
  id: string;
  business_id: string;
  severity: Severity;
  rule: QualityRule;
  event_id: string;
  store_code: string | null;
  transaction_id: string | null;
  message: string;
}

const alertColumns = 'id::text, business_id, severity, rule, event_id::text, store_code, transaction_id, message';

/**
 * The events (already checked well-formed and with a known store) that break a rule: one alert each, in one
 * INSERT … SELECT over their payloads. Amounts are compared in cents, rounded as silver stores them.
 */
export async function openQualityAlerts(client: pg.ClientBase, eventIds: string[], defaults: QualityDefaults): Promise<OpenedAlert[]> {
  const { rows } = await client.query<OpenedAlert>(
    `WITH parsed AS (
       SELECT e.id, e.business_id, e.store_code, e.transaction_id, b.currency,
              (e.payload->>'ts')::timestamptz AS occurred_at,
              round((e.payload->>'total_amount')::numeric * 100)::bigint AS total_cents,
              lines.cents AS lines_cents, lines.negative,
              COALESCE(q.max_transaction_cents, $2) AS max_cents,
              COALESCE(q.future_tolerance_seconds, $3) AS tolerance_seconds
       FROM ingest_events e
       JOIN businesses b ON b.id = e.business_id
       LEFT JOIN ingest_quality_settings q ON q.business_id = e.business_id
       CROSS JOIN LATERAL (
         SELECT COALESCE(sum(round(COALESCE((i->>'line_amount')::numeric, (i->>'qty')::numeric * (i->>'unit_price')::numeric) * 100)), 0)::bigint AS cents,
                count(*) FILTER (WHERE (i->>'qty')::numeric < 0 OR (i->>'unit_price')::numeric < 0 OR (i->>'line_amount')::numeric < 0) AS negative
         FROM jsonb_array_elements(e.payload->'items') AS i
       ) lines
       WHERE e.id = ANY($1::bigint[])
     )
     INSERT INTO data_quality_alerts (business_id, severity, rule, event_id, store_code, transaction_id, message)
     SELECT p.business_id, r.severity, r.rule, p.id, p.store_code, p.transaction_id, r.message
     FROM parsed p
     CROSS JOIN LATERAL (VALUES
       ('negative_amount', 'critical',
        CASE WHEN p.total_cents < 0 OR p.negative > 0 THEN
          format('Transaction %s of store %s has %s: amounts and quantities must not be negative (refunds are sent as their own transactions).',
                 p.transaction_id, p.store_code,
                 CASE WHEN p.total_cents < 0 THEN format('a negative total (%s %s)', p.currency, to_char(p.total_cents / 100.0, 'FM999999999990.00')) ELSE format('%s line(s) with a negative quantity, price or amount', p.negative) END)
        END),
       ('line_items_total_mismatch', 'critical',
        CASE WHEN abs(p.lines_cents - p.total_cents) > abs(p.total_cents) * 0.01 THEN
          format('Transaction %s of store %s: its lines add up to %s %s but its total_amount is %s %s (more than 1%% apart). Check the device''s rounding or missing lines.',
                 p.transaction_id, p.store_code, p.currency, to_char(p.lines_cents / 100.0, 'FM999999999990.00'), p.currency, to_char(p.total_cents / 100.0, 'FM999999999990.00'))
        END),
       ('over_threshold', 'warning',
        CASE WHEN p.total_cents > p.max_cents THEN
          format('Transaction %s of store %s totals %s %s, above the threshold of %s %s: check that it is real.',
                 p.transaction_id, p.store_code, p.currency, to_char(p.total_cents / 100.0, 'FM999999999990.00'), p.currency, to_char(p.max_cents / 100.0, 'FM999999999990.00'))
        END),
       ('future_timestamp', 'warning',
        CASE WHEN p.occurred_at > now() + make_interval(secs => p.tolerance_seconds) THEN
          format('Transaction %s of store %s is dated %s, in the future (more than %s s after it was processed): check the device''s clock.',
                 p.transaction_id, p.store_code, to_char(p.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), p.tolerance_seconds)
        END)
     ) AS r(rule, severity, message)
     WHERE r.message IS NOT NULL
     ON CONFLICT (event_id, rule) DO NOTHING
     RETURNING ${alertColumns}`,
    [eventIds, defaults.maxTransactionCents, defaults.futureToleranceSeconds],
  );
  return rows;
}

/** One alert per failed event (unknown store or malformed payload), with the reason the event was failed. */
export async function openFailureAlerts(client: pg.ClientBase, failures: { id: string; rule: 'unknown_store' | 'malformed_event'; error: string }[]): Promise<OpenedAlert[]> {
  if (failures.length === 0) return [];
  const { rows } = await client.query<OpenedAlert>(
    `INSERT INTO data_quality_alerts (business_id, severity, rule, event_id, store_code, transaction_id, message)
     SELECT e.business_id, 'critical', f.rule, e.id, e.store_code, e.transaction_id, f.error
     FROM unnest($1::bigint[], $2::text[], $3::text[]) AS f(id, rule, error) JOIN ingest_events e ON e.id = f.id
     ON CONFLICT (event_id, rule) DO NOTHING
     RETURNING ${alertColumns}`,
    [failures.map((f) => f.id), failures.map((f) => f.rule), failures.map((f) => f.error)],
  );
  return rows;
}
