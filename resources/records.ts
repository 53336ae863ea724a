import type { ResourceWithOptions } from 'adminjs';
import type { RecordResource } from '../core/records/definitions.js';
import { definitionOf } from '../core/records/definitions.js';
import type { Db } from '../core/db/index.js';
import type { DmmfModel } from '../admin/dmmf.js';
import type { AdminDeps } from './context.js';
import { RecordsResource } from './records-resource.js';
import { standardActions } from './access.js';

export interface ResourceFactoryDeps extends AdminDeps {
  db: Db;
  models: Map<string, DmmfModel>;
  clientModule: unknown;
}

/** A RecordsResource for one core record resource, from the full Prisma model description. */
export function recordsResource(deps: ResourceFactoryDeps, resource: RecordResource): RecordsResource {
  const model = deps.models.get(definitionOf(resource).model);
  if (!model) throw new Error(`schema.prisma has no model ${definitionOf(resource).model}`);
  return new RecordsResource({ model, client: deps.db.prisma, clientModule: deps.clientModule } as ConstructorParameters<typeof RecordsResource>[0], resource, deps);
}

/**
 * A model's column defaults that are plain values (`@default(true)`, `@default("each")`), not generated
 * ones (now(), ids) nor lists or JSON: what a new record's form starts from. AdminJS does not know them, so
 * a box the database ticks by default showed unticked on the form.
 */
export function columnDefaults(deps: ResourceFactoryDeps, resource: RecordResource): Record<string, string | number | boolean> {
  const model = deps.models.get(definitionOf(resource).model)!;
  const defaults: Record<string, string | number | boolean> = {};
  for (const field of model.fields) {
    const value: unknown = field.default;
    if (field.kind !== 'scalar' || field.isList || field.isId || field.type === 'Json') continue;
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') defaults[field.name] = value;
  }
  return defaults;
}

/** The standard actions of a records screen, its new-record form starting from the model's column defaults. */
export function recordActions(deps: ResourceFactoryDeps, resource: RecordResource): ReturnType<typeof standardActions> {
  return standardActions(resource, columnDefaults(deps, resource));
}

export type AdminResource = ResourceWithOptions;
