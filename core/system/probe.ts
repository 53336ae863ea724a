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
});
export type ProbeInput = z.infer<typeof probeInput>;

export function runProbe(input: ProbeInput, attempt: number): { note: string; attempt: number; pid: number; at: string } {
  if (attempt < input.failAttempts) {
    throw new AppError('internal', `Probe "${input.note}" failed on purpose (attempt ${attempt + 1} of ${input.failAttempts} set to fail).`);
  }
  return { note: input.note, attempt, pid: process.pid, at: new Date().toISOString() };
}
