import type { Prisma } from '@prisma/client';
import { z } from 'zod';
import type { Context } from '../context.js';
import type { Resource } from '../auth/permissions.js';
import type { Scope } from '../auth/scope.js';
import { assertPasswordStrength, hashPassword } from '../auth/passwords.js';
import { normaliseEmail } from '../auth/signIn.js';
import { roles } from '../auth/principal.js';
import type { SqlQuery } from '../db/index.js';
import { AppError } from '../errors.js';
import { digitsToNumber } from '../input.js';
import { commitIsRunning } from '../feeds/locks.js';
import { removeFeedData } from '../warehouse/loadFacts.js';
import { assertWidgetSpec, dashboardFilters, dashboardScope, widgetTypes } from '../warehouse/dashboards.js';
import { warehouseViews } from '../warehouse/views.js';
import { liveWarehouseViews } from '../warehouse/liveViews.js';

export type Row = Record<string, unknown>;
export type Where = Record<string, unknown>;
type BusinessScope = Extract<Scope, { kind: 'business' }>;

/**
 * How one resource is stored, validated and scoped. The records service (./service.ts) applies these
 * the same way for the admin, the REST API, jobs and the CLI.
 */
export interface RecordDefinition {
  resource: Resource;
  /** Prisma model name and client property. */
  model: string;
  delegate: string;
  /** Human name for messages. */
  label: string;
  /** How ids look: uuids for records people make, integers for feeds, bigints for log rows. */
  idKind: 'uuid' | 'int' | 'bigint';
  /** True when every row belongs to one business (the business is required on create). */
  ownedByBusiness: boolean;
  /** Rows of this resource a scoped user may touch. */
  scopeWhere(scope: BusinessScope): Where;
  /** The business a row belongs to (for scope checks on write and for the audit log). */
  businessIdOf(row: Row): string | null;
  createSchema?: z.ZodType<Row>;
  updateSchema?: z.ZodType<Row>;
  /** Turns validated input into what is stored (hashing, normalising, cross-checks). */
  prepare?(ctx: Context, data: Row, existing: Row | null, tx?: Prisma.TransactionClient): Promise<Row>;
  /** Removes what must never leave the server. */
  redact?(row: Row): Row;
  /** Fields a form may send that are not columns (a new password). */
  virtualFields?: string[];
  /** Checks before a row is deleted (the last admin stays), and what goes with it, in the same transaction. */
  beforeDelete?(ctx: Context, existing: Row, tx: Prisma.TransactionClient): Promise<void>;
  /** What an update's audit entry adds to the record's new values: changes the record no longer shows (a new password). */
  auditedChanges?(data: Row): Row;
  /** How long a delete's transaction may run, where `beforeDelete` removes much (Prisma ends one after 5 s). */
  deleteTimeoutMs?: number;
  /** Unique constraints → field names, for a readable 409. */
  uniqueFields?: Record<string, string>;
}

const emptyToNull = (value: unknown) => (value === '' || value === undefined ? null : value);
/** A form's empty field means "use the default" for fields that have one. */
const emptyToUndefined = (value: unknown) => (value === '' || value === null ? undefined : value);
const optionalText = z.preprocess(emptyToNull, z.string().trim().max(500).nullable());
const requiredText = (max = 200) => z.string().trim().min(1, 'is required').max(max);
const uuid = z.string().uuid('must be an id');
/** Products keep prices in whole cents in integer columns: the most one may be. */
export const MAX_PRICE_CENTS = 2_000_000_000;
const cents = z.preprocess(digitsToNumber, z.number({ error: 'must be a whole number of cents, such as 1250' }).int('must be a whole number of cents, such as 1250').min(0, 'must not be negative').max(MAX_PRICE_CENTS));
const bool = z.preprocess((value) => (value === 'true' ? true : value === 'false' ? false : value), z.boolean());

const productFields = {
  businessId: uuid,
  name: requiredText(),
  category: optionalText.optional(),
  unit: z.preprocess(emptyToUndefined, z.string().trim().min(1).max(40).default('each')),
  sellingPriceCents: cents,
  // An empty cost is unknown (no COGS or margin for its sales), not free.
  costPriceCents: z.preprocess((value) => (value === '' ? null : value), cents.nullable().optional()),
  active: bool.default(true),
};

