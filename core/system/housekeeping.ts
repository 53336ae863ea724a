import type { Context } from '../context.js';

/** Removes expired admin sessions and expired sign-in counters. Run on a schedule by jobs/. */
export async function purgeExpiredAuthState(ctx: Context): Promise<{ sessions: number; loginAttempts: number }> {
  const sessions = await ctx.db.pool.query('DELETE FROM admin_sessions WHERE expire < now()');
  const loginAttempts = await ctx.db.pool.query('DELETE FROM login_attempts WHERE expire IS NOT NULL AND expire < $1', [Date.now()]);
  return { sessions: sessions.rowCount ?? 0, loginAttempts: loginAttempts.rowCount ?? 0 };
}
