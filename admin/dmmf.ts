import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type prismaInternals from '@prisma/internals';
import { projectRoot } from '../core/config.js';

type FullDmmf = Awaited<ReturnType<typeof prismaInternals.getDMMF>>;
export type Datamodel = FullDmmf['datamodel'];
export type DmmfModel = Datamodel['models'][number];

const schemaPath = path.join(projectRoot, 'prisma', 'schema.prisma');

/**
 * The full Prisma model description of schema.prisma. The runtime client built with engineType "client"
 * carries a trimmed one without `isId`, on which @adminjs/prisma cannot list. Computing it loads Prisma's
 * schema engine (about 100 MB that a web process would keep), so a short-lived child process does it once per
 * schema version and the result is kept beside AdminJS's bundle.
 */
export async function loadDmmf(): Promise<{ models: Map<string, DmmfModel>; clientModule: unknown }> {
  const schema = fs.readFileSync(schemaPath);
  const cacheDir = path.resolve(projectRoot, process.env.ADMIN_JS_TMP_DIR || '.adminjs');
  const cacheFile = path.join(cacheDir, `datamodel-${createHash('sha256').update(schema).digest('hex').slice(0, 16)}.json`);
  let datamodel: Datamodel;
  try {
    datamodel = JSON.parse(fs.readFileSync(cacheFile, 'utf8')) as Datamodel;
  } catch {
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', path.join(projectRoot, 'admin', 'print-datamodel.ts')], { cwd: projectRoot, maxBuffer: 64 * 1024 * 1024 });
    datamodel = JSON.parse(stdout) as Datamodel;
    fs.mkdirSync(cacheDir, { recursive: true });
    // Written aside and renamed: processes starting together never read half a file.
    const partial = `${cacheFile}.${process.pid}`;
    fs.writeFileSync(partial, stdout);
    fs.renameSync(partial, cacheFile);
  }
  return {
    models: new Map(datamodel.models.map((model) => [model.name, model])),
    clientModule: { Prisma: { dmmf: { datamodel } } },
  };
}