const products: RecordDefinition = {
  resource: 'products',
  idKind: 'uuid',
  ownedByBusiness: true,
  model: 'Product',
  delegate: 'product',
  label: 'Product',
  scopeWhere: (scope) => ({ businessId: scope.businessId }),
  businessIdOf: (row) => row.businessId as string,
  createSchema: z.object({ ...productFields, businessId: uuid.optional() }),
  updateSchema: z.object(productFields).partial(),
  uniqueFields: { products_business_id_name_key: 'name' },
  async beforeDelete(ctx, existing) {
    // Facts keep their product id without a foreign key (for load speed): never orphan them.
    const sold = await ctx.db.pool.query('SELECT 1 FROM fact_sales WHERE business_id = $1 AND product_id = $2 LIMIT 1', [existing.businessId, existing.id]);
    if (sold.rowCount) throw new AppError('conflict', 'This product has sales in the warehouse: untick "Active" instead of deleting it.');
  },
};

const businessFields = {
  name: requiredText(),
  timezone: z.string().trim().min(1).default('UTC').refine(isTimeZone, 'is not a known time zone (for example Europe/Berlin)'),
  currency: z.string().trim().toUpperCase().regex(/^[A-Z]{3}$/, 'must be a three-letter currency code').default('USD'),
  // Its gold dashboards (ingested sales) leave out transactions sent by the simulator.
  goldExcludesSimulated: bool.default(false),
};

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

const businesses: RecordDefinition = {
  resource: 'businesses',
  idKind: 'uuid',
  ownedByBusiness: false,
  model: 'Business',
  delegate: 'business',
  label: 'Business',
  scopeWhere: (scope) => ({ id: scope.businessId }),
  businessIdOf: (row) => row.id as string,
  createSchema: z.object(businessFields),
  updateSchema: z.object(businessFields).partial(),
};

const shopFields = { businessId: uuid, name: requiredText(), code: optionalText.optional() };

const shops: RecordDefinition = {
  resource: 'shops',
  idKind: 'uuid',
  ownedByBusiness: true,
  model: 'Shop',
  delegate: 'shop',
  label: 'Shop',
  scopeWhere: (scope) => ({ businessId: scope.businessId, ...(scope.shopIds ? { id: { in: scope.shopIds } } : {}) }),
  businessIdOf: (row) => row.businessId as string,
  createSchema: z.object({ ...shopFields, businessId: uuid.optional() }),
  updateSchema: z.object(shopFields).partial(),
  uniqueFields: { shops_business_id_name_key: 'name' },
};

const shopIdList = z.preprocess((value) => (value === '' || value === null || value === undefined ? [] : value), z.array(uuid));

const userFields = {
  email: z.string().trim().email('is not an email address'),
  name: optionalText.optional(),
  role: z.enum(roles),
  businessId: z.preprocess(emptyToNull, uuid.nullable()).optional(),
  shopIds: shopIdList.optional(),
  disabled: bool.optional(),
  password: z.preprocess(emptyToNull, z.string().nullable()).optional(),
};

