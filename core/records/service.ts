import { Prisma } from '@prisma/client';
import { z } from 'zod';
import { assertCan } from '../auth/permissions.js';
import { writeAudit } from '../auth/audit.js';
import type { Context } from '../context.js';
import { AppError, forbidden } from '../errors.js';
import { malformedText } from '../input.js';
import { listWindow } from '../paging.js';
import { definitionOf, type RecordDefinition, type RecordResource, type Row, type Where } from './definitions.js';

/** The Prisma delegate methods the service uses, typed loosely because the model is chosen at run time. */
interface Delegate {
  findMany(args: unknown): Promise<Row[]>;
  findFirst(args: unknown): Promise<Row | null>;
  count(args: unknown): Promise<number>;
  create(args: unknown): Promise<Row>;
  update(args: unknown): Promise<Row>;
  delete(args: unknown): Promise<Row>;
}

function delegateOf(client: Prisma.TransactionClient, def: RecordDefinition): Delegate {
  return (client as unknown as Record<string, Delegate>)[def.delegate]!;
}

/** The caller's filter, narrowed to what their scope allows. */
export function scopedWhere(ctx: Context, def: RecordDefinition, where: Where = {}): Where {
  if (ctx.scope.kind === 'all') return where;
  return { AND: [where, def.scopeWhere(ctx.scope)] };
}

function redact(def: RecordDefinition, row: Row): Row {
  return def.redact ? def.redact(row) : row;
}

function parseInput(def: RecordDefinition, schema: z.ZodType<Row> | undefined, input: unknown): Row {
  if (!schema) throw forbidden(`${def.label} records cannot be written.`);
  // Text PostgreSQL cannot hold (a NUL, a lone surrogate) is the caller's mistake, said per field, not a 500.
  const parsed = schema.safeParse(input);
  const badText = malformedText(input);
  if (badText.length > 0 || !parsed.success) {
    const issues = parsed.success ? [] : parsed.error.issues;
    const details = badText.length > 0 ? badText : issues.map((issue) => ({ field: issue.path.join('.'), reason: issue.message }));
    // A value of the wrong kind (text that is not a number, a NUL) does not fit the request's shape: 400, as
    // any malformed body; a well-formed value the record refuses (negative, too long, unknown id) is a 422.
    const malformed = badText.length > 0 || issues.some((issue) => issue.code === 'invalid_type');
    throw new AppError(malformed ? 'bad_request' : 'validation_failed', `The ${def.label.toLowerCase()} could not be saved: ${details.map((d) => `${d.field} ${d.reason}`).join('; ')}.`, details);
  }
  return parsed.data;
}

/** Turns database constraint errors into answers a person can act on. */
function translateDbError(def: RecordDefinition, error: unknown): never {
  if (error instanceof Prisma.PrismaClientKnownRequestError) {
    if (error.code === 'P2002') {
      const target = JSON.stringify(error.meta ?? {});
      const field = Object.entries(def.uniqueFields ?? {}).find(([constraint, name]) => target.includes(constraint) || target.includes(name))?.[1];
      throw new AppError('conflict', `A ${def.label.toLowerCase()} with this ${field ?? 'value'} already exists.`, { field: field ?? null });
    }
    if (error.code === 'P2003') {
      throw new AppError('conflict', `This ${def.label.toLowerCase()} is still referenced by other records; remove or reassign those first.`);
    }
    if (error.code === 'P2025') throw new AppError('not_found', `${def.label} was not found.`);
  }
  throw error;
}

export interface ListOptions {
  where?: Where;
  orderBy?: Record<string, unknown> | Record<string, unknown>[];
  skip?: number;
  take?: number;
}

export async function listRecords(ctx: Context, resource: RecordResource, options: ListOptions = {}): Promise<{ rows: Row[]; total: number }> {
  assertCan(ctx.user, resource, 'list');
  const def = definitionOf(resource);
  const where = scopedWhere(ctx, def, options.where);
  const delegate = delegateOf(ctx.db.prisma, def);
  const { skip, take } = listWindow(options);
  const [rows, total] = await Promise.all([
    delegate.findMany({ where, orderBy: options.orderBy ?? { id: 'desc' }, skip, take }),
    delegate.count({ where }),
  ]);
  return { rows: rows.map((row) => redact(def, row)), total };
}

export async function countRecords(ctx: Context, resource: RecordResource, where: Where = {}): Promise<number> {
  assertCan(ctx.user, resource, 'list');
  const def = definitionOf(resource);
  return delegateOf(ctx.db.prisma, def).count({ where: scopedWhere(ctx, def, where) });
}

/** Rows outside the caller's scope are "not found": their existence is not revealed. */
async function findInScope(ctx: Context, client: Prisma.TransactionClient, def: RecordDefinition, id: string): Promise<Row> {
  const row = await delegateOf(client, def)
    .findFirst({ where: scopedWhere(ctx, def, { id: idValue(def, id) }) })
    .catch((error: unknown) => {
      // A malformed id cannot name any row.
      if (error instanceof Prisma.PrismaClientKnownRequestError || error instanceof Prisma.PrismaClientValidationError) return null;
      throw error;
    });
  if (!row) throw new AppError('not_found', `${def.label} ${id} was not found.`);
  return row;
}

