import { describe, expect, it } from 'vitest';
import { createLogger } from '../../core/log.js';

describe('logs', () => {
  it('never carry credentials: the token and cookies a request sends, the session cookie a response sets (regression: set-cookie was logged)', () => {
    const lines: string[] = [];
    const log = createLogger('info', 'test', { write: (line: string) => lines.push(line) });
    log.info({ req: { headers: { authorization: 'Bearer token-secret', cookie: 'backhouse.sid=cookie-secret' } }, res: { headers: { 'set-cookie': ['backhouse.sid=set-secret; Path=/'] } } }, 'request completed');
    log.info({ user: { email: 'a@b', password: 'pw-secret', passwordHash: 'hash-secret' } }, 'user');
    const written = lines.join('');
    expect(written).not.toMatch(/secret/);
    expect(written.match(/\[redacted\]/g)).toHaveLength(5);
  });
});
