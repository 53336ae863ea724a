import express, { Router, type Request, type RequestHandler } from 'express';
import type { Config } from '../core/config.js';
import { systemContext } from '../core/context.js';
import { sqlOf, type Db } from '../core/db/index.js';
import { AppError } from '../core/errors.js';
import { ingestTransactions, type IngestOutcome } from '../core/ingest/bronze.js';
import { authenticateIngestRequest, IngestKeyUsage, type IngestGrant } from '../core/ingest/keys.js';
import { MAX_BATCH_TRANSACTIONS, pathText } from '../core/ingest/payload.js';
import type { Logger } from '../core/log.js';
import { errorMiddleware, handle } from './http.js';

export interface IngestDeps {
  db: Db;
  log: Logger;
  config: Config;
}

declare module 'express-serve-static-core' {
  interface Request {
    /** The ingest API key a point-of-sale request was authenticated by (api/ingest.ts). */
    ingestGrant?: IngestGrant;
  }
}

/** The origins allowed to call the ingest endpoints from a browser: `*`, or a comma-separated list. */
function allowedOrigins(config: Config): { any: boolean; origins: Set<string> } {
  const listed = (config.INGEST_CORS_ORIGINS ?? '')
    .split(',')
    .map((origin) => origin.trim().replace(/\/$/, ''))
    .filter(Boolean);
  return { any: listed.includes('*'), origins: new Set(listed) };
}

/**
 * CORS for /api/ingest only, per origin: a preflight from an allowed origin is answered, one from another
 * origin refused; a request from another origin is refused before anything is read. Devices send no Origin.
 */
function cors(config: Config): RequestHandler {
  const allowed = allowedOrigins(config);
  return (req, res, next) => {
    const origin = req.headers.origin;
    if (!origin) return next();
    if (!allowed.any && !allowed.origins.has(origin)) {
      next(new AppError('forbidden', `Requests from ${origin} may not use the ingest API: add the origin to INGEST_CORS_ORIGINS.`));
      return;
    }
    res.setHeader('Access-Control-Allow-Origin', allowed.any ? '*' : origin);
    res.setHeader('Vary', 'Origin');
    res.setHeader('Access-Control-Expose-Headers', 'Retry-After, X-Request-Id');
    if (req.method === 'OPTIONS') {
      res.setHeader('Access-Control-Allow-Methods', 'POST, OPTIONS');
      res.setHeader('Access-Control-Allow-Headers', 'Authorization, Content-Type, Idempotency-Key, X-Request-Id');
      res.setHeader('Access-Control-Max-Age', '600');
      res.status(204).end();
      return;
    }
    next();
  };
}

const jsonOnly: RequestHandler = (req, _res, next) => {
  if (!req.is('application/json')) {
    next(new AppError('unsupported_media_type', `Send the transactions as JSON, with Content-Type: application/json (it came as ${req.headers['content-type'] ?? 'no content type'}).`));
    return;
  }
  next();
};

/** The key in `Authorization: Bearer …`, its grant, and its rate (a token per request, shared by every process). */
function authenticate(deps: IngestDeps, usage: IngestKeyUsage): RequestHandler {
  const query = sqlOf(deps.db.pool);
  const limit = { perSecond: deps.config.INGEST_RATE_LIMIT_PER_SECOND, burst: deps.config.INGEST_RATE_LIMIT_BURST };
  const check = async (req: Request, res: express.Response) => {
    const header = req.headers.authorization ?? '';
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="ingest"');
      throw new AppError('unauthenticated', 'Send the store\'s ingest API key as Authorization: Bearer <key>.');
    }
    const authenticated = await authenticateIngestRequest(query, match[1]!, limit);
    if (!authenticated) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="ingest", error="invalid_token"');
      throw new AppError('unauthenticated', 'This ingest API key is not valid: it is unknown or was revoked. Ask an administrator for a new one.');
    }
    const { grant, take } = authenticated;
    usage.record(grant.keyId);
    if (!take.granted) {
      const seconds = Math.max(1, Math.ceil(take.waitMs / 1000));
      throw new AppError('too_many_requests', `Too many requests with this API key: at most ${limit.perSecond} a second (bursts of ${limit.burst}). Try again in ${seconds} s, or send transactions in batches.`, {
        retryAfterSeconds: seconds,
      });
    }
    req.ingestGrant = grant;
  };
  return (req, res, next) => {
    check(req, res).then(() => next(), next);
  };
}

/** The body parser's refusals in the ingest API's words: the limit that was passed, what JSON to send. */
function bodyErrors(limitKb: number): express.ErrorRequestHandler {
  return (error: unknown, _req, _res, next) => {
    const type = (error as { type?: unknown } | null)?.type;
    if (type === 'entity.too.large') {
      next(new AppError('payload_too_large', `The request body is larger than ${limitKb} KB (INGEST_MAX_BODY_KB): send fewer transactions per batch.`));
    } else if (type === 'entity.parse.failed') {
      next(new AppError('bad_request', `The request body is not valid JSON: ${(error as Error).message}.`, [{ path: '(body)', reason: 'is not valid JSON' }]));
    } else next(error);
  };
}

