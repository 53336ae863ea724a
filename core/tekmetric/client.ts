import { createHash, randomInt } from 'node:crypto';
import { z } from 'zod';
import type { SqlQuery } from '../db/index.js';
import { AppError, type ErrorCode } from '../errors.js';
import type { Logger } from '../log.js';
import { waitForToken, type RateLimit } from '../ratelimit/index.js';
import { scopeShopIds, springPage, tmShop, tmToken, type TmShop } from './api-types.js';

export type { TmShop } from './api-types.js';

export interface TekmetricCredentials {
  baseUrl: string;
  clientId: string;
  clientSecret: string;
}

export interface TekmetricClientOptions {
  /** Where the shared rate limiter keeps its bucket (`rate_limit_buckets`). */
  query: SqlQuery;
  /**
   * The plan's limit, shared by every client with the same base URL and client id, in any process.
   * Default: 300 on the sandbox host, 600 elsewhere. `Infinity` turns the limiter off (the fake server).
   */
  requestsPerMinute?: number;
  /** One HTTP request's limit (default 30 s); a request that takes longer is retried like a 5xx. */
  timeoutMs?: number;
  log?: Logger;
  /** Ends every wait and request of this client. */
  signal?: AbortSignal;
  /** Attempts per request on 429, 5xx, timeouts and network errors (default 6). */
  maxAttempts?: number;
  /** The backoff's unit: attempt n waits min(2^n × base + jitter, maxDelay) (default 1 s and 60 s). */
  backoffBaseMs?: number;
  maxBackoffMs?: number;
}

export type PageParams = Record<string, string | number | boolean | string[] | number[] | undefined>;

export interface TekmetricPage<T> {
  items: T[];
  page: number;
  totalPages: number;
  totalElements: number;
}

export interface TekmetricClient {
  /** The shops the token's scope names, as `GET /shops` describes them. */
  shops(): Promise<TmShop[]>;
  /** The shop ids the token's scope names. */
  scopeShopIds(): Promise<number[]>;
  /** Every page of a Spring-paged list, one page at a time (`page` zero-based, size 100). */
  pages<T>(path: string, params: PageParams, item: z.ZodType<T>): AsyncIterable<TekmetricPage<T>>;
  get<T>(path: string, schema: z.ZodType<T>): Promise<T>;
  readonly stats: { requests: number; throttled: number; retries: number };
}

/** Why a Tekmetric call failed, beside the HTTP-like `code` every `AppError` has. */
export type TekmetricFailure = 'auth' | 'scope' | 'not_found' | 'bad_request' | 'rate_limited' | 'server' | 'timeout' | 'network' | 'invalid_response';

const codeByFailure: Record<TekmetricFailure, ErrorCode> = {
  auth: 'unauthenticated',
  scope: 'forbidden',
  not_found: 'not_found',
  bad_request: 'bad_request',
  rate_limited: 'too_many_requests',
  server: 'unavailable',
  timeout: 'unavailable',
  network: 'unavailable',
  invalid_response: 'unavailable',
};

/** A failed Tekmetric call: what kind, on which path, with the upstream status and body when there was one. */
export class TekmetricError extends AppError {
  constructor(
    readonly failure: TekmetricFailure,
    message: string,
    readonly path: string,
    readonly upstreamStatus?: number,
    details?: unknown,
  ) {
    super(codeByFailure[failure], message, details);
    this.name = 'TekmetricError';
  }
}

export const API_PREFIX = '/api/v1';
export const PAGE_SIZE = 100;

interface Token {
  accessToken: string;
  shopIds: number[];
}

/**
 * Tokens per set of credentials, shared by the clients of one process: a token lasts until revoked, so
 * one is enough. The promise is cached, so clients asking at once make one token request.
 */
const tokens = new Map<string, Promise<Token>>();

function credentialsKey(credentials: TekmetricCredentials): string {
  const secret = createHash('sha256').update(credentials.clientSecret).digest('hex');
  return `${normalisedBaseUrl(credentials.baseUrl)}|${credentials.clientId}|${secret}`;
}

function normalisedBaseUrl(baseUrl: string): string {
  return baseUrl.replace(/\/+$/, '').replace(/\/api\/v1$/, '');
}

function defaultRequestsPerMinute(baseUrl: string): number {
  return /(^|\/\/)sandbox\.tekmetric\.com/.test(baseUrl) ? 300 : 600;
}

