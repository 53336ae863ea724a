import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ErrorRequestHandler, NextFunction, Request, RequestHandler, Response } from 'express';
import type {} from 'express-session';
import type {} from 'pino-http';
import { z } from 'zod';
import type { Credential } from '../core/auth/credentials.js';
import type { Context } from '../core/context.js';
import { DATABASE_RETRY_AFTER_SECONDS, isDatabaseUnavailable } from '../core/db/availability.js';
import { AppError } from '../core/errors.js';
import { malformedText, textProblem } from '../core/input.js';
import type { Logger } from '../core/log.js';

declare module 'express-serve-static-core' {
  interface Request {
    /** Set by the authentication middleware for a signed-in caller. */
    ctx?: Context;
    /** The token or session the caller was identified by (a sign-out ends it). */
    credential?: Credential;
  }
}

/** Takes the caller's request id when it looks sane, or makes one; echoed back in X-Request-Id. */
export function requestId(req: Request, res: Response): string {
  const given = req.headers['x-request-id'];
  const id = typeof given === 'string' && /^[\w.-]{1,100}$/.test(given) ? given : randomUUID();
  res.setHeader('X-Request-Id', id);
  return id;
}

/** Wraps an async handler so that its errors reach the error middleware. */
export const handle =
  (fn: (req: Request, res: Response) => Promise<unknown>): RequestHandler =>
  (req: Request, res: Response, next: NextFunction) => {
    fn(req, res).catch(next);
  };

/** The context of the signed-in caller, or a 401. */
export function contextOf(req: Request): Context {
  if (!req.ctx) throw new AppError('unauthenticated', 'Sign in first: send a bearer token or use the admin session.');
  return req.ctx;
}

/** Parses input at the edge; a clear 400/422 with every problem otherwise. */
export function parse<T extends z.ZodType>(schema: T, input: unknown, where = 'request'): z.infer<T> {
  const result = schema.safeParse(input);
  if (!result.success) {
    const details = result.error.issues.map((issue) => ({ field: issue.path.join('.') || where, reason: issue.message }));
    throw new AppError('bad_request', `The ${where} is not valid: ${details.map((d) => `${d.field} ${d.reason}`).join('; ')}.`, details);
  }
  return result.data;
}

/** One error shape for every endpoint: `{ error: { code, message, details? } }`. */
export const errorMiddleware: ErrorRequestHandler = (error: unknown, req, res, _next) => {
  const answer = errorAnswer(error, req, res);
  res.status(answer.status).json(answer.body);
};

/**
 * The status and body an error is answered with (the error middleware's; also the last line of a response
 * that was already streaming when the error came). Unexpected errors are logged and answered with a request id.
 */
export function errorAnswer(error: unknown, req: Request, res: Response): { status: number; body: { error: Record<string, unknown> } } {
  const requestIdValue = String(res.getHeader('X-Request-Id') ?? '');
  let appError: AppError | null = null;
  if (error instanceof AppError) appError = error;
  else if (isBodyParserError(error)) {
    appError =
      error.type === 'entity.too.large'
        ? new AppError('payload_too_large', 'The request body is too large.')
        : error.type === 'entity.parse.failed'
          ? new AppError('bad_request', 'The request body is not a JSON object: send one, such as {"upload_token": "…"}, with Content-Type: application/json.')
          : new AppError('bad_request', error.message);
  } else if (isDatabaseUnavailable(error)) {
    // A restart or an outage, not a bug: the client is told to come back, and nothing is logged as an error.
    req.log?.warn({ err: error }, 'database unavailable');
    appError = new AppError('unavailable', 'The database cannot be reached right now (it may be restarting). Try again in a few seconds.', { retryAfterSeconds: DATABASE_RETRY_AFTER_SECONDS });
  }
  if (!appError) {
    req.log?.error({ err: error }, 'unexpected error');
    return { status: 500, body: { error: { code: 'internal', message: `Something went wrong on our side. Quote request id ${requestIdValue} when you report it.`, requestId: requestIdValue } } };
  }
  const retry = (appError.details as { retryAfterSeconds?: number } | undefined)?.retryAfterSeconds;
  if (retry && !res.headersSent) res.setHeader('Retry-After', String(retry));
  return { status: appError.status, body: { error: { code: appError.code, message: appError.message, ...(appError.details === undefined ? {} : { details: appError.details }) } } };
}