const users: RecordDefinition = {
  resource: 'users',
  idKind: 'uuid',
  ownedByBusiness: false,
  model: 'User',
  delegate: 'user',
  label: 'User',
  scopeWhere: (scope) => ({ businessId: scope.businessId }),
  businessIdOf: (row) => (row.businessId as string | null) ?? null,
  createSchema: z.object({ ...userFields, password: z.string().min(1, 'is required') }),
  updateSchema: z.object(userFields).partial(),
  virtualFields: ['password'],
  uniqueFields: { users_email_key: 'email' },
  redact: ({ passwordHash: _secret, ...rest }) => rest,
  // The hash is never shown, so the entry says the password changed (who reset whose password).
  auditedChanges: (data) => (data.passwordHash ? { passwordChanged: true } : {}),
  async beforeDelete(_ctx, existing, tx) {
    if (existing.role === 'admin' && !existing.disabled) await assertAnotherActiveAdmin(tx, existing.id as string);
  },
  async prepare(ctx, data, existing, tx) {
    const prepared: Row = { ...data };
    delete prepared.password;
    if (typeof data.email === 'string') prepared.email = normaliseEmail(data.email);
    if (typeof data.password === 'string' && data.password.length > 0) {
      assertPasswordStrength(data.password);
      prepared.passwordHash = await hashPassword(data.password);
      if (existing) prepared.passwordChangedAt = new Date();
    }
    // A changed password, or disabling, ends every token and session the user has (core/auth/credentials.ts):
    // enabling the user again does not bring them back.
    if (existing && (prepared.passwordHash || (data.disabled === true && !existing.disabled))) prepared.authVersion = { increment: 1 };
    const merged = { ...existing, ...prepared };
    const problems: { field: string; reason: string }[] = [];
    if (merged.role !== 'admin' && !merged.businessId) problems.push({ field: 'businessId', reason: 'an ops or manager user needs a business' });
    const shopIds = (merged.shopIds as string[] | undefined) ?? [];
    if (shopIds.length > 0) {
      const found = await ctx.db.prisma.shop.count({ where: { id: { in: shopIds }, businessId: (merged.businessId as string | null) ?? undefined } });
      if (!merged.businessId || found !== new Set(shopIds).size) problems.push({ field: 'shopIds', reason: "every shop must belong to the user's business" });
    }
    if (problems.length) throw new AppError('validation_failed', 'The user could not be saved.', problems);
    if (existing && existing.role === 'admin' && !existing.disabled && (merged.role !== 'admin' || merged.disabled)) {
      await assertAnotherActiveAdmin(tx ?? ctx.db.prisma, existing.id as string);
    }
    return prepared;
  },
};

/**
 * Refuses to take away the last active admin. In the caller's transaction, under a lock every such change
 * takes: two admins disabling each other at the same moment each counted the other as still active, and
 * both went through (found by security QA).
 */
async function assertAnotherActiveAdmin(tx: Prisma.TransactionClient, userId: string): Promise<void> {
  await tx.$executeRawUnsafe('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', 'backhouse.users.active-admins');
  const others = await tx.user.count({ where: { role: 'admin', disabled: false, id: { not: userId } } });
  if (others === 0) throw new AppError('conflict', 'This is the last active admin: make another user an admin first.');
}

const auditLog: RecordDefinition = {
  resource: 'auditLog',
  idKind: 'bigint',
  ownedByBusiness: false,
  model: 'AuditLog',
  delegate: 'auditLog',
  label: 'Audit entry',
  scopeWhere: (scope) => ({ businessId: scope.businessId }),
  businessIdOf: (row) => (row.businessId as string | null) ?? null,
};

/** Data feeds are created by a commit (core/feeds), never by a form; here they are listed, shown and deleted. */
const feeds: RecordDefinition = {
  resource: 'feeds',
  idKind: 'int',
  ownedByBusiness: true,
  model: 'DataFeed',
  delegate: 'dataFeed',
  label: 'Data feed',
  scopeWhere: (scope) => ({ businessId: scope.businessId }),
  businessIdOf: (row) => row.businessId as string,
  // A feed's delete takes its facts, staged rows and customers: seconds for a large feed of a large business.
  deleteTimeoutMs: 10 * 60_000,
  async beforeDelete(_ctx, existing, tx) {
    if (existing.status === 'transforming') throw new AppError('conflict', 'This feed is loading right now; delete it when it has finished.');
    const query: SqlQuery = (sql, params) => tx.$queryRawUnsafe(sql, ...params);
    // A feed whose commit stopped with its process may go; one still being committed may not.
    if (existing.status === 'processing' && (await commitIsRunning(query, existing.id as number))) {
      throw new AppError('conflict', 'This feed\'s rows are still being checked and staged; delete it when its commit has finished.');
    }
    await removeFeedData(query, existing.businessId as string, existing.id as number);
  },
};

/** A form sends a JSON field (a widget's fields, a dashboard's filters) as text; the API sends an object. */
const jsonText = (value: unknown) => {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return value;
  }
};
const jsonObject = z.preprocess(jsonText, z.record(z.string(), z.unknown(), 'must be a JSON object such as {"x": "month", "y": ["revenue"]}'));

