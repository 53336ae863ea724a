import { randomUUID } from 'node:crypto';
import { SignJWT, jwtVerify, errors as joseErrors } from 'jose';
import { z } from 'zod';
import { AppError } from '../errors.js';
import type { TokenCredential } from './credentials.js';

const ISSUER = 'backhouse';
const AUDIENCE = 'backhouse-api';

/**
 * The signing key of a secret, imported once: importing it for every request was a fifth of a token check's
 * CPU (found by bench:api). A rotated secret gets a key of its own.
 */
const keys = new Map<string, Promise<CryptoKey>>();
function keyOf(secret: string): Promise<CryptoKey> {
  let key = keys.get(secret);
  if (!key) {
    key = crypto.subtle.importKey('raw', new TextEncoder().encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
    keys.set(secret, key);
  }
  return key;
}

/** The claims of ours a token carries besides the standard ones: the user's auth version it was issued under. */
const tokenClaims = z.object({ sub: z.string().uuid(), jti: z.string().uuid(), exp: z.number().int(), av: z.number().int().min(0) });

/**
 * A signed, expiring bearer token naming a user, with an id of its own (so that it can be ended alone) and
 * the user's auth version (so that a password change or "end all sessions" ends it). Role and scope are
 * re-read from the database per request.
 */
export async function issueToken(secret: string, user: { userId: string; authVersion: number }, ttlSeconds: number): Promise<{ token: string; expiresAt: Date }> {
  const expiresAt = new Date(Date.now() + ttlSeconds * 1000);
  const token = await new SignJWT({ av: user.authVersion })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(user.userId)
    .setJti(randomUUID())
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(Math.floor(expiresAt.getTime() / 1000))
    .sign(await keyOf(secret));
  return { token, expiresAt };
}

/** What a valid token proves; a clear 401 otherwise. */
export async function verifyToken(secret: string, token: string): Promise<TokenCredential> {
  let payload: unknown;
  try {
    ({ payload } = await jwtVerify(token, await keyOf(secret), { issuer: ISSUER, audience: AUDIENCE, algorithms: ['HS256'] }));
  } catch (error) {
    if (error instanceof joseErrors.JWTExpired) throw new AppError('unauthenticated', 'Your token has expired. Sign in again.');
    throw new AppError('unauthenticated', 'The token is not valid. Sign in again.');
  }
  // Signed by us but without an id or version: issued before tokens could be ended, so it counts as ended.
  const claims = tokenClaims.safeParse(payload);
  if (!claims.success) throw new AppError('unauthenticated', 'The token is from an older version of Backhouse. Sign in again.');
  return { kind: 'token', userId: claims.data.sub, tokenId: claims.data.jti, authVersion: claims.data.av, expiresAt: new Date(claims.data.exp * 1000) };
}
