import { randomBytes } from 'node:crypto';
import type { Config } from './config.js';
import type { Db } from './db/index.js';
import type { Logger } from './log.js';

export interface Secrets {
  sessionSecret: string;
  tokenSecret: string;
}

/**
 * Signing keys from the environment; where none is given, one generated on first start and kept in
 * the database, so that every process (and every restart) signs with the same key.
 */
export async function loadSecrets(db: Db, config: Config, log: Logger): Promise<Secrets> {
  const stored = async (name: string, fromEnv: string | undefined): Promise<string> => {
    if (fromEnv) return fromEnv;
    if (config.NODE_ENV === 'production') log.warn({ name }, 'no secret in the environment: using one generated and kept in the database');
    await db.prisma.appSecret.createMany({ data: [{ name, value: randomBytes(48).toString('base64url') }], skipDuplicates: true });
    const row = await db.prisma.appSecret.findUniqueOrThrow({ where: { name } });
    return row.value;
  };
  return {
    sessionSecret: await stored('session', config.SESSION_SECRET),
    tokenSecret: await stored('token', config.TOKEN_SECRET),
  };
}
