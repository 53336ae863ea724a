import argon2 from 'argon2';
import { randomBytes } from 'node:crypto';
import { AppError } from '../errors.js';

export const MIN_PASSWORD_LENGTH = 10;

/**
 * argon2id with OWASP's second recommended setting (19 MiB, 2 passes, 1 lane), equivalent in strength to
 * its first (46 MiB, 1 pass). The library's default takes 64 MiB per hash, which a burst of sign-ins
 * multiplies in the web process. Hashes carry their own settings, so older ones still verify.
 */
export const PASSWORD_HASH_OPTIONS = { type: argon2.argon2id, memoryCost: 19 * 1024, timeCost: 2, parallelism: 1 } as const;

export function hashPassword(password: string): Promise<string> {
  return argon2.hash(password, PASSWORD_HASH_OPTIONS);
}

/** Whether a stored hash was made with other settings than today's (older hashes are upgraded at sign-in). */
export function hashIsOutdated(hash: string): boolean {
  try {
    return argon2.needsRehash(hash, PASSWORD_HASH_OPTIONS);
  } catch {
    return true;
  }
}

export async function verifyPassword(hash: string, password: string): Promise<boolean> {
  try {
    return await argon2.verify(hash, password);
  } catch {
    return false;
  }
}

/** A hash of nothing anyone knows, verified against when an email is unknown so timing does not tell. */
let decoyHash: Promise<string> | null = null;
export function decoyPasswordHash(): Promise<string> {
  decoyHash ??= hashPassword(randomBytes(16).toString('hex'));
  return decoyHash;
}

export function assertPasswordStrength(password: string): void {
  if (password.length < MIN_PASSWORD_LENGTH) {
    throw new AppError('validation_failed', `The password must be at least ${MIN_PASSWORD_LENGTH} characters long.`, [
      { field: 'password', reason: `shorter than ${MIN_PASSWORD_LENGTH} characters` },
    ]);
  }
}

/** A password that is readable when printed once in a log: 4 groups of 5 letters and digits. */
export function generatePassword(): string {
  const alphabet = 'abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789';
  const bytes = randomBytes(20);
  const chars = Array.from(bytes, (byte) => alphabet[byte % alphabet.length]);
  return [0, 5, 10, 15].map((start) => chars.slice(start, start + 5).join('')).join('-');
}
