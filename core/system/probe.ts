import { z } from 'zod';
import { AppError } from '../errors.js';

/**
 * A worker probe: an admin (or a test) sends one to see that workers pick jobs up, and, with
 * `failAttempts`, that a failing job is retried with backoff and ends up failed where admins see it.
 */
export const probeInput = z.object({
  note: z.string().max(200).default('probe'),
  /** The first N attempts fail; 0 succeeds at once. */
  failAttempts: z.number().int().min(0).max(100).default(0),
  /** How long the probe works before answering (less if its worker stops), to watch a running job and a shutdown. */
  delayMs: z.number().int().min(0).max(60_000).default(0),
});
export type ProbeInput = z.infer<typeof probeInput>;

export async function runProbe(input: ProbeInput, attempt: number, stopping?: AbortSignal): Promise<{ note: string; attempt: number; pid: number; at: string; cutShort: boolean }> {
  const cutShort = input.delayMs > 0 && (await workFor(input.delayMs, stopping));
  if (attempt < input.failAttempts) {
    throw new AppError('internal', `Probe "${input.note}" failed on purpose (attempt ${attempt + 1} of ${input.failAttempts} set to fail).`);
  }
  return { note: input.note, attempt, pid: process.pid, at: new Date().toISOString(), cutShort };
}

/** Waits `ms`, or until `stopping` aborts; says whether it was cut short. */
async function workFor(ms: number, stopping?: AbortSignal): Promise<boolean> {
  if (stopping?.aborted) return true;
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      stopping?.removeEventListener('abort', onAbort);
      resolve(false);
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      resolve(true);
    };
    stopping?.addEventListener('abort', onAbort, { once: true });
  });
}
