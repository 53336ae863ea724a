import { SignJWT, jwtVerify, errors as joseErrors } from 'jose';
import { AppError } from '../errors.js';

const ISSUER = 'backhouse';
const AUDIENCE = 'backhouse-api';

/** A signed, expiring bearer token naming a user. Role and scope are re-read from the database per request. */
export async function issueToken(secret: string, userId: string, ttlSeconds: number): Promise<{ token: string; expiresAt: Date }> {
  const expiresAt = new Date(Date.now() + ttlSeconds * 1000);
  const token = await new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(userId)
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(Math.floor(expiresAt.getTime() / 1000))
    .sign(new TextEncoder().encode(secret));
  return { token, expiresAt };
}

/** The user id in a valid token, and when it was issued; a clear 401 otherwise. */
export async function verifyToken(secret: string, token: string): Promise<{ userId: string; issuedAt: Date }> {
  try {
    const { payload } = await jwtVerify(token, new TextEncoder().encode(secret), { issuer: ISSUER, audience: AUDIENCE, algorithms: ['HS256'] });
    if (!payload.sub || payload.iat === undefined) throw new AppError('unauthenticated', 'The token names no user. Sign in again.');
    return { userId: payload.sub, issuedAt: new Date(payload.iat * 1000) };
  } catch (error) {
    if (error instanceof AppError) throw error;
    if (error instanceof joseErrors.JWTExpired) throw new AppError('unauthenticated', 'Your token has expired. Sign in again.');
    throw new AppError('unauthenticated', 'The token is not valid. Sign in again.');
  }
}
