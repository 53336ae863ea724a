import { Resource as PrismaResource, convertFilter } from '@adminjs/prisma';
import type { ActionContext, Filter, ParamsType } from 'adminjs';
import { BaseRecord, flat } from 'adminjs';
import { z } from 'zod';
import { AppError } from '../core/errors.js';
import { definitionOf, type RecordResource, type Row, type Where } from '../core/records/definitions.js';
import { countRecords, createRecord, deleteRecord, getRecord, getRecordsByIds, listRecords, updateRecord } from '../core/records/service.js';
import { coreContext, toAdminError, type AdminDeps } from './context.js';

type PrismaResourceArgs = ConstructorParameters<typeof PrismaResource>[0];

/**
 * An AdminJS resource whose every read and write goes through core/records: the permission matrix,
 * the caller's scope and the audit log apply to the admin exactly as they do to the REST API.
 * Prisma's adapter still describes the properties and converts filters and form values.
 */
export class RecordsResource extends PrismaResource {
  constructor(
    args: PrismaResourceArgs,
    private readonly recordResource: RecordResource,
    private readonly deps: AdminDeps,
  ) {
    super(args);
  }

  /** Form values as core expects them, including fields that are not columns (a new password). */
  private inputOf(params: ParamsType): Row {
    const input: Row = this.prepareParams(params);
    for (const field of definitionOf(this.recordResource).virtualFields ?? []) {
      const value = flat.get(params, field);
      if (value !== undefined) input[field] = value;
    }
    return input;
  }

  /** Rows as AdminJS params: bigint as text (it cannot serialise bigint), JSON as readable text. */
  private paramsOf(row: Row): ParamsType {
    const values: Row = {};
    for (const [key, value] of Object.entries(row)) {
      if (typeof value === 'bigint') values[key] = value.toString();
      else if (value !== null && typeof value === 'object' && !(value instanceof Date) && !Array.isArray(value)) values[key] = JSON.stringify(value, null, 2);
      else values[key] = value;
    }
    return this.prepareReturnValues(values);
  }

  /**
   * The screen's filter as a Prisma where. A filter on an id column (a uuid, or a reference to another record)
   * whose value is no id is refused naming it: it reached PostgreSQL and came back as a 500 (found by QA).
   */
  private whereOf(filter: Filter): Where {
    for (const { path, property, value } of Object.values(filter.filters)) {
      const column = property?.type() === 'reference' ? ((property as { foreignColumnName?: () => string | null }).foreignColumnName?.() ?? path) : path;
      const field = this.model.fields.find((candidate) => candidate.name === column);
      if (field?.nativeType?.[0] === 'Uuid' && !z.string().uuid().safeParse(value).success) {
        throw new AppError('bad_request', `The list cannot be filtered that way: filters.${path} must be an id (a uuid such as 3f2b9c4e-8d1a-4c6e-9a7b-2e5f1d0c8b4a), and "${String(value)}" is not one.`, [
          { field: `filters.${path}`, reason: 'must be an id (a uuid)' },
        ]);
      }
    }
    return convertFilter(this.model.fields, filter);
  }

  override async count(filter: Filter, context?: ActionContext): Promise<number> {
    return countRecords(coreContext(this.deps, context), this.recordResource, this.whereOf(filter)).catch(toAdminError);
  }

  override async find(filter: Filter, params: { limit?: number; offset?: number; sort?: { sortBy?: string; direction?: 'asc' | 'desc' } } = {}, context?: ActionContext): Promise<BaseRecord[]> {
    const { rows } = await listRecords(coreContext(this.deps, context), this.recordResource, {
      where: this.whereOf(filter),
      orderBy: this.buildSortBy(params.sort),
      skip: params.offset ?? 0,
      take: params.limit ?? 10,
    }).catch(toAdminError);
    return rows.map((row) => new BaseRecord(this.paramsOf(row), this));
  }

  override async findOne(id: string, context?: ActionContext): Promise<BaseRecord | null> {
    try {
      return new BaseRecord(this.paramsOf(await getRecord(coreContext(this.deps, context), this.recordResource, String(id))), this);
    } catch (error) {
      if (error instanceof AppError && error.code === 'not_found') return null;
      return toAdminError(error);
    }
  }

  override async findMany(ids: (string | number)[], context?: ActionContext): Promise<BaseRecord[]> {
    const rows = await getRecordsByIds(coreContext(this.deps, context), this.recordResource, ids.map(String)).catch(toAdminError);
    return rows.map((row) => new BaseRecord(this.paramsOf(row), this));
  }

  override async create(params: ParamsType, context?: ActionContext): Promise<ParamsType> {
    const row = await createRecord(coreContext(this.deps, context), this.recordResource, this.inputOf(params)).catch(toAdminError);
    return this.paramsOf(row);
  }

  override async update(id: string, params: ParamsType = {}, context?: ActionContext): Promise<ParamsType> {
    const row = await updateRecord(coreContext(this.deps, context), this.recordResource, String(id), this.inputOf(params)).catch(toAdminError);
    return this.paramsOf(row);
  }

  override async delete(id: string, context?: ActionContext): Promise<void> {
    await deleteRecord(coreContext(this.deps, context), this.recordResource, String(id)).catch(toAdminError);
  }
}
