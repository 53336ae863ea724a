import fs from 'node:fs';
import path from 'node:path';
import prismaInternals from '@prisma/internals';
import { projectRoot } from '../core/config.js';

// @prisma/internals is CommonJS without named ESM exports.
const { getDMMF } = prismaInternals;
type FullDmmf = Awaited<ReturnType<typeof getDMMF>>;
export type DmmfModel = FullDmmf['datamodel']['models'][number];

/**
 * The full Prisma model description, read from schema.prisma. The runtime client built with
 * engineType "client" carries a trimmed one without `isId`, on which @adminjs/prisma cannot list.
 */
export async function loadDmmf(): Promise<{ models: Map<string, DmmfModel>; clientModule: unknown }> {
  const datamodel = fs.readFileSync(path.join(projectRoot, 'prisma', 'schema.prisma'), 'utf8');
  const dmmf = await getDMMF({ datamodel });
  return {
    models: new Map(dmmf.datamodel.models.map((model) => [model.name, model])),
    clientModule: { Prisma: { dmmf } },
  };
}
