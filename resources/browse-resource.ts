import type { ActionContext, Filter, ParamsType, ResourceWithOptions } from 'adminjs';
import { BaseProperty, BaseRecord } from 'adminjs';
import { AppError } from '../core/errors.js';
import { browseRow, browseRows, type BrowseRow, type BrowseSpec } from '../core/warehouse/browse.js';
import { allowed, coreContext, toAdminError, type AdminDeps } from './context.js';
import { ReadOnlyResource } from './read-only-resource.js';

/** A read-only admin screen over a warehouse table (core/warehouse/browse.ts decides rows and access). */
export class BrowseResource extends ReadOnlyResource {
  constructor(
    resourceId: string,
    private readonly spec: BrowseSpec,
    private readonly deps: AdminDeps,
  ) {
    super(resourceId, 'warehouse', [
      new BaseProperty({ path: 'id', type: 'string', isId: true, isSortable: false }),
      ...spec.columns.map((column) => new BaseProperty({ path: column.name, type: column.type === 'number' ? 'number' : column.type, isSortable: false })),
    ]);
  }

  private filtersOf(filter: Filter): Record<string, string> {
    const filters: Record<string, string> = {};
    for (const column of this.spec.columns) {
      const value = filter.get(column.name)?.value;
      if (typeof value === 'string' && value !== '') filters[column.name] = value;
    }
    return filters;
  }

  private recordOf(row: BrowseRow): BaseRecord {
    return new BaseRecord(row as ParamsType, this);
  }

  override async count(filter: Filter, context?: ActionContext): Promise<number> {
    return (await browseRows(coreContext(this.deps, context), this.spec, { filters: this.filtersOf(filter), take: 1 }).catch(toAdminError)).total;
  }

  override async find(filter: Filter, params: { limit?: number; offset?: number }, context?: ActionContext): Promise<BaseRecord[]> {
    const { rows } = await browseRows(coreContext(this.deps, context), this.spec, { filters: this.filtersOf(filter), skip: params.offset, take: params.limit }).catch(toAdminError);
    return rows.map((row) => this.recordOf(row));
  }

  override async findOne(id: string, context?: ActionContext): Promise<BaseRecord | null> {
    try {
      return this.recordOf(await browseRow(coreContext(this.deps, context), this.spec, String(id)));
    } catch (error) {
      if (error instanceof AppError && error.code === 'not_found') return null;
      return toAdminError(error);
    }
  }
}

/** The screen for a browse table: list, filter and show, gated by the spec's permission resource. */
export function browseScreen(resourceId: string, spec: BrowseSpec, deps: AdminDeps, navigation: { name: string; icon: string }): ResourceWithOptions {
  return {
    resource: new BrowseResource(resourceId, spec, deps),
    options: {
      id: resourceId,
      navigation,
      listProperties: spec.columns.slice(0, 8).map((c) => c.name),
      filterProperties: spec.columns.map((c) => c.name),
      actions: {
        list: { isAccessible: allowed(spec.resource, 'list') },
        search: { isAccessible: allowed(spec.resource, 'list') },
        show: { isAccessible: allowed(spec.resource, 'show') },
        new: { isAccessible: false },
        edit: { isAccessible: false },
        delete: { isAccessible: false },
        bulkDelete: { isAccessible: false },
      },
    },
  };
}
