import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { loadConfig, type Config } from './config.js';
import { AppError } from './errors.js';

/**
 * Secrets the product must use again later (webhook signing secrets, Tekmetric client secrets per
 * connection) are stored sealed: AES-256-GCM under the key `SECRETS_KEY`, with a random 96-bit nonce per seal.
 * Whoever reads the database (a backup, a reporting login) does not read the secrets.
 *
 * A sealed secret is text: `v1.<key id>.<nonce>.<ciphertext>.<tag>`, the last three in base64url. The version
 * says how the rest is read; the key id (the first 8 bytes of the key's SHA-256, in hex) tells a secret sealed
 * under another key from a damaged one. The version and key id are authenticated with the ciphertext.
 */

const VERSION = 'v1';
const KEY_BYTES = 32;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

/** The file a generated key is kept in, under DATA_DIR (outside the database, so a database dump does not carry it). */
export const GENERATED_KEY_FILE = 'secrets.key';

export interface SecretsKey {
  key: Buffer;
  /** The first 8 bytes of the key's SHA-256, in hex: written into each sealed secret. */
  id: string;
  /** Where the key came from, for the start-up log. */
  source: 'environment' | 'generated';
}

function keyOf(key: Buffer, source: SecretsKey['source']): SecretsKey {
  return { key, id: createHash('sha256').update(key).digest('hex').slice(0, 16), source };
}

/** A 32-byte key from its text: 64 hex digits, or base64 (standard or URL-safe) of 32 bytes. */
export function parseSecretsKey(text: string): Buffer {
  const trimmed = text.trim();
  const key = /^[0-9a-f]{64}$/i.test(trimmed) ? Buffer.from(trimmed, 'hex') : /^[A-Za-z0-9+/_-]+={0,2}$/.test(trimmed) ? Buffer.from(trimmed, 'base64') : Buffer.alloc(0);
  if (key.length !== KEY_BYTES) {
    throw new AppError('internal', `SECRETS_KEY must be a 32-byte key written as 64 hex digits or as base64 (44 characters); generate one with: openssl rand -base64 32`);
  }
  return key;
}

/**
 * The key secrets are sealed with. From `SECRETS_KEY` when it is set. Without it, development and tests use
 * a key generated on first use and kept in `DATA_DIR/secrets.key` (readable by the owner only; every process
 * using that DATA_DIR shares it). Production refuses: a generated key lost with a container would make every
 * sealed secret unreadable, so it must be set, kept and backed up on purpose.
 */
export function resolveSecretsKey(config: Pick<Config, 'SECRETS_KEY' | 'NODE_ENV' | 'DATA_DIR'>): SecretsKey {
  if (config.SECRETS_KEY) return keyOf(parseSecretsKey(config.SECRETS_KEY), 'environment');
  if (config.NODE_ENV === 'production') {
    throw new AppError(
      'internal',
      'SECRETS_KEY is not set, and in production Backhouse does not generate one: secrets (webhook signing secrets, Tekmetric client secrets) are sealed with it. Generate one with `openssl rand -base64 32`, keep it with your other secrets, set SECRETS_KEY and restart.',
    );
  }
  const file = path.join(config.DATA_DIR, GENERATED_KEY_FILE);
  if (!fs.existsSync(file)) {
    fs.mkdirSync(config.DATA_DIR, { recursive: true });
    // Written whole under another name, then linked into place: a process starting beside this one sees no
    // key file or a whole one, and of two that generate at once the first link wins and both read its key.
    const draft = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
    fs.writeFileSync(draft, `${randomBytes(KEY_BYTES).toString('base64')}\n`, { mode: 0o600 });
    try {
      fs.linkSync(draft, file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    } finally {
      fs.rmSync(draft, { force: true });
    }
  }
  return keyOf(parseSecretsKey(fs.readFileSync(file, 'utf8')), 'generated');
}

let current: SecretsKey | null = null;

/**
 * Sets the key from the process's configuration (called at start). Without a call, the first seal or open
 * resolves it from the environment (commands, tests).
 */
export function useSecretsKey(config: Pick<Config, 'SECRETS_KEY' | 'NODE_ENV' | 'DATA_DIR'>): SecretsKey {
  current = resolveSecretsKey(config);
  return current;
}

function currentKey(): SecretsKey {
  current ??= resolveSecretsKey(loadConfig());
  return current;
}

/** Seals `plaintext` under `key` (the process's key by default). */
export function sealSecret(plaintext: string, key: SecretsKey = currentKey()): string {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key.key, nonce);
  cipher.setAAD(Buffer.from(`${VERSION}.${key.id}`));
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return [VERSION, key.id, nonce.toString('base64url'), ciphertext.toString('base64url'), cipher.getAuthTag().toString('base64url')].join('.');
}

/** The plaintext of a sealed secret; refused, saying why, when it is damaged or was sealed under another key. */
export function openSecret(sealed: string, key: SecretsKey = currentKey()): string {
  const parts = sealed.split('.');
  if (parts[0] !== VERSION || parts.length !== 5) {
    throw new AppError('internal', `A stored secret is not in a sealed format Backhouse reads (it starts with “${parts[0]?.slice(0, 8) ?? ''}”): it may have been stored by a newer version, or damaged. Set it again.`);
  }
  const [, keyId, nonceText, ciphertextText, tagText] = parts as [string, string, string, string, string];
  if (keyId !== key.id) {
    throw new AppError(
      'internal',
      `A stored secret was sealed under another SECRETS_KEY (key id ${keyId}; the key in use has id ${key.id}). Set SECRETS_KEY back to the key it was sealed with, or set the secret again.`,
    );
  }
  const nonce = Buffer.from(nonceText, 'base64url');
  const tag = Buffer.from(tagText, 'base64url');
  if (nonce.length !== NONCE_BYTES || tag.length !== TAG_BYTES) throw damaged();
  try {
    const decipher = createDecipheriv('aes-256-gcm', key.key, nonce);
    decipher.setAAD(Buffer.from(`${VERSION}.${keyId}`));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(Buffer.from(ciphertextText, 'base64url')), decipher.final()]).toString('utf8');
  } catch {
    throw damaged();
  }
}

const damaged = () => new AppError('internal', 'A stored secret fails its integrity check: it was changed or damaged after it was sealed. Set it again.');
