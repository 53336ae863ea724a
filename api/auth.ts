import { Router, type Request, type RequestHandler } from 'express';
import { z } from 'zod';
import type { Config } from '../core/config.js';
import { contextFor } from '../core/context.js';
import type { Db } from '../core/db/index.js';
import { AppError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { systemPrincipal } from '../core/auth/principal.js';
import { loadPrincipal, sessionSignedInAt, signIn, type AdminSessionUser, type LoginThrottle } from '../core/auth/signIn.js';
import { issueToken, verifyToken } from '../core/auth/tokens.js';
import type { Secrets } from '../core/secrets.js';
import { handle, parse } from './http.js';

export interface AuthDeps {
  db: Db;
  log: Logger;
  config: Config;
  secrets: Secrets;
  throttle: LoginThrottle;
}

/**
 * Identifies the caller from a bearer token or the admin session and puts their context on the
 * request. Role and scope are read from the database each time, so a disabled user is out at once.
 */
export function identifyCaller(deps: AuthDeps): RequestHandler {
  return (req, _res, next) => {
    identify(deps, req).then(() => next(), next);
  };
}

async function identify(deps: AuthDeps, req: Request): Promise<void> {
  const header = req.headers.authorization;
  let userId: string | null = null;
  let issuedAt: Date | undefined;
  if (header) {
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match) throw new AppError('unauthenticated', 'The Authorization header must be "Bearer <token>".');
    ({ userId, issuedAt } = await verifyToken(deps.secrets.tokenSecret, match[1]!));
  } else {
    const sessionUser = (req.session as { adminUser?: AdminSessionUser } | undefined)?.adminUser;
    userId = sessionUser?.id ?? null;
    issuedAt = sessionSignedInAt(sessionUser);
  }
  if (!userId) return;
  const principal = await loadPrincipal(deps.db, userId, issuedAt);
  if (!principal) throw new AppError('unauthenticated', 'Your account is no longer active, or its password was changed. Sign in again.');
  req.ctx = contextFor(principal, deps.db, req.log ?? deps.log, String(req.id ?? ''));
}

const loginBody = z.object({ email: z.string().min(1).max(320), password: z.string().min(1).max(1000) });

export function authRouter(deps: AuthDeps): Router {
  const router = Router();
  router.post(
    '/login',
    handle(async (req, res) => {
      const body = parse(loginBody, req.body, 'sign-in');
      const ctx = contextFor(systemPrincipal('login'), deps.db, req.log ?? deps.log, String(req.id ?? ''));
      const principal = await signIn(ctx, deps.throttle, { email: body.email, password: body.password, ip: req.ip ?? 'unknown' });
      const { token, expiresAt } = await issueToken(deps.secrets.tokenSecret, principal.id, deps.config.TOKEN_TTL_SECONDS);
      res.json({ token, tokenType: 'Bearer', expiresAt: expiresAt.toISOString(), user: principal });
    }),
  );
  return router;
}
