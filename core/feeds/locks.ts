import { tryTransactionLock, type SqlQuery } from '../db/index.js';

/** The lock a running commit holds on its feed: free while the feed is `processing` means its commit stopped. */
export const feedCommitLock = (feedId: number) => `backhouse.feeds.commit:${feedId}`;

/** Whether a commit is still staging the feed's rows (its lock is held), asked in the caller's transaction. */
export async function commitIsRunning(query: SqlQuery, feedId: number): Promise<boolean> {
  return !(await tryTransactionLock(query, feedCommitLock(feedId)));
}
