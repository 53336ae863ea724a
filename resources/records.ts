import type { ResourceWithOptions } from 'adminjs';
import type { RecordResource } from '../core/records/definitions.js';
import { definitionOf } from '../core/records/definitions.js';
import type { Db } from '../core/db/index.js';
import type { DmmfModel } from '../admin/dmmf.js';
import type { AdminDeps } from './context.js';
import { RecordsResource } from './records-resource.js';

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

export type AdminResource = ResourceWithOptions;
