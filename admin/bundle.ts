import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import zlib from 'node:zlib';
import express, { type Router } from 'express';
import { projectRoot } from '../core/config.js';
import type { Logger } from '../core/log.js';
import { componentFiles } from './components.js';

/**
 * The scripts every admin page loads, as AdminJS names them in its pages. AdminJS serves its development
 * builds unless NODE_ENV=production (34 MB with our components, bundled by rollup on the first request:
 * 14 s for the first page after a start, ~2 s for each page after); these are the production ones, minified.
 */
const scriptNames = ['global.bundle.js', 'design-system.bundle.js', 'app.bundle.js', 'components.bundle.js'] as const;
type ScriptName = (typeof scriptNames)[number];

/** Built admin scripts, one folder per key (see bundleKey). */
const adminAssetsDir = path.join(projectRoot, '.adminjs', 'assets');
const bundleScript = path.join(projectRoot, 'admin', 'bundle-components.ts');

const adminjsRequire = createRequire(createRequire(import.meta.url).resolve('adminjs'));
const adminjsDir = path.dirname(adminjsRequire.resolve('adminjs'));

/** AdminJS's own scripts, production builds, as it ships them. */
function shippedScripts(): Record<Exclude<ScriptName, 'components.bundle.js'>, string> {
  const scripts = path.join(adminjsDir, 'lib', 'frontend', 'assets', 'scripts');
  return {
    'global.bundle.js': path.join(scripts, 'global-bundle.production.js'),
    'design-system.bundle.js': path.join(path.dirname(adminjsRequire.resolve('@adminjs/design-system')), '..', 'bundle.production.js'),
    'app.bundle.js': path.join(scripts, 'app-bundle.production.js'),
  };
}

/** `import … from './x.js'` and `export … from './x.js'`, not `import type`: what a component's bundle takes in. */
const relativeImport = /^\s*(?:import(?!\s+type\b)|export)\b[^;]*?from\s*['"](\.{1,2}\/[^'"]+)['"]/gm;

function resolveSource(from: string, specifier: string): string | null {
  const base = path.resolve(path.dirname(from), specifier);
  const stem = base.replace(/\.jsx?$/, '');
  return [base, `${stem}.ts`, `${stem}.tsx`].find((file) => fs.existsSync(file) && fs.statSync(file).isFile()) ?? null;
}

/** Every source file the bundle is made from: the components and what they import from the project. */
function bundleSources(): string[] {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const match of fs.readFileSync(file, 'utf8').matchAll(relativeImport)) {
      const imported = resolveSource(file, match[1]!);
      if (imported) visit(imported);
    }
  };
  componentFiles.forEach(visit);
  return [...seen].sort();
}

/**
 * What the admin's scripts are made from: the components' sources and their list, the installed packages
 * (the lockfile: recharts and AdminJS itself are bundled in or shipped) and the bundling script. The same key
 * means the same scripts, so a key names a folder built once and the scripts' URLs can be cached for ever.
 */
export function bundleKey(): string {
  const hash = crypto.createHash('sha256');
  for (const file of [...bundleSources(), path.join(projectRoot, 'package-lock.json'), bundleScript, path.join(projectRoot, 'admin', 'components.ts')]) {
    if (!fs.existsSync(file)) continue;
    hash.update(`${path.relative(projectRoot, file)}\0`).update(fs.readFileSync(file)).update('\0');
  }
  return hash.digest('hex').slice(0, 16);
}

/**
 * The admin's scripts for the current sources, built when there are none for them yet: the components
 * bundled and minified by AdminJS's bundler in a child process (AdminJS picks minification from NODE_ENV when
 * it is imported), AdminJS's own production scripts beside them, each also gzipped. Built aside and renamed
 * into place, so processes started together never read a half-built folder. Returns the folder.
 */
