import { z } from 'zod';
import { writeAudit } from '../auth/audit.js';
import { callerBusiness } from '../auth/business.js';
import { assertCan } from '../auth/permissions.js';
import type { Config } from '../config.js';
import type { Context } from '../context.js';
import { withTransaction } from '../db/index.js';
import { AppError } from '../errors.js';
import type { QualityDefaults } from './quality.js';

/** The product's defaults, for businesses that set none (INGEST_MAX_TRANSACTION_AMOUNT, INGEST_FUTURE_TOLERANCE_SECONDS). */
export const qualityDefaults = (config: Config): QualityDefaults => ({
  maxTransactionCents: Math.round(config.INGEST_MAX_TRANSACTION_AMOUNT * 100),
  futureToleranceSeconds: config.INGEST_FUTURE_TOLERANCE_SECONDS,
});

/** A week: a till's clock further ahead than that is broken, not early. */
export const MAX_FUTURE_TOLERANCE_SECONDS = 7 * 24 * 3600;
/** The largest threshold silver's bigint cents and the alert's formatting hold with room to spare. */
const MAX_THRESHOLD_AMOUNT = 1_000_000_000_000;

/** One business's data-quality settings as the form shows and saves them (amounts in the business's currency). */
export interface QualitySettings {
  business_id: string;
  business_name: string;
  currency: string;
  /** A transaction above this amount is flagged (warning `over_threshold`). */
  max_transaction_amount: string;
  /** How far after its processing a transaction's timestamp may be before it is flagged (`future_timestamp`). */
  future_tolerance_seconds: number;
  /** Gold dashboards leave out what the simulator sent. */
  exclude_simulated: boolean;
  /** False while the business uses the product's defaults (INGEST_MAX_TRANSACTION_AMOUNT, INGEST_FUTURE_TOLERANCE_SECONDS). */
  customised: boolean;
}

/** Text or a number, read with the field's own words for what is wrong (a union would only say "Invalid input"). */
const field = <T>(read: (text: string) => { value: T } | string) =>
  z.union([z.number(), z.string(), z.boolean()]).transform((value, ctx) => {
    const result = read(String(value).trim());
    if (typeof result === 'string') {
      ctx.addIssue({ code: 'custom', message: result });
      return z.NEVER;
    }
    return result.value;
  });

const amount = field((text) => {
  if (!/^\d+(\.\d{1,2})?$/.test(text)) return 'must be an amount such as 10000 or 2500.50, without currency sign or thousands separators';
  const value = Number(text);
  if (value <= 0) return 'must be more than 0';
  if (value > MAX_THRESHOLD_AMOUNT) return `must be at most ${MAX_THRESHOLD_AMOUNT.toLocaleString('en-GB')}`;
  return { value };
});
const seconds = field((text) => {
  if (!/^\d+$/.test(text)) return 'must be a whole number of seconds, 0 or more';
  const value = Number(text);
  if (value > MAX_FUTURE_TOLERANCE_SECONDS) return `must be at most ${MAX_FUTURE_TOLERANCE_SECONDS} (a week)`;
  return { value };
});
const flag = field((text) => (text === 'true' ? { value: true } : text === 'false' ? { value: false } : 'must be true or false'));

export const qualitySettingsInput = z.object({
  business_id: z.string().optional(),
  max_transaction_amount: amount,
  future_tolerance_seconds: seconds,
  exclude_simulated: flag,
});

const refusal = { refused: 'You can only change your own business’s quality settings.', missing: 'Say which business: business_id is required for admins.' };

async function readSettings(ctx: Context, businessId: string, defaults: QualityDefaults): Promise<QualitySettings> {
  const { rows } = await ctx.db.pool.query<{ name: string; currency: string; gold_excludes_simulated: boolean; max_transaction_cents: string | null; future_tolerance_seconds: number | null }>(
    `SELECT b.name, b.currency, b.gold_excludes_simulated, q.max_transaction_cents::text, q.future_tolerance_seconds
     FROM businesses b LEFT JOIN ingest_quality_settings q ON q.business_id = b.id WHERE b.id = $1`,
    [businessId],
  );
  const row = rows[0]!;
  const cents = row.max_transaction_cents === null ? defaults.maxTransactionCents : Number(row.max_transaction_cents);
  return {
    business_id: businessId,
    business_name: row.name,
    currency: row.currency,
    max_transaction_amount: (cents / 100).toFixed(2),
    future_tolerance_seconds: row.future_tolerance_seconds ?? defaults.futureToleranceSeconds,
    exclude_simulated: row.gold_excludes_simulated,
    customised: row.max_transaction_cents !== null,
  };
}

/** A business's quality settings: its own, or the product's defaults until it sets some. Admins only. */
export async function qualitySettingsOf(ctx: Context, input: { business_id?: string }, defaults: QualityDefaults): Promise<QualitySettings> {
  assertCan(ctx.user, 'ingestQualitySettings', 'show');
  const business = await callerBusiness(ctx, input.business_id, refusal);
  return readSettings(ctx, business.id, defaults);
}

/**
 * Saves a business's quality settings, read by the silver worker from its next batch on (rules in
 * ./quality.ts), and whether its gold dashboards leave simulated data out. One transaction, audited with
 * what was and what is.
 */
export async function updateQualitySettings(ctx: Context, input: z.input<typeof qualitySettingsInput>, defaults: QualityDefaults): Promise<QualitySettings> {
  assertCan(ctx.user, 'ingestQualitySettings', 'edit');
  const result = qualitySettingsInput.safeParse(input);
  if (!result.success) {
    const details = result.error.issues.map((issue) => ({ field: issue.path.join('.'), reason: issue.message }));
    throw new AppError('validation_failed', `The quality settings were not saved: ${details.map((d) => `${d.field} ${d.reason}`).join('; ')}. Correct them and save again.`, details);
  }
  const parsed = result.data;
  const business = await callerBusiness(ctx, parsed.business_id, refusal);
  const before = await readSettings(ctx, business.id, defaults);
  await withTransaction(ctx.db.pool, async (client) => {
    await client.query(
      `INSERT INTO ingest_quality_settings (business_id, max_transaction_cents, future_tolerance_seconds) VALUES ($1, $2, $3)
       ON CONFLICT (business_id) DO UPDATE SET max_transaction_cents = EXCLUDED.max_transaction_cents, future_tolerance_seconds = EXCLUDED.future_tolerance_seconds, updated_at = now()`,
      [business.id, Math.round(parsed.max_transaction_amount * 100), parsed.future_tolerance_seconds],
    );
    await client.query('UPDATE businesses SET gold_excludes_simulated = $2, updated_at = now() WHERE id = $1', [business.id, parsed.exclude_simulated]);
    const { business_name: _name, currency: _currency, customised: _customised, ...was } = before;
    await writeAudit(
      ctx,
      {
        resource: 'ingestQualitySettings',
        recordId: business.id,
        action: 'update',
        businessId: business.id,
        before: was,
        after: { business_id: business.id, max_transaction_amount: parsed.max_transaction_amount.toFixed(2), future_tolerance_seconds: parsed.future_tolerance_seconds, exclude_simulated: parsed.exclude_simulated },
      },
      client,
    );
  });
  return readSettings(ctx, business.id, defaults);
}
