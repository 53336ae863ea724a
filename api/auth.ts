import { Router, type Request, type RequestHandler } from 'express';
import { z } from 'zod';
import type { Config } from '../core/config.js';
import { contextFor } from '../core/context.js';
import type { Db } from '../core/db/index.js';
import { AppError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { systemPrincipal } from '../core/auth/principal.js';
import { endToken, endUserSessions, principalOfCredential, sessionCredential, type AdminSessionUser, type Credential } from '../core/auth/credentials.js';
import { signIn, type LoginThrottle } from '../core/auth/signIn.js';
import { issueToken, verifyToken } from '../core/auth/tokens.js';
import type { Secrets } from '../core/secrets.js';
import { contextOf, handle, parse } from './http.js';

export interface AuthDeps {
  db: Db;
  log: Logger;
  config: Config;
  secrets: Secrets;
  throttle: LoginThrottle;
}

/**
 * Identifies the caller from a bearer token or the admin session and puts their context (and the credential
 * they used) on the request. The user, their auth version and the token's revocation are read from the
 * database each time, so a disabled user, a changed password or a sign-out takes effect at once.
 */
export function identifyCaller(deps: AuthDeps): RequestHandler {
  return (req, _res, next) => {
    identify(deps, req).then(() => next(), next);
  };
}

async function identify(deps: AuthDeps, req: Request): Promise<void> {
  const header = req.headers.authorization;
  let credential: Credential | null;
  if (header) {
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match) throw new AppError('unauthenticated', 'The Authorization header must be "Bearer <token>".');
    credential = await verifyToken(deps.secrets.tokenSecret, match[1]!);
  } else {
    credential = sessionCredential((req.session as { adminUser?: AdminSessionUser } | undefined)?.adminUser);
  }
  if (!credential) return;
  const principal = await principalOfCredential(deps.db, credential);
  if (!principal) throw new AppError('unauthenticated', 'You are signed out: the account is no longer active, its password was changed, or its sessions were ended. Sign in again.');
  req.ctx = contextFor(principal, deps.db, req.log ?? deps.log, String(req.id ?? ''));
  req.credential = credential;
}

const loginBody = z.object({ email: z.string().min(1).max(320), password: z.string().min(1).max(1000) });

/** POST /login (a token for an email and password) and POST /logout (ends the token it is sent with). */
export function authRouter(deps: AuthDeps): Router {
  const router = Router();
  router.post(
    '/login',
    handle(async (req, res) => {
      const body = parse(loginBody, req.body, 'sign-in');
      const ctx = contextFor(systemPrincipal('login'), deps.db, req.log ?? deps.log, String(req.id ?? ''));
      const { principal, authVersion } = await signIn(ctx, deps.throttle, { email: body.email, password: body.password, ip: req.ip ?? 'unknown' });
      const { token, expiresAt } = await issueToken(deps.secrets.tokenSecret, { userId: principal.id, authVersion }, deps.config.TOKEN_TTL_SECONDS);
      res.json({ token, tokenType: 'Bearer', expiresAt: expiresAt.toISOString(), user: principal });
    }),
  );
  router.post(
    '/logout',
    identifyCaller(deps),
    handle(async (req, res) => {
      await endToken(contextOf(req), req.credential!);
      res.status(204).end();
    }),
  );
  return router;
}

/** POST /users/:id/sessions/end: ends every token and admin session of a user (themselves, or anyone for an admin). */
export function userSessionsRouter(): Router {
  const router = Router();
  router.post(
    '/:id/sessions/end',
    handle(async (req, res) => {
      await endUserSessions(contextOf(req), String(req.params.id));
      res.status(204).end();
    }),
  );
  return router;
}