/** Every business's dashboards (business null) and each business's own; only admins list or write them. */
const dashboardFields = {
  name: requiredText(),
  description: optionalText.optional(),
  businessId: z.preprocess(emptyToNull, uuid.nullable()).optional(),
  slug: z.preprocess(emptyToNull, z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be lower-case letters, digits and dashes, such as "sales"').nullable()).optional(),
  filters: z.preprocess((value) => (value === '' || value === null ? {} : jsonText(value)), dashboardFilters).optional(),
};

const dashboards: RecordDefinition = {
  resource: 'dashboards',
  idKind: 'uuid',
  ownedByBusiness: false,
  model: 'Dashboard',
  delegate: 'dashboard',
  label: 'Dashboard',
  scopeWhere: dashboardScope,
  businessIdOf: (row) => (row.businessId as string | null) ?? null,
  createSchema: z.object(dashboardFields),
  updateSchema: z.object(dashboardFields).partial(),
  uniqueFields: { dashboards_business_id_name_key: 'name', dashboards_slug_key: 'slug' },
  async prepare(ctx, data, existing) {
    return existing || ctx.user.kind !== 'user' ? data : { ...data, createdBy: ctx.user.id };
  },
};

const widgetFieldsInput = {
  dashboardId: uuid,
  title: requiredText(),
  type: z.enum(widgetTypes),
  viewName: z.enum([...warehouseViews.map((view) => view.name), ...liveWarehouseViews.map((view) => view.name)] as [string, ...string[]]),
  fields: jsonObject,
  refreshIntervalSeconds: z.preprocess(emptyToUndefined, z.preprocess(digitsToNumber, z.number({ error: 'must be whole seconds' }).int('must be whole seconds').min(5, 'must be at least 5 seconds').max(86_400, 'must be at most a day')).default(300)),
  position: z.preprocess(emptyToUndefined, z.preprocess(digitsToNumber, z.number({ error: 'must be a whole number' }).int('must be a whole number').min(0).max(10_000)).default(0)),
};

const dashboardWidgets: RecordDefinition = {
  resource: 'dashboardWidgets',
  idKind: 'uuid',
  ownedByBusiness: false,
  model: 'DashboardWidget',
  delegate: 'dashboardWidget',
  label: 'Dashboard widget',
  scopeWhere: (scope) => ({ dashboard: dashboardScope(scope) }),
  businessIdOf: () => null,
  createSchema: z.object(widgetFieldsInput),
  updateSchema: z.object(widgetFieldsInput).partial(),
  async prepare(ctx, data, existing) {
    // Type, view and fields are checked together, whichever of them changes.
    const merged = { ...existing, ...data };
    await assertWidgetSpec(ctx.db, { type: String(merged.type), viewName: String(merged.viewName), fields: merged.fields });
    return data;
  },
};

const permissionFields = {
  dashboardId: uuid,
  role: z.enum(roles),
  canView: bool.default(true),
  canEdit: bool.default(false),
};

/** A dashboard granted to a role. Editing dashboards is the admins' (the permission matrix), so only they are granted it. */
const dashboardPermissions: RecordDefinition = {
  resource: 'dashboardPermissions',
  idKind: 'uuid',
  ownedByBusiness: false,
  model: 'DashboardPermission',
  delegate: 'dashboardPermission',
  label: 'Dashboard grant',
  scopeWhere: (scope) => ({ dashboard: dashboardScope(scope) }),
  businessIdOf: () => null,
  createSchema: z.object(permissionFields),
  updateSchema: z.object(permissionFields).partial(),
  uniqueFields: { dashboard_permissions_dashboard_id_role_key: 'role' },
  async prepare(_ctx, data, existing) {
    const merged = { ...existing, ...data };
    const problems: { field: string; reason: string }[] = [];
    if (merged.canEdit === true && merged.role !== 'admin') problems.push({ field: 'canEdit', reason: 'only admins edit dashboards; grant other roles view only' });
    if (merged.canEdit === true && merged.canView === false) problems.push({ field: 'canView', reason: 'editing needs viewing' });
    if (problems.length) throw new AppError('validation_failed', 'The dashboard grant could not be saved.', problems);
    return data;
  },
};

export const recordDefinitions = { products, businesses, shops, users, auditLog, feeds, dashboards, dashboardWidgets, dashboardPermissions } satisfies Partial<Record<Resource, RecordDefinition>>;
export type RecordResource = keyof typeof recordDefinitions;

export function definitionOf(resource: RecordResource): RecordDefinition {
  return recordDefinitions[resource];
}
