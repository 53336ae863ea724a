import type { Config } from '../config.js';
import type { Context } from '../context.js';
import { withTransaction } from '../db/index.js';
import { openSecret } from '../sealedSecrets.js';
import { queueDeliveryJob } from './index.js';
import { SIGNATURE_HEADER, signatureHeader } from './signature.js';

export interface DeliverySettings {
  /** How long one request may take before it counts as a failure to retry. */
  timeoutMs: number;
  /** Attempts per delivery, the first included; then it is failed. */
  maxAttempts: number;
  /** The wait before the second attempt; it doubles at each attempt after, up to `retryMaxMs`, with jitter. */
  retryBaseMs: number;
  retryMaxMs: number;
  /** How long one job sends before it hands the rest of its webhook's backlog to a new job (others' turn). */
  runBudgetMs: number;
}

export function deliverySettings(config: Pick<Config, 'WEBHOOK_TIMEOUT_SECONDS' | 'WEBHOOK_MAX_ATTEMPTS' | 'WEBHOOK_RETRY_BASE_SECONDS' | 'WEBHOOK_RETRY_MAX_SECONDS'>): DeliverySettings {
  return {
    timeoutMs: config.WEBHOOK_TIMEOUT_SECONDS * 1000,
    maxAttempts: config.WEBHOOK_MAX_ATTEMPTS,
    retryBaseMs: config.WEBHOOK_RETRY_BASE_SECONDS * 1000,
    retryMaxMs: config.WEBHOOK_RETRY_MAX_SECONDS * 1000,
    runBudgetMs: 60_000,
  };
}

/** What one attempt came to. */
type Outcome =
  | { kind: 'delivered'; statusCode: number }
  /** Worth trying again: 5xx, 408, 429, a timeout, a network failure. */
  | { kind: 'retry'; statusCode: number | null; error: string; retryAfterMs?: number }
  /** The receiver refused it for good (other 4xx, a redirect). */
  | { kind: 'refused'; statusCode: number; error: string };

/** The wait before attempt `attempts + 1`: exponential, capped, with "equal jitter" (half fixed, half random) so retries of many deliveries spread out. */
export function retryDelayMs(attempts: number, settings: Pick<DeliverySettings, 'retryBaseMs' | 'retryMaxMs'>, random = Math.random()): number {
  const ceiling = Math.min(settings.retryMaxMs, settings.retryBaseMs * 2 ** Math.max(attempts - 1, 0));
  return Math.round(ceiling / 2 + (ceiling / 2) * random);
}

interface DueDelivery {
  id: string;
  event_id: string;
  event_type: string;
  body: string;
  attempts: number;
}

/**
 * Sends a webhook's due deliveries, oldest first, one at a time: the job of queue `notify.deliver`, of which
 * at most one runs per webhook. The first retryable failure ends the run and holds the webhook's other due
 * deliveries until that one's retry: a receiver that is down gets one request per backoff step, not one per
 * waiting delivery. A run stops after `runBudgetMs` and queues the rest, so one webhook's backlog never holds
 * a worker from the others. Before it ends, the job queues the next run for the webhook's earliest pending
 * delivery.
 */
export async function deliverDueWebhooks(ctx: Context, webhookId: string, settings: DeliverySettings): Promise<{ delivered: number; retrying: number; failed: number }> {
  const counts = { delivered: 0, retrying: 0, failed: 0 };
  const webhook = (await ctx.db.pool.query<{ url: string; secret_sealed: string; enabled: boolean }>(`SELECT url, secret_sealed, enabled FROM webhooks WHERE id = $1`, [webhookId])).rows[0];
  // A deleted webhook took its deliveries with it; a disabled one keeps them pending until it is enabled again.
  if (!webhook?.enabled) return counts;
  const secret = openSecret(webhook.secret_sealed);
  const deadline = Date.now() + settings.runBudgetMs;
  // While a delivery is being sent it is leased: not due again until the attempt could have ended.
  const leaseMs = settings.timeoutMs + 30_000;
  while (Date.now() < deadline) {
    const claimed = await ctx.db.pool.query<DueDelivery>(
      `UPDATE webhook_deliveries SET next_attempt_at = now() + $2 * interval '1 millisecond'
        WHERE id = (SELECT id FROM webhook_deliveries WHERE webhook_id = $1 AND status = 'pending' AND next_attempt_at <= now()
                     ORDER BY next_attempt_at, id LIMIT 1 FOR UPDATE SKIP LOCKED)
        RETURNING id::text, event_id::text, event_type, body, attempts`,
      [webhookId, leaseMs],
    );
    const delivery = claimed.rows[0];
    if (!delivery) break;
    const outcome = await post(webhook.url, secret, delivery, settings.timeoutMs);
    const attempts = delivery.attempts + 1;
    if (outcome.kind === 'delivered') {
      counts.delivered++;
      await ctx.db.pool.query(
        `UPDATE webhook_deliveries SET status = 'delivered', attempts = $2, last_status_code = $3, last_error = NULL, last_attempt_at = now(), delivered_at = now(), next_attempt_at = NULL WHERE id = $1`,
        [delivery.id, attempts, outcome.statusCode],
      );
      continue;
    }
    if (outcome.kind === 'refused' || attempts >= settings.maxAttempts) {
      counts.failed++;
      const error = outcome.kind === 'refused' ? outcome.error : `${outcome.error} (gave up after ${attempts} attempts)`;
      await ctx.db.pool.query(`UPDATE webhook_deliveries SET status = 'failed', attempts = $2, last_status_code = $3, last_error = $4, last_attempt_at = now(), next_attempt_at = NULL WHERE id = $1`, [
        delivery.id,
        attempts,
        outcome.statusCode,
        error,
      ]);
      ctx.log.warn({ webhookId, delivery: delivery.id, attempts, error }, 'webhook delivery failed');
      if (outcome.kind === 'refused') continue;
      break;
    }
    counts.retrying++;
    const waitMs = Math.max(retryDelayMs(attempts, settings), Math.min(outcome.retryAfterMs ?? 0, settings.retryMaxMs));
    await withTransaction(ctx.db.pool, async (tx) => {
      await tx.query(`UPDATE webhook_deliveries SET attempts = $2, last_status_code = $3, last_error = $4, last_attempt_at = now(), next_attempt_at = now() + $5 * interval '1 millisecond' WHERE id = $1`, [
        delivery.id,
        attempts,
        outcome.statusCode,
        outcome.error,
        waitMs,
      ]);
      // The receiver is failing: its other due deliveries wait for this one's retry instead of failing one by one.
      await tx.query(
        `UPDATE webhook_deliveries SET next_attempt_at = now() + $3 * interval '1 millisecond' WHERE webhook_id = $1 AND status = 'pending' AND id <> $2 AND next_attempt_at < now() + $3 * interval '1 millisecond'`,
        [webhookId, delivery.id, waitMs],
      );
    });
    break;
  }
  await withTransaction(ctx.db.pool, async (tx) => {
    const next = (await tx.query<{ at: Date | null }>(`SELECT min(next_attempt_at) AS at FROM webhook_deliveries WHERE webhook_id = $1 AND status = 'pending'`, [webhookId])).rows[0]?.at;
    if (next) await queueDeliveryJob(tx, webhookId, next);
  });
  return counts;
}

