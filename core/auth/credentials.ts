import { z } from 'zod';
import type { Context } from '../context.js';
import { isDatabaseUnavailable } from '../db/availability.js';
import type { Db } from '../db/index.js';
import { AppError } from '../errors.js';
import { writeAudit } from './audit.js';
import { assertCan } from './permissions.js';
import type { UserPrincipal } from './principal.js';
import { principalOf } from './signIn.js';

/** A bearer token: whose, under which auth version, and its own id (it can be ended alone until it expires). */
export interface TokenCredential {
  kind: 'token';
  userId: string;
  authVersion: number;
  tokenId: string;
  expiresAt: Date;
}

/** An admin session (ended alone by destroying it: /admin/logout). */
export interface SessionCredential {
  kind: 'session';
  userId: string;
  authVersion: number;
}

/** What a caller presents, checked on every request by principalOfCredential. */
export type Credential = TokenCredential | SessionCredential;

/** What an admin session keeps of its user besides the principal: the id and the auth version it signed in under. */
export interface AdminSessionUser {
  id?: string;
  authVersion?: number;
}

/** The credential an admin session holds, or null when nobody is signed in to it. */
export function sessionCredential(user: AdminSessionUser | undefined): SessionCredential | null {
  if (!user?.id) return null;
  // A session from before versions were kept holds none: it counts as ended.
  return { kind: 'session', userId: user.id, authVersion: user.authVersion ?? -1 };
}

/**
 * The signed-in user behind a credential, or null: the user is gone or disabled, their password changed or
 * all their sessions were ended since it was issued (the auth version moved on), or this token was ended.
 */
export async function principalOfCredential(db: Db, credential: Credential): Promise<UserPrincipal | null> {
  const [user, revoked] = await Promise.all([
    db.prisma.user.findUnique({ where: { id: credential.userId } }).catch((error: unknown) => {
      // An id that is no user's is nobody; a database that cannot answer is no reason to sign anyone out (503).
      if (isDatabaseUnavailable(error)) throw error;
      return null;
    }),
    credential.kind === 'token' ? db.prisma.revokedToken.count({ where: { tokenId: credential.tokenId } }) : Promise.resolve(0),
  ]);
  if (!user || user.disabled || user.authVersion !== credential.authVersion || revoked > 0) return null;
  return principalOf(user);
}

/** Ends the caller's bearer token (sign-out), audited. Other tokens and sessions of theirs keep working. */
export async function endToken(ctx: Context, credential: Credential): Promise<void> {
  if (credential.kind !== 'token') {
    throw new AppError('bad_request', 'Only a bearer token is signed out here: send it as "Authorization: Bearer <token>". The admin\'s session ends with its "Log out" (/admin/logout).');
  }
  const user = ctx.user.kind === 'user' ? ctx.user : null;
  await ctx.db.prisma.$transaction(async (tx) => {
    // Records of tokens past their expiry are dead weight: an expired token is refused for that alone.
    await tx.revokedToken.deleteMany({ where: { expiresAt: { lt: new Date() } } });
    await tx.revokedToken.createMany({ data: [{ tokenId: credential.tokenId, userId: credential.userId, expiresAt: credential.expiresAt }], skipDuplicates: true });
    await writeAudit(ctx, { resource: 'users', recordId: credential.userId, action: 'logout', businessId: user?.businessId ?? null, after: { tokenId: credential.tokenId } }, tx);
  });
}

/**
 * Ends every token and admin session of a user ("sign out everywhere"): a user for themselves, an admin for
 * anyone. Audited with the auth version before and after.
 */
export async function endUserSessions(ctx: Context, userId: string): Promise<void> {
  const self = ctx.user.kind === 'user' && ctx.user.id === userId;
  if (!self) assertCan(ctx.user, 'users', 'edit');
  const notFound = new AppError('not_found', `User ${userId} was not found.`);
  if (!z.string().uuid().safeParse(userId).success) throw notFound;
  await ctx.db.prisma.$transaction(async (tx) => {
    const before = await tx.user.findUnique({ where: { id: userId }, select: { authVersion: true, businessId: true } });
    if (!before || (!self && ctx.scope.kind === 'business' && before.businessId !== ctx.scope.businessId)) throw notFound;
    const after = await tx.user.update({ where: { id: userId }, data: { authVersion: { increment: 1 } }, select: { authVersion: true } });
    await writeAudit(ctx, { resource: 'users', recordId: userId, action: 'end_sessions', businessId: before.businessId, before: { authVersion: before.authVersion }, after: { authVersion: after.authVersion } }, tx);
  });
}
