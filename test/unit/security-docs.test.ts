import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { roles } from '../../core/auth/principal.js';
import { configVariableNames, projectRoot } from '../../core/config.js';

const readme = fs.readFileSync(path.join(projectRoot, 'README.md'), 'utf8');
const security = /\n## Security\n([\s\S]*?)\n## /.exec(readme)?.[1] ?? '';

describe("the README's security section", () => {
  it('exists', () => {
    expect(security.length).toBeGreaterThan(1000);
  });

  it('says what every role may do', () => {
    for (const role of roles) expect(security).toMatch(new RegExp(`\\n\\| \`${role}\` \\| \\S`));
  });

  it('says how each secret the product reads is provided and how to rotate it', () => {
    const secrets = configVariableNames.filter((name) => /SECRET|PASSWORD|API_KEY/.test(name));
    expect(secrets.length).toBeGreaterThanOrEqual(4);
    for (const name of secrets) expect(security, name).toContain(`\`${name}\``);
    expect(security).toMatch(/\| secret \| provided by \| stored \| rotate \|/);
  });

  it('names every way a token or a session ends, and the cross-site rule', () => {
    for (const way of ['POST /api/auth/logout', '/admin/logout', 'POST /api/users/:id/sessions/end', 'End sessions', 'password change', 'disabling']) expect(security, way).toContain(way);
    expect(security).toMatch(/Cross-site requests/);
  });
});
