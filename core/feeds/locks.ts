import type { SqlQuery } from '../warehouse/loadFacts.js';

/** The lock a running commit holds on its feed: free while the feed is `processing` means its commit stopped. */
export const feedCommitLock = (feedId: number) => `backhouse.feeds.commit:${feedId}`;

/** Whether a commit is still staging the feed's rows (its lock is held), asked in the caller's transaction. */
export async function commitIsRunning(query: SqlQuery, feedId: number): Promise<boolean> {
  const [lock] = await query<{ free: boolean }>('SELECT pg_try_advisory_xact_lock(hashtextextended($1, 0)) AS free', [feedCommitLock(feedId)]);
  return !lock?.free;
}
