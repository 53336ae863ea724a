import type { Config } from '../core/config.js';
import type { CreatedLogin } from '../core/demo/seed.js';

export interface BannerFacts {
  /** The admin's address, or null for a worker-only process. */
  url: string | null;
  createdLogins: CreatedLogin[];
  config: Pick<Config, 'DATABASE_URL' | 'DATA_DIR' | 'ADMIN_EMAIL'>;
}

/**
 * What a person who ran `npm start` in a terminal needs once it is ready: where to go, who to sign in as
 * (with the passwords generated on a first start, shown this once), where the data and the logs are.
 */
export function readyBanner({ url, createdLogins, config }: BannerFacts): string {
  const lines: string[] = [''];
  if (url) {
    lines.push(`  Backhouse is ready: ${url}/admin`, '');
    if (createdLogins.length > 0) {
      lines.push('  Sign in as one of these (the passwords are shown this once: note them now):');
      const width = Math.max(...createdLogins.map((login) => login.email.length));
      for (const login of createdLogins) {
        lines.push(`    ${login.role.padEnd(8)} ${login.email.padEnd(width)}  ${login.generatedPassword ?? '(the password in ADMIN_PASSWORD)'}`);
      }
    } else {
      lines.push(`  Sign in with your login (the first admin: ${config.ADMIN_EMAIL ?? 'admin@backhouse.local'}; passwords were shown on the first start).`);
    }
  } else {
    lines.push('  Backhouse worker is ready: it runs the background jobs (no web pages in this process).');
  }
  lines.push('');
  lines.push(`  Data:  ${config.DATABASE_URL ? 'the PostgreSQL at DATABASE_URL' : `embedded PostgreSQL, files in ${config.DATA_DIR}`}`);
  lines.push('  Logs:  below, in this terminal (JSON lines instead when the output is not a terminal, or with LOG_FORMAT=json)');
  lines.push('  Stop:  Ctrl+C', '', '');
  return lines.join('\n');
}
