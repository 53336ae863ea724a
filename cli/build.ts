import fs from 'node:fs';
import path from 'node:path';
import { buildSync } from 'esbuild';
import { buildAdminBundle } from '../admin/bundle.js';
import { projectRoot } from '../core/config.js';

/** The server's source folders; tests, benchmarks and config files are not part of the running product. */
const sourceFolders = ['app', 'core', 'jobs', 'api', 'admin', 'resources', 'actions', 'dashboards', 'cli'];

/** Where `npm start` runs the product from. */
export const buildDir = path.join(projectRoot, '.build');

function sourceFiles(folder: string): string[] {
  return fs.readdirSync(folder, { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(folder, entry.name);
    if (entry.isDirectory()) return sourceFiles(file);
    return /\.tsx?$/.test(entry.name) && !entry.name.endsWith('.d.ts') ? [file] : [];
  });
}

/** What the build was made from: each source's path, size and modification time. */
function fingerprint(files: string[]): string {
  return files
    .map((file) => {
      const stat = fs.statSync(file);
      return `${path.relative(projectRoot, file)} ${stat.size} ${stat.mtimeMs}`;
    })
    .join('\n');
}

/**
 * Transpiles the server's TypeScript file by file into `.build/` (same layout, same relative imports), so
 * the product runs on plain Node. Running it through tsx instead keeps a loader thread that holds a copy of
 * every module it loads: ~170 MB more for the web process, which imports AdminJS. Types are checked by
 * `npm test` (tsc), not here. An unchanged source tree is not built again; a changed one is built aside and
 * swapped in whole, so a web and a worker process started together from one checkout never read a half-built
 * folder.
 */
export function buildServer(): string {
  const files = sourceFolders.flatMap((folder) => sourceFiles(path.join(projectRoot, folder)));
  const sources = fingerprint(files);
  const stamp = path.join(buildDir, '.sources');
  if (fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8') === sources) return startScript;
  const fresh = `${buildDir}.new-${process.pid}`;
  buildSync({ entryPoints: files, outdir: fresh, outbase: projectRoot, format: 'esm', platform: 'node', target: 'node20', jsx: 'transform', logLevel: 'warning' });
  fs.writeFileSync(path.join(fresh, '.sources'), sources);
  const previous = `${buildDir}.old-${process.pid}`;
  if (fs.existsSync(buildDir)) fs.renameSync(buildDir, previous);
  fs.renameSync(fresh, buildDir);
  fs.rmSync(previous, { recursive: true, force: true });
  return startScript;
}

/**
 * What `npm start` (its prestart), `web` and `worker` build: the server, and the admin's browser scripts
 * (minified; rebuilt only when the components or the installed packages change, see admin/bundle.ts).
 */
export function buildProduct(): string {
  buildAdminBundle((message) => console.log(message));
  return buildServer();
}

/** The built `cli/start.ts`: what `npm start`, `npm run web` and `npm run worker` run. */
export const startScript = path.join(buildDir, 'cli', 'start.js');

if (process.argv[1] && path.resolve(process.argv[1]) === path.join(projectRoot, 'cli', 'build.ts')) {
  buildProduct();
}
