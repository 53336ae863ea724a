import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../core/config.js';
import { GENERATED_KEY_FILE, openSecret, parseSecretsKey, resolveSecretsKey, sealSecret, type SecretsKey } from '../../core/sealedSecrets.js';

const keyText = randomBytes(32).toString('base64');
const key = (text = keyText): SecretsKey => resolveSecretsKey({ SECRETS_KEY: text, NODE_ENV: 'production', DATA_DIR: '/nonexistent' });

describe('sealSecret and openSecret', () => {
  it('round-trip any text, with a fresh nonce each time, and never show the plaintext', () => {
    for (const plaintext of ['whsec_0123456789abcdef', '', 'ünïcødé ✓ and a . dot', 'x'.repeat(10_000)]) {
      const sealed = sealSecret(plaintext, key());
      expect(sealed).toMatch(/^v1\.[0-9a-f]{16}\.[\w-]{16}\.[\w-]*\.[\w-]{22}$/);
      if (plaintext.length > 3) expect(sealed).not.toContain(plaintext);
      expect(openSecret(sealed, key())).toBe(plaintext);
    }
    expect(sealSecret('same', key())).not.toBe(sealSecret('same', key()));
  });

  it('refuse a secret changed after sealing, naming what happened', () => {
    const sealed = sealSecret('the secret', key());
    const parts = sealed.split('.');
    const ciphertext = Buffer.from(parts[3]!, 'base64url');
    ciphertext[0]! ^= 1;
    const tampered = [...parts.slice(0, 3), ciphertext.toString('base64url'), parts[4]].join('.');
    expect(() => openSecret(tampered, key())).toThrow(/fails its integrity check: it was changed or damaged after it was sealed/);
    expect(() => openSecret([...parts.slice(0, 4), Buffer.alloc(16).toString('base64url')].join('.'), key())).toThrow(/integrity check/);
    expect(() => openSecret('plain text', key())).toThrow(/not in a sealed format Backhouse reads/);
    expect(() => openSecret(sealed.replace(/^v1/, 'v9'), key())).toThrow(/not in a sealed format/);
  });

  it('refuse a secret sealed under another key, naming both key ids', () => {
    const other = key(randomBytes(32).toString('hex'));
    const sealed = sealSecret('the secret', other);
    expect(() => openSecret(sealed, key())).toThrow(new RegExp(`sealed under another SECRETS_KEY \\(key id ${other.id}; the key in use has id ${key().id}\\)`));
    // The key id is authenticated: pretending it is ours does not open it either.
    expect(() => openSecret(sealed.replace(other.id, key().id), key())).toThrow(/integrity check/);
  });

  it('SECRETS_KEY is 32 bytes as hex or base64; anything else is refused with how to make one', () => {
    const bytes = randomBytes(32);
    expect(parseSecretsKey(bytes.toString('hex'))).toEqual(bytes);
    expect(parseSecretsKey(bytes.toString('base64'))).toEqual(bytes);
    expect(parseSecretsKey(bytes.toString('base64url'))).toEqual(bytes);
    for (const bad of ['short', randomBytes(16).toString('base64'), 'correct horse battery staple correct horse battery']) {
      expect(() => parseSecretsKey(bad)).toThrow(/SECRETS_KEY must be a 32-byte key .* openssl rand -base64 32/);
    }
  });
});

describe('where the key comes from', () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'sealed-secrets-'));
  });
  afterAll(async () => rm(dataDir, { recursive: true, force: true }));

  it('production without SECRETS_KEY refuses, saying how to set one', () => {
    expect(() => resolveSecretsKey(loadConfig({ NODE_ENV: 'production', DATA_DIR: dataDir }))).toThrow(/SECRETS_KEY is not set, and in production Backhouse does not generate one.*openssl rand -base64 32/);
    expect(fs.existsSync(path.join(dataDir, GENERATED_KEY_FILE))).toBe(false);
  });

  it('development without it generates one under DATA_DIR, readable by its owner only, and every later process uses the same', () => {
    const first = resolveSecretsKey(loadConfig({ NODE_ENV: 'development', DATA_DIR: path.join(dataDir, 'nested') }));
    expect(first.source).toBe('generated');
    const file = path.join(dataDir, 'nested', GENERATED_KEY_FILE);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const sealed = sealSecret('kept across restarts', first);
    const again = resolveSecretsKey(loadConfig({ NODE_ENV: 'test', DATA_DIR: path.join(dataDir, 'nested') }));
    expect(again.id).toBe(first.id);
    expect(openSecret(sealed, again)).toBe('kept across restarts');
    // The environment's key wins over a generated one.
    const configured = resolveSecretsKey(loadConfig({ NODE_ENV: 'development', DATA_DIR: path.join(dataDir, 'nested'), SECRETS_KEY: keyText }));
    expect(configured).toMatchObject({ source: 'environment', id: key().id });
  });
});