/**
 * Queues a delivery job for every enabled webhook with a delivery due (every minute): a job lost between a
 * run's end and its follow-up (a killed worker) is made up for. Sends that find a job waiting are no-ops.
 */
export async function queueDueDeliveries(ctx: Context): Promise<{ webhooks: number }> {
  return withTransaction(ctx.db.pool, async (tx) => {
    const due = await tx.query<{ webhook_id: string }>(
      `SELECT DISTINCT d.webhook_id FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id WHERE d.status = 'pending' AND d.next_attempt_at <= now() AND w.enabled`,
    );
    for (const { webhook_id } of due.rows) await queueDeliveryJob(tx, webhook_id, new Date());
    return { webhooks: due.rowCount ?? 0 };
  });
}

/** How much of a receiver's answer is kept with a failure (enough to see what it said). */
const ANSWER_CHARS = 300;

async function post(url: string, secret: string, delivery: DueDelivery, timeoutMs: number): Promise<Outcome> {
  const timestamp = Math.floor(Date.now() / 1000);
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'Backhouse-Webhooks/1',
        'x-backhouse-event': delivery.event_type,
        'x-backhouse-event-id': delivery.event_id,
        'x-backhouse-delivery': delivery.id,
        [SIGNATURE_HEADER.toLowerCase()]: signatureHeader(secret, delivery.body, timestamp),
      },
      body: delivery.body,
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    return { kind: 'retry', statusCode: null, error: requestFailure(error, timeoutMs) };
  }
  const answer = await answerText(response);
  const status = response.status;
  if (status >= 200 && status < 300) return { kind: 'delivered', statusCode: status };
  const said = answer ? `: ${answer}` : '';
  if (status >= 500 || status === 408 || status === 429) {
    const retryAfter = Number(response.headers.get('retry-after'));
    return { kind: 'retry', statusCode: status, error: `the receiver answered ${status}${said}`, ...(Number.isFinite(retryAfter) && retryAfter > 0 ? { retryAfterMs: retryAfter * 1000 } : {}) };
  }
  if (status >= 300 && status < 400) {
    return { kind: 'refused', statusCode: status, error: `the receiver answered ${status}, a redirect to ${response.headers.get('location') ?? '(no location)'}: redirects are not followed; set the webhook's URL to where it points` };
  }
  return { kind: 'refused', statusCode: status, error: `the receiver refused it with ${status}${said} (not retried: fix the receiver or the webhook, then redeliver)` };
}

/** The start of a receiver's answer, read no further (an answer may be large or endless). */
async function answerText(response: Response): Promise<string> {
  if (!response.body) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let length = 0;
  try {
    while (length < ANSWER_CHARS * 4) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      length += value.length;
    }
  } catch {
    // An answer cut off after its status: the status is what counts.
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  const text = Buffer.concat(chunks).toString('utf8').replace(/\s+/g, ' ').trim();
  return text.length > ANSWER_CHARS ? `${text.slice(0, ANSWER_CHARS)}…` : text;
}

function requestFailure(error: unknown, timeoutMs: number): string {
  const name = (error as { name?: string } | null)?.name;
  if (name === 'TimeoutError' || name === 'AbortError') return `no answer within ${timeoutMs / 1000} s (timed out)`;
  const cause = (error as { cause?: { code?: string; message?: string } } | null)?.cause;
  if (cause?.code) return `the request failed: ${cause.code}${cause.message ? ` (${cause.message})` : ''}`;
  return `the request failed: ${error instanceof Error ? error.message : String(error)}`;
}