/** The Idempotency-Key header, checked: printable ASCII, at most 200 characters. */
function idempotencyKeyOf(req: Request): string | null {
  const value = req.headers['idempotency-key'];
  if (value === undefined) return null;
  if (typeof value !== 'string' || !/^[\x21-\x7e]{1,200}$/.test(value)) {
    throw new AppError('bad_request', 'The Idempotency-Key header must be 1 to 200 printable ASCII characters without spaces (a UUID, for example).', [{ path: 'Idempotency-Key', reason: 'is not a valid key' }]);
  }
  return value;
}

/** One transaction's answer in a batch; a refusal's paths name the transaction: transactions[3].items[2].qty. */
const answerOf = (outcome: IngestOutcome) =>
  outcome.status === 'refused'
    ? {
        index: outcome.index,
        transaction_id: outcome.transactionId,
        status: outcome.status,
        reason: outcome.reason,
        errors: outcome.problems.map((problem) => ({ ...problem, path: problem.path === '(body)' ? pathText(['transactions', outcome.index]) : `${pathText(['transactions', outcome.index])}.${problem.path}` })),
      }
    : { index: outcome.index, transaction_id: outcome.transactionId, status: outcome.status, event_id: outcome.eventId };

/**
 * The point-of-sale endpoints under /api/ingest. Authenticated by ingest API keys only (which nothing else
 * accepts); their own CORS, body size limit and per-key rate. Mounted before the API's JSON parser.
 */
export function ingestRouter(deps: IngestDeps): Router {
  const router = Router();
  const usage = new IngestKeyUsage(deps.db.pool, (error) => deps.log.warn({ err: error }, 'ingest: could not record API key usage'));
  const limit = deps.config.INGEST_MAX_BODY_KB * 1024;
  const parseJson = express.json({ limit, strict: false, type: () => true });
  const context = (req: Request) => {
    const ctx = systemContext(`ingest-key:${req.ingestGrant!.keyId}`, deps.db, req.log ?? deps.log);
    return { ...ctx, requestId: String(req.id ?? '') };
  };
  router.use(cors(deps.config));
  const guards = [jsonOnly, authenticate(deps, usage), parseJson];

  router.post(
    '/transactions',
    ...guards,
    handle(async (req, res) => {
      const idempotencyKey = idempotencyKeyOf(req);
      const [outcome] = await ingestTransactions(context(req), req.ingestGrant!, [req.body], { idempotencyKey, single: true });
      if (outcome!.status === 'refused') {
        const problems = outcome!.problems;
        if (outcome!.reason === 'store_not_allowed') throw new AppError('forbidden', `This API key may not ingest for this store: ${problems[0]!.reason}.`, problems);
        throw new AppError('bad_request', `The transaction is not valid: ${problems.map((problem) => `${problem.path} ${problem.reason}`).join('; ')}.`, problems);
      }
      res.status(202).json({ data: { event_id: outcome!.eventId, transaction_id: outcome!.transactionId, status: outcome!.status } });
    }),
  );

  router.post(
    /^\/transactions:batch$/,
    ...guards,
    handle(async (req, res) => {
      const idempotencyKey = idempotencyKeyOf(req);
      const body = req.body as unknown;
      const transactions = Array.isArray(body) ? body : (body as { transactions?: unknown } | null)?.transactions;
      if (!Array.isArray(transactions)) {
        throw new AppError('bad_request', 'Send {"transactions": [ … ]}: a list of up to 1,000 transactions.', [{ path: 'transactions', reason: 'must be a list of transactions' }]);
      }
      if (transactions.length === 0 || transactions.length > MAX_BATCH_TRANSACTIONS) {
        throw new AppError('bad_request', `A batch holds 1 to ${MAX_BATCH_TRANSACTIONS} transactions (this one holds ${transactions.length}): split it.`, [
          { path: 'transactions', reason: `must hold 1 to ${MAX_BATCH_TRANSACTIONS} transactions` },
        ]);
      }
      const outcomes = await ingestTransactions(context(req), req.ingestGrant!, transactions, { idempotencyKey, single: false });
      const count = (status: IngestOutcome['status']) => outcomes.filter((outcome) => outcome.status === status).length;
      res.status(200).json({
        data: {
          accepted: count('accepted'),
          duplicate: count('duplicate'),
          refused: count('refused'),
          results: outcomes.map(answerOf),
        },
      });
    }),
  );

  router.use(
    handle(async (req) => {
      throw new AppError('not_found', `There is no ingest endpoint ${req.method} ${req.originalUrl}: POST /api/ingest/transactions or /api/ingest/transactions:batch.`);
    }),
  );
  router.use(bodyErrors(deps.config.INGEST_MAX_BODY_KB), errorMiddleware);
  return router;
}