function isBodyParserError(error: unknown): error is { type: string; message: string } {
  return typeof error === 'object' && error !== null && typeof (error as { type?: unknown }).type === 'string' && 'status' in error;
}

/**
 * JSON bodies as JSON: a body sent as anything but JSON (or a multipart upload) is refused with what to send,
 * where it was read as no body and refused for its missing fields.
 */
export const jsonBodies: RequestHandler = (req, _res, next) => {
  const hasBody = Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined;
  if (hasBody && ['POST', 'PUT', 'PATCH'].includes(req.method) && !req.is('application/json') && !req.is('multipart/form-data')) {
    next(new AppError('unsupported_media_type', `Send the request body as JSON, with Content-Type: application/json (it came as ${req.headers['content-type'] ?? 'no content type'}).`));
    return;
  }
  next();
};

/** Percent-decoded text, or null where the escapes spell no UTF-8 (a lone surrogate, %ED%A0%80, for example). */
function decoded(text: string): string | null {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return null;
  }
}

/**
 * Refuses, with a 400 naming the part, a request whose address, query parameters or JSON body hold text
 * PostgreSQL cannot store: a NUL byte, or escapes that are not UTF-8. They reached SQL and came back as 500s
 * (found by QA); the query parser had also kept undecodable escapes as literal text.
 */
export const wellFormedText: RequestHandler = (req, _res, next) => {
  const mark = req.originalUrl.indexOf('?');
  const [path, query] = mark < 0 ? [req.originalUrl, ''] : [req.originalUrl.slice(0, mark), req.originalUrl.slice(mark + 1)];
  const problems: { field: string; reason: string }[] = [];
  const check = (field: string, raw: string) => {
    const text = decoded(raw);
    const reason = text === null ? 'is not valid UTF-8 once its %-escapes are decoded: send text as UTF-8' : textProblem(text);
    if (reason) problems.push({ field, reason });
  };
  check(`the address ${path}`, path);
  for (const pair of query.split('&').filter(Boolean)) {
    const equals = pair.indexOf('=');
    const [key, value] = equals < 0 ? [pair, ''] : [pair.slice(0, equals), pair.slice(equals + 1)];
    const name = decoded(key) ?? key;
    check(`the query parameter ${name}`, key);
    check(name, value);
  }
  if (problems.length === 0 && req.body && typeof req.body === 'object') problems.push(...malformedText(req.body));
  if (problems.length === 0) return next();
  next(new AppError('bad_request', `The request is not valid: ${problems.map((p) => `${p.field} ${p.reason}`).join('; ')}.`, problems));
};

/** Node's own answers to requests its HTTP parser refuses (what it sends when nobody listens for clientError). */
const parserRefusals: Record<string, string> = {
  HPE_HEADER_OVERFLOW: 'HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\n\r\n',
  HPE_CHUNK_EXTENSIONS_OVERFLOW: 'HTTP/1.1 413 Payload Too Large\r\nConnection: close\r\n\r\n',
  ERR_HTTP_REQUEST_TIMEOUT: 'HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n',
};

/**
 * A connection that ends before the body its Content-Length announced (a till losing its network mid-send)
 * is reported to the server, not to the request's handler, and Node answers it with a bare 400. It gets the
 * API's error shape here, saying what happened and what to do; the handler reading the body fails ("request
 * aborted") and stores nothing. Every other refusal of the parser is answered as Node answers it.
 */
export function answerCutOffBodies(server: Server, log: Logger): void {
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex & { bytesWritten?: number }) => {
    if (socket.writable && !socket.bytesWritten) {
      if (error.code === 'HPE_INVALID_EOF_STATE') {
        log.warn({ err: error }, 'a request body was cut off');
        const body = JSON.stringify({ error: { code: 'bad_request', message: 'The request body ended before it was complete: the connection was closed before the bytes its Content-Length announced arrived. Nothing was stored; send it again.' } });
        socket.write(`HTTP/1.1 400 Bad Request\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
      } else socket.write(parserRefusals[error.code ?? ''] ?? 'HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    }
    socket.destroy(error);
  });
}
