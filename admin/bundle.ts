import fs from 'node:fs';
import path from 'node:path';

/**
 * Outside production AdminJS bundles the custom components on the first request for them, but serves
 * any bundle.js already in its folder, even one from an older build without today's components.
 * Removing it at start-up makes the first request build the current components.
 */
export function discardStaleDevelopmentBundle(): void {
  if (process.env.NODE_ENV === 'production') return;
  const dir = process.env.ADMIN_JS_TMP_DIR || '.adminjs';
  fs.rmSync(path.join(dir, 'bundle.js'), { force: true });
}
