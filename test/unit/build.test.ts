import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { buildAdminBundle, bundleKey } from '../../admin/bundle.js';
import { buildDir, buildServer, startScript } from '../../cli/build.js';
import { projectRoot } from '../../core/config.js';

describe('the build npm start runs', () => {
  it('holds every server module as JavaScript and is not rebuilt while the sources are unchanged', () => {
    const stamp = path.join(buildDir, '.sources');
    buildServer();
    const builtAt = fs.statSync(stamp).mtimeMs;
    expect(buildServer()).toBe(startScript);
    expect(fs.statSync(stamp).mtimeMs).toBe(builtAt);
    for (const module of ['cli/start.js', 'app/runtime.js', 'app/server.js', 'core/feeds/stage.js', 'admin/index.js']) expect(fs.existsSync(path.join(buildDir, module)), module).toBe(true);
  });

  it('finds the project root from inside .build/, as from the sources', async () => {
    const built = (await import(pathToFileURL(path.join(buildDir, 'core', 'config.js')).href)) as { projectRoot: string };
    expect(built.projectRoot).toBe(projectRoot);
    expect(fs.existsSync(path.join(built.projectRoot, 'prisma', 'migrations'))).toBe(true);
  });
});

describe('the admin\'s scripts npm start builds', () => {
  it('are built once for the components and packages they are made from, and not again while those are unchanged', () => {
    const dir = buildAdminBundle();
    const builtAt = fs.statSync(path.join(dir, 'components.bundle.js')).mtimeMs;
    expect(path.basename(dir)).toBe(bundleKey());
    expect(buildAdminBundle()).toBe(dir);
    expect(fs.statSync(path.join(dir, 'components.bundle.js')).mtimeMs).toBe(builtAt);
    for (const name of ['global.bundle.js', 'design-system.bundle.js', 'app.bundle.js', 'components.bundle.js']) {
      expect(zlib.gunzipSync(fs.readFileSync(path.join(dir, `${name}.gz`))).equals(fs.readFileSync(path.join(dir, name))), name).toBe(true);
    }
  });
});
