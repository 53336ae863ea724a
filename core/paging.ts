import { AppError } from './errors.js';
import { wholeNumber } from './input.js';

/** The most rows one page of any list holds. */
export const MAX_PER_PAGE = 500;
/** The furthest page a list goes to: past it, the rows skipped would no longer fit the database's row counts. */
export const MAX_PAGE = 1_000_000;

/** A list's `page` and `perPage` query parameters, as every list (REST and the admin) takes them; messages follow the name. */
export const pageParam = wholeNumber(`must be a whole number from 1 to ${MAX_PAGE}`, { min: 1, max: MAX_PAGE });
export const perPageParam = wholeNumber(`must be a whole number from 1 to ${MAX_PER_PAGE}`, { min: 1, max: MAX_PER_PAGE });

/**
 * The rows a core list skips and takes, checked where they reach SQL: numbers that are not whole (NaN,
 * Infinity, 1e300) used to be written into the statement (`column "nan" does not exist`, `bigint out of range`).
 */
export function listWindow(page: { skip?: number; take?: number }, defaultTake = 50): { skip: number; take: number } {
  const skip = page.skip ?? 0;
  const take = page.take ?? defaultTake;
  const maxSkip = (MAX_PAGE - 1) * MAX_PER_PAGE;
  if (!Number.isSafeInteger(skip) || skip < 0 || skip > maxSkip) throw new AppError('bad_request', `The page asked for is not one of the list's: page must be a whole number from 1 to ${MAX_PAGE}.`);
  if (!Number.isSafeInteger(take) || take < 1) throw new AppError('bad_request', `perPage must be a whole number from 1 to ${MAX_PER_PAGE}.`);
  return { skip, take: Math.min(take, MAX_PER_PAGE) };
}