function queryString(params: PageParams): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const one of value) search.append(name, String(one));
    else search.append(name, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`)
    .join('; ');
}

/**
 * A client of Tekmetric's partner API. Every request (the token's too) first waits its turn at the rate
 * limiter kept in PostgreSQL under the base URL and client id, so all processes syncing with the same
 * credentials stay under the plan's limit together. 429 (empty body), 5xx, timeouts and network errors are
 * retried with exponential backoff and jitter; a 401 gets a new token and one more try; 403 and 404 fail
 * at once with a `TekmetricError` saying which.
 */
export function createTekmetricClient(credentials: TekmetricCredentials, options: TekmetricClientOptions): TekmetricClient {
  const baseUrl = normalisedBaseUrl(credentials.baseUrl);
  const requestsPerMinute = options.requestsPerMinute ?? defaultRequestsPerMinute(baseUrl);
  if (!(requestsPerMinute > 0)) throw new RangeError('requestsPerMinute must be positive (Infinity for no limit)');
  // 1% under the plan's rate: the API may count in fixed minutes, where an exact rate could land one over.
  const limit: RateLimit | null = Number.isFinite(requestsPerMinute)
    ? { key: `tekmetric:${baseUrl}:${credentials.clientId}`, perSecond: (requestsPerMinute * 0.99) / 60, burst: 1 }
    : null;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const maxAttempts = Math.max(1, options.maxAttempts ?? 6);
  const backoffBaseMs = options.backoffBaseMs ?? 1000;
  const maxBackoffMs = options.maxBackoffMs ?? 60_000;
  const log = options.log;
  const key = credentialsKey(credentials);
  const stats = { requests: 0, throttled: 0, retries: 0 };

  function backoffMs(attempt: number): number {
    return Math.min(2 ** attempt * backoffBaseMs + randomInt(0, Math.max(1, Math.round(backoffBaseMs / 2))), maxBackoffMs);
  }

  /** One HTTP exchange after the limiter's turn: the response, or a timeout / network failure. */
  async function send(path: string, init: RequestInit): Promise<Response> {
    if (limit) await waitForToken(options.query, limit, 1, options.signal);
    stats.requests += 1;
    const signals = [AbortSignal.timeout(timeoutMs), ...(options.signal ? [options.signal] : [])];
    try {
      return await fetch(`${baseUrl}${path}`, { ...init, signal: AbortSignal.any(signals) });
    } catch (error) {
      if (options.signal?.aborted) throw options.signal.reason;
      const name = (error as Error).name;
      if (name === 'TimeoutError' || name === 'AbortError') throw new TekmetricError('timeout', `Tekmetric did not answer ${path} within ${timeoutMs} ms.`, path);
      throw new TekmetricError('network', `Tekmetric could not be reached for ${path}: ${(error as Error).message}`, path);
    }
  }

  /**
   * Sends with retries: 429, 5xx, timeouts and network errors wait min(2^n s + jitter, 60 s) (or the
   * server's Retry-After when it gives one) and try again, up to `maxAttempts` in all.
   */
  async function sendWithRetries(path: string, init: () => RequestInit): Promise<Response> {
    for (let attempt = 0; ; attempt += 1) {
      let failure: TekmetricError;
      let retryAfterMs: number | undefined;
      try {
        const response = await send(path, init());
        if (response.status !== 429 && response.status < 500) return response;
        const body = await response.text();
        const retryAfter = Number(response.headers.get('retry-after'));
        if (retryAfter > 0) retryAfterMs = retryAfter * 1000;
        if (response.status === 429) {
          stats.throttled += 1;
          failure = new TekmetricError('rate_limited', `Tekmetric refused ${path} with 429 (over the plan's rate limit) ${attempt + 1} time(s).`, path, 429);
        } else {
          failure = new TekmetricError('server', `Tekmetric answered ${path} with ${response.status}${body ? `: ${body.slice(0, 200)}` : ''}.`, path, response.status);
        }
      } catch (error) {
        if (!(error instanceof TekmetricError)) throw error;
        failure = error;
      }
      if (attempt + 1 >= maxAttempts) throw failure;
      const waitMs = Math.min(Math.max(retryAfterMs ?? 0, backoffMs(attempt)), maxBackoffMs);
      stats.retries += 1;
      log?.warn({ path, attempt: attempt + 1, waitMs, failure: failure.failure, status: failure.upstreamStatus }, 'tekmetric: retrying');
      await sleep(waitMs, options.signal);
    }
  }

  async function requestToken(): Promise<Token> {
    const path = `${API_PREFIX}/oauth/token`;
    const basic = Buffer.from(`${credentials.clientId}:${credentials.clientSecret}`).toString('base64');
    const response = await sendWithRetries(path, () => ({
      method: 'POST',
      headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: 'grant_type=client_credentials',
    }));
    const body = await response.text();
    if (response.status === 401 || response.status === 400 || response.status === 403) {
      throw new TekmetricError('auth', `Tekmetric refused the client id and secret (${response.status}): check TEKMETRIC_CLIENT_ID and TEKMETRIC_CLIENT_SECRET, or the connection's credentials.`, path, response.status, body.slice(0, 500) || undefined);
    }
    if (!response.ok) throw new TekmetricError('server', `Tekmetric answered the token request with ${response.status}.`, path, response.status);
    const parsed = tmToken.safeParse(JSON.parse(body || 'null'));
    if (!parsed.success) throw new TekmetricError('invalid_response', `Tekmetric's token answer is not what the API documents: ${describeIssues(parsed.error)}.`, path);
    log?.info({ shops: parsed.data.scope }, 'tekmetric: new access token');
    return { accessToken: parsed.data.access_token, shopIds: scopeShopIds(parsed.data.scope) };
  }

  function token(): Promise<Token> {
    let cached = tokens.get(key);
    if (!cached) {
      cached = requestToken();
      tokens.set(key, cached);
      // A failed request must not stay cached: the next call asks again.
      cached.catch(() => {
        if (tokens.get(key) === cached) tokens.delete(key);
      });
    }
    return cached;
  }

  /** Forgets `stale` (and only it: another client may already have replaced it) so the next call asks anew. */
  function dropToken(stale: Promise<Token>): void {
    if (tokens.get(key) === stale) tokens.delete(key);
  }

  async function getJson(path: string): Promise<unknown> {
    const fullPath = path.startsWith(API_PREFIX) ? path : `${API_PREFIX}${path.startsWith('/') ? path : `/${path}`}`;
    for (let refreshed = false; ; refreshed = true) {
      const current = token();
      const { accessToken } = await current;
      const response = await sendWithRetries(fullPath, () => ({ headers: { authorization: `Bearer ${accessToken}`, accept: 'application/json' } }));
      const body = await response.text();
      if (response.status === 401 && !refreshed) {
        log?.info({ path: fullPath }, 'tekmetric: token refused, asking for a new one');
        dropToken(current);
        continue;
      }
      if (response.ok) {
        try {
          return JSON.parse(body);
        } catch {
          throw new TekmetricError('invalid_response', `Tekmetric answered ${fullPath} with something other than JSON.`, fullPath, response.status, body.slice(0, 200));
        }
      }
      const detail = body.slice(0, 500) || undefined;
      if (response.status === 401) throw new TekmetricError('auth', `Tekmetric refused a new token too for ${fullPath}: the credentials may have been revoked.`, fullPath, 401, detail);
      if (response.status === 403) throw new TekmetricError('scope', `Tekmetric denied ${fullPath} (403): the token's scope does not cover it (a shop not granted to these credentials?).`, fullPath, 403, detail);
      if (response.status === 404) throw new TekmetricError('not_found', `Tekmetric has no ${fullPath} (404).`, fullPath, 404, detail);
      throw new TekmetricError('bad_request', `Tekmetric refused ${fullPath} with ${response.status}.`, fullPath, response.status, detail);
    }
  }

  function validated<T>(schema: z.ZodType<T>, value: unknown, path: string, what: string): T {
    const parsed = schema.safeParse(value);
    if (parsed.success) return parsed.data;
    const itemId = value && typeof value === 'object' && 'id' in value ? ` (id ${String((value as { id: unknown }).id)})` : '';
    throw new TekmetricError('invalid_response', `Tekmetric's ${what}${itemId} from ${path} is not what the API documents: ${describeIssues(parsed.error)}.`, path, undefined, parsed.error.issues);
  }

  return {
    stats,

    async get<T>(path: string, schema: z.ZodType<T>): Promise<T> {
      return validated(schema, await getJson(path), path, 'answer');
    },

    async *pages<T>(path: string, params: PageParams, item: z.ZodType<T>): AsyncIterable<TekmetricPage<T>> {
      const fetchPage = (page: number) => {
        const pagePath = `${path}${queryString({ ...params, page, size: PAGE_SIZE })}`;
        const fetched = getJson(pagePath).then((json) => ({ pagePath, body: validated(springPage, json, pagePath, 'page') }));
        // Heard here so a prefetch the caller never awaits (it stopped early) is no unhandled rejection.
        fetched.catch(() => undefined);
        return fetched;
      };
      let next = fetchPage(0);
      for (let page = 0; ; page += 1) {
        const { pagePath, body } = await next;
        const items = body.content.map((one) => validated(item, one, pagePath, 'item'));
        const last = body.last ?? page + 1 >= body.totalPages;
        // The next page is asked for while the caller writes this one: under a rate limit the request's
        // turn and the caller's work overlap instead of adding up.
        if (!last && items.length > 0) next = fetchPage(page + 1);
        yield { items, page, totalPages: body.totalPages, totalElements: body.totalElements };
        if (last || items.length === 0) return;
      }
    },

    async scopeShopIds(): Promise<number[]> {
      return (await token()).shopIds;
    },

    async shops(): Promise<TmShop[]> {
      const { shopIds } = await token();
      const all = await this.get('/shops', z.array(tmShop));
      return shopIds.length ? all.filter((shop) => shopIds.includes(shop.id)) : all;
    },
  };
}

/** Forgets every cached token (tests that revoke tokens on the fake server, a connection whose secret changed). */
export function forgetTekmetricTokens(): void {
  tokens.clear();
}