function idValue(def: RecordDefinition, id: string): unknown {
  const missing = () => new AppError('not_found', `${def.label} ${id} was not found.`);
  switch (def.idKind) {
    case 'bigint':
      if (!/^\d{1,18}$/.test(id)) throw missing();
      return BigInt(id);
    case 'int':
      if (!/^\d{1,9}$/.test(id)) throw missing();
      return Number(id);
    case 'uuid':
      if (!z.string().uuid().safeParse(id).success) throw missing();
      return id;
  }
}

export async function getRecord(ctx: Context, resource: RecordResource, id: string): Promise<Row> {
  assertCan(ctx.user, resource, 'show');
  const def = definitionOf(resource);
  return redact(def, await findInScope(ctx, ctx.db.prisma, def, id));
}

export async function getRecordsByIds(ctx: Context, resource: RecordResource, ids: string[]): Promise<Row[]> {
  assertCan(ctx.user, resource, 'show');
  const def = definitionOf(resource);
  const valid = ids.flatMap((id) => {
    try {
      return [idValue(def, id)];
    } catch {
      return [];
    }
  });
  const rows = await delegateOf(ctx.db.prisma, def).findMany({ where: scopedWhere(ctx, def, { id: { in: valid } }) });
  return rows.map((row) => redact(def, row));
}

/** A scoped user writes only into their own business; the business defaults to theirs. */
function assertWritableBusiness(ctx: Context, def: RecordDefinition, data: Row): Row {
  if (ctx.scope.kind === 'all' || def.resource === 'businesses') return data;
  const businessId = data.businessId ?? ctx.scope.businessId;
  if (businessId !== ctx.scope.businessId) throw forbidden(`You may only write ${def.label.toLowerCase()} records of your own business.`);
  return { ...data, businessId };
}

export async function createRecord(ctx: Context, resource: RecordResource, input: unknown): Promise<Row> {
  assertCan(ctx.user, resource, 'new');
  const def = definitionOf(resource);
  let data = assertWritableBusiness(ctx, def, parseInput(def, def.createSchema, input));
  if (def.ownedByBusiness && !data.businessId) {
    throw new AppError('validation_failed', `The ${def.label.toLowerCase()} needs a business.`, [{ field: 'businessId', reason: 'is required' }]);
  }
  if (def.prepare) data = await def.prepare(ctx, data, null);
  try {
    const created = await ctx.db.prisma.$transaction(async (tx) => {
      const row = await delegateOf(tx, def).create({ data });
      await writeAudit(ctx, { resource, recordId: String(row.id), action: 'create', businessId: def.businessIdOf(row), after: redact(def, row) }, tx);
      return row;
    });
    return redact(def, created);
  } catch (error) {
    translateDbError(def, error);
  }
}

export async function updateRecord(ctx: Context, resource: RecordResource, id: string, input: unknown): Promise<Row> {
  assertCan(ctx.user, resource, 'edit');
  const def = definitionOf(resource);
  // The fields the request names, as checked: a schema's defaults (a product's "active", a business's time
  // zone) are for creating, and an edit that left them out reset them.
  const named = new Set(input !== null && typeof input === 'object' ? Object.keys(input) : []);
  let data = Object.fromEntries(Object.entries(parseInput(def, def.updateSchema, input)).filter(([field]) => named.has(field)));
  // Only fields the record does not have (or may not have changed): answering success would say it changed.
  if (Object.keys(data).length === 0) {
    const fields = Object.keys(((def.updateSchema as unknown as { shape?: Record<string, unknown> }).shape ?? {})).join(', ');
    throw new AppError('bad_request', `Nothing to change: the request names no field of the ${def.label.toLowerCase()} that can be changed${fields ? ` (${fields})` : ''}.`);
  }
  try {
    const updated = await ctx.db.prisma.$transaction(async (tx) => {
      const before = await findInScope(ctx, tx, def, id);
      if (data.businessId !== undefined) assertWritableBusiness(ctx, def, data);
      if (def.prepare) data = await def.prepare(ctx, data, before, tx);
      const row = await delegateOf(tx, def).update({ where: { id: before.id }, data });
      await writeAudit(ctx, { resource, recordId: String(row.id), action: 'update', businessId: def.businessIdOf(row), before: redact(def, before), after: { ...redact(def, row), ...def.auditedChanges?.(data) } }, tx);
      return row;
    });
    return redact(def, updated);
  } catch (error) {
    translateDbError(def, error);
  }
}

export async function deleteRecord(ctx: Context, resource: RecordResource, id: string): Promise<void> {
  assertCan(ctx.user, resource, 'delete');
  const def = definitionOf(resource);
  try {
    await ctx.db.prisma.$transaction(async (tx) => {
      const before = await findInScope(ctx, tx, def, id);
      await def.beforeDelete?.(ctx, before, tx);
      await delegateOf(tx, def).delete({ where: { id: before.id } });
      await writeAudit(ctx, { resource, recordId: String(before.id), action: 'delete', businessId: def.businessIdOf(before), before: redact(def, before) }, tx);
    }, def.deleteTimeoutMs ? { timeout: def.deleteTimeoutMs } : undefined);
  } catch (error) {
    translateDbError(def, error);
  }
}