export function buildAdminBundle(announce: (message: string) => void = () => undefined): string {
  const key = bundleKey();
  const dir = path.join(adminAssetsDir, key);
  if (fs.existsSync(path.join(dir, 'components.bundle.js'))) return dir;
  announce(`bundling the admin's components (once for each change of them; key ${key})…`);
  const fresh = path.join(adminAssetsDir, `.new-${key}-${process.pid}`);
  fs.rmSync(fresh, { recursive: true, force: true });
  fs.mkdirSync(fresh, { recursive: true });
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_ENV: 'production', ADMIN_JS_TMP_DIR: fresh };
  delete env.ADMIN_JS_SKIP_BUNDLE;
  const run = spawnSync(process.execPath, ['--import', 'tsx', bundleScript], { cwd: projectRoot, env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const output = `${run.stdout}${run.stderr}`;
  // A component importing a package that is not installed is only a warning to rollup, and a broken page.
  if (run.status !== 0 || /Unresolved dependencies|treating it as an external dependency/.test(output)) {
    fs.rmSync(fresh, { recursive: true, force: true });
    throw new Error(`bundling the admin's components failed (exit ${run.status}):\n${output.slice(-4000)}`);
  }
  try {
    fs.renameSync(path.join(fresh, 'bundle.js'), path.join(fresh, 'components.bundle.js'));
    fs.rmSync(path.join(fresh, 'entry.js'), { force: true });
    for (const [name, source] of Object.entries(shippedScripts())) fs.copyFileSync(source, path.join(fresh, name));
    for (const name of scriptNames) fs.writeFileSync(path.join(fresh, `${name}.gz`), zlib.gzipSync(fs.readFileSync(path.join(fresh, name)), { level: 9 }));
    fs.renameSync(fresh, dir);
  } catch (error) {
    fs.rmSync(fresh, { recursive: true, force: true });
    // Another process built the same key first: its folder is as good as ours.
    if (!fs.existsSync(path.join(dir, 'components.bundle.js'))) throw error;
  }
  pruneOldBundles(key);
  return dir;
}

/** Keeps the newest builds (a process started before a change may still serve its own) and drops the rest. */
function pruneOldBundles(current: string): void {
  const builds = fs
    .readdirSync(adminAssetsDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && !entry.name.startsWith('.') && entry.name !== current)
    .map((entry) => ({ name: entry.name, at: fs.statSync(path.join(adminAssetsDir, entry.name)).mtimeMs }))
    .sort((a, b) => b.at - a.at);
  for (const old of builds.slice(2)) fs.rmSync(path.join(adminAssetsDir, old.name), { recursive: true, force: true });
}

export interface AdminAssets {
  /** Serves the scripts at `<mount>/<key>/<name>`, gzipped when the browser takes it, cacheable for a year. */
  router: Router;
  /** The admin's pages as AdminJS renders them, with its script addresses replaced by the built ones. */
  rewritePage(html: string): string;
  /** The built address of one of AdminJS's script names, or null. */
  urlOf(name: string): string | null;
}

/** The built scripts for the current sources (building them if needed), served under `mountPath`. */
export function adminAssets(mountPath: string, adminRoot: string, log: Logger): AdminAssets {
  const dir = buildAdminBundle((message) => log.warn(`${message} It is built by \`npm run build\` (npm start's prestart); building it now.`));
  const key = path.basename(dir);
  const urls = Object.fromEntries(scriptNames.map((name) => [name, `${mountPath}/${key}/${name}`])) as Record<ScriptName, string>;
  const router = express.Router();
  router.get(`/${key}/:name`, (req, res, next) => {
    const name = req.params.name as ScriptName;
    if (!scriptNames.includes(name)) return next();
    const gzip = req.acceptsEncodings('gzip') === 'gzip';
    res.vary('Accept-Encoding');
    res.type('text/javascript; charset=utf-8');
    if (gzip) res.set('Content-Encoding', 'gzip');
    res.sendFile(path.join(dir, gzip ? `${name}.gz` : name), { maxAge: '365d', immutable: true, acceptRanges: false }, (error) => error && next(error));
  });
  const scriptTag = new RegExp(`src="${adminRoot}/frontend/assets/(${scriptNames.map((n) => n.replace(/\./g, '\\.')).join('|')})"`, 'g');
  return {
    router,
    rewritePage: (html) => html.replace(scriptTag, (_match, name: ScriptName) => `src="${urls[name]}"`),
    urlOf: (name) => (scriptNames as readonly string[]).includes(name) ? urls[name as ScriptName] : null,
  };
}
