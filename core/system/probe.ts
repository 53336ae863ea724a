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
  /** How long the probe works before answering, to watch a running job (and a graceful shutdown). */
  delayMs: z.number().int().min(0).max(60_000).default(0),
});
export type ProbeInput = z.infer<typeof probeInput>;

export async function runProbe(input: ProbeInput, attempt: number): Promise<{ note: string; attempt: number; pid: number; at: string }> {
  if (input.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, input.delayMs));
  if (attempt < input.failAttempts) {
    throw new AppError('internal', `Probe "${input.note}" failed on purpose (attempt ${attempt + 1} of ${input.failAttempts} set to fail).`);
  }
  return { note: input.note, attempt, pid: process.pid, at: new Date().toISOString() };
}
