import type { User } from '@prisma/client';
import { RateLimiterPostgres, RateLimiterRes } from 'rate-limiter-flexible';
import type { Config } from '../config.js';
import type { Context } from '../context.js';
import type { Db } from '../db/index.js';
import { AppError } from '../errors.js';
import { writeAudit } from './audit.js';
import { decoyPasswordHash, hashIsOutdated, hashPassword, verifyPassword } from './passwords.js';
import type { UserPrincipal } from './principal.js';

export function normaliseEmail(email: string): string {
  return email.trim().toLowerCase();
}

export function principalOf(user: Pick<User, 'id' | 'email' | 'name' | 'role' | 'businessId' | 'shopIds'>): UserPrincipal {
  return { kind: 'user', id: user.id, email: user.email, name: user.name, role: user.role, businessId: user.businessId, shopIds: [...user.shopIds] };
}

/**
 * Failed sign-ins counted per account and per client address in PostgreSQL, so every web process
 * shares the count. A success clears the account's count.
 */
export class LoginThrottle {
  private readonly byAccount: RateLimiterPostgres;
  private readonly byAddress: RateLimiterPostgres;

  constructor(db: Db, config: Pick<Config, 'LOGIN_MAX_FAILURES_PER_ACCOUNT' | 'LOGIN_MAX_FAILURES_PER_IP' | 'LOGIN_BLOCK_SECONDS'>) {
    const common = {
      storeClient: db.pool,
      storeType: 'pool',
      tableName: 'login_attempts',
      tableCreated: true,
      clearExpiredByTimeout: false,
      duration: config.LOGIN_BLOCK_SECONDS,
    };
    this.byAccount = new RateLimiterPostgres({ ...common, keyPrefix: 'account', points: config.LOGIN_MAX_FAILURES_PER_ACCOUNT });
    this.byAddress = new RateLimiterPostgres({ ...common, keyPrefix: 'ip', points: config.LOGIN_MAX_FAILURES_PER_IP });
  }

  /** Throws 429 when either counter is used up. */
  async assertAllowed(email: string, ip: string): Promise<void> {
    const [account, address] = await Promise.all([this.byAccount.get(email), this.byAddress.get(ip)]);
    const blocked = [
      { res: account, limit: this.byAccount.points },
      { res: address, limit: this.byAddress.points },
    ].find(({ res, limit }) => res !== null && res.consumedPoints >= limit);
    if (blocked?.res) {
      const retryAfterSeconds = Math.max(1, Math.ceil(blocked.res.msBeforeNext / 1000));
      throw new AppError('too_many_requests', `Too many failed sign-ins. Try again in ${Math.ceil(retryAfterSeconds / 60)} minute(s).`, {
        retryAfterSeconds,
      });
    }
  }

  async recordFailure(email: string, ip: string): Promise<void> {
    await Promise.all([
      this.byAccount.penalty(email, 1),
      this.byAddress.penalty(ip, 1),
    ]).catch((error: unknown) => {
      if (!(error instanceof RateLimiterRes)) throw error;
    });
  }

  async recordSuccess(email: string): Promise<void> {
    await this.byAccount.delete(email);
  }
}

export interface SignInInput {
  email: string;
  password: string;
  ip: string;
}

/** A successful sign-in: who, and the auth version the token or session it opens carries. */
export interface SignedIn {
  principal: UserPrincipal;
  authVersion: number;
}

/**
 * Checks an email and password. The same message for an unknown email and a wrong password, so the
 * answer does not reveal who has an account; a disabled account is named only to its rightful owner.
 */
export async function signIn(ctx: Context, throttle: LoginThrottle, input: SignInInput): Promise<SignedIn> {
  const email = normaliseEmail(input.email);
  await throttle.assertAllowed(email, input.ip);
  const user = await ctx.db.prisma.user.findUnique({ where: { email } });
  const passwordMatches = await verifyPassword(user?.passwordHash ?? (await decoyPasswordHash()), input.password);
  if (!user || !passwordMatches) {
    await throttle.recordFailure(email, input.ip);
    ctx.log.info({ email, ip: input.ip }, 'sign-in failed');
    throw new AppError('unauthenticated', 'The email or password is incorrect.');
  }
  if (user.disabled) {
    throw new AppError('forbidden', 'This account is disabled. Ask an admin to enable it.');
  }
  await throttle.recordSuccess(email);
  // A hash made with older settings is replaced while the password is at hand: the one moment it can be.
  const rehashed = hashIsOutdated(user.passwordHash) ? await hashPassword(input.password) : null;
  const signedIn = await ctx.db.prisma.user.update({ where: { id: user.id }, data: { lastLoginAt: new Date(), ...(rehashed ? { passwordHash: rehashed } : {}) } });
  const principal = principalOf(signedIn);
  await writeAudit({ ...ctx, user: principal }, { resource: 'users', recordId: user.id, action: 'login', businessId: user.businessId, ...(rehashed ? { after: { passwordHashUpgraded: true } } : {}) });
  return { principal, authVersion: signedIn.authVersion };
}
