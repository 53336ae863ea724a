import pg from 'pg';
import { z } from 'zod';
import type { Context } from '../context.js';
import type { Db } from '../db/index.js';
import { assertCan, can } from '../auth/permissions.js';
import { AppError, forbidden } from '../errors.js';
import { readAsReporter } from './reporting.js';
import { viewFreshness, warehouseViews } from './views.js';

export const widgetTypes = ['kpi', 'line', 'bar', 'table', 'donut'] as const;
export type WidgetType = (typeof widgetTypes)[number];

/** The most rows one widget answers, whatever its spec asks. */
export const MAX_WIDGET_ROWS = 1000;
const defaultLimits: Record<WidgetType, number> = { kpi: 20, line: 366, bar: 366, donut: 12, table: 10 };

const column = z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'is not a column name');

/**
 * What a widget shows of its view. Dimensions: `x` (the axis, or the donut's slices), `series` (one line,
 * bar or number per value), `columns` (a table's text columns). Measures: `y` (lines, bars, a table's
 * number columns) and `value` (a KPI's number, a donut's slice size). Measures are summed over the rows
 * the reader may see, per dimension: a business-wide reader sees every team's rows added up.
 */
export const widgetFields = z
  .object({
    x: column.optional(),
    y: z.array(column).min(1).max(8).optional(),
    series: column.optional(),
    value: column.optional(),
    columns: z.array(column).min(1).max(12).optional(),
    sort: z.object({ column, direction: z.enum(['asc', 'desc']).default('desc') }).optional(),
    limit: z.number().int().min(1).max(MAX_WIDGET_ROWS).optional(),
  })
  .strict();
export type WidgetFields = z.infer<typeof widgetFields>;

export interface ViewColumn {
  name: string;
  /** PostgreSQL's type category: N numeric, D date/time, B boolean, S text… */
  category: string;
  type: string;
}

export interface WidgetPlan {
  dimensions: string[];
  measures: string[];
  order: { column: string; direction: 'asc' | 'desc' }[];
  limit: number;
  /** Line and bar charts keep the latest points: read newest first, then put back in order. */
  newestFirst: boolean;
}

export interface FieldProblem {
  field: string;
  reason: string;
}

/**
 * Checks a widget's fields against its type and its view's columns and says which columns it groups by
 * and sums. Pure: the caller supplies the view's columns.
 */
export function widgetPlan(type: WidgetType, rawFields: unknown, columns: ViewColumn[]): { plan: WidgetPlan } | { problems: FieldProblem[] } {
  const parsed = widgetFields.safeParse(rawFields);
  if (!parsed.success) return { problems: parsed.error.issues.map((issue) => ({ field: ['fields', ...issue.path].join('.'), reason: issue.message })) };
  const fields = parsed.data;
  const problems: FieldProblem[] = [];
  const byName = new Map(columns.map((c) => [c.name, c]));
  const known = columns.filter((c) => c.name !== 'business_id').map((c) => c.name);
  const dimension = (field: string, name: string | undefined, required: boolean): string[] => {
    if (name === undefined) {
      if (required) problems.push({ field: `fields.${field}`, reason: `is required for a ${type} widget` });
      return [];
    }
    if (name === 'business_id' || !byName.has(name)) {
      problems.push({ field: `fields.${field}`, reason: `"${name}" is not a column of the view (columns: ${known.join(', ')})` });
      return [];
    }
    return [name];
  };
  const measure = (field: string, name: string): string[] => {
    const found = byName.get(name);
    if (!found || name === 'business_id') problems.push({ field: `fields.${field}`, reason: `"${name}" is not a column of the view (columns: ${known.join(', ')})` });
    else if (found.category !== 'N') problems.push({ field: `fields.${field}`, reason: `"${name}" is not a number column, so it cannot be summed` });
    else return [name];
    return [];
  };
  const unused = (field: keyof WidgetFields) => {
    if (fields[field] !== undefined) problems.push({ field: `fields.${field}`, reason: `is not used by a ${type} widget` });
  };

  let dimensions: string[] = [];
  let measures: string[] = [];
  switch (type) {
    case 'kpi':
      dimensions = dimension('series', fields.series, false);
      measures = fields.value === undefined ? (problems.push({ field: 'fields.value', reason: 'is required for a kpi widget' }), []) : measure('value', fields.value);
      for (const field of ['x', 'y', 'columns'] as const) unused(field);
      break;
    case 'line':
    case 'bar':
      dimensions = [...dimension('x', fields.x, true), ...dimension('series', fields.series, false)];
      measures = fields.y === undefined ? (problems.push({ field: 'fields.y', reason: `is required for a ${type} widget` }), []) : fields.y.flatMap((name, i) => measure(`y.${i}`, name));
      for (const field of ['value', 'columns'] as const) unused(field);
      break;
    case 'donut':
      dimensions = dimension('x', fields.x, true);
      measures = fields.value === undefined ? (problems.push({ field: 'fields.value', reason: 'is required for a donut widget' }), []) : measure('value', fields.value);
      for (const field of ['y', 'series', 'columns'] as const) unused(field);
      break;
    case 'table':
      dimensions = fields.columns === undefined ? (problems.push({ field: 'fields.columns', reason: 'is required for a table widget' }), []) : fields.columns.flatMap((name, i) => dimension(`columns.${i}`, name, true));
      measures = (fields.y ?? []).flatMap((name, i) => measure(`y.${i}`, name));
      for (const field of ['x', 'series', 'value'] as const) unused(field);
      break;
  }
  const shown = [...dimensions, ...measures];
  if (new Set(shown).size !== shown.length) problems.push({ field: 'fields', reason: 'names a column twice' });
  if (fields.sort && !shown.includes(fields.sort.column)) problems.push({ field: 'fields.sort.column', reason: `must be one of the columns the widget shows (${shown.join(', ')})` });
  if (problems.length > 0) return { problems };

  const newestFirst = type === 'line' || type === 'bar';
  const order: WidgetPlan['order'] = fields.sort
    ? [fields.sort]
    : type === 'line' || type === 'bar'
      ? dimensions.map((name, i) => ({ column: name, direction: i === 0 ? ('desc' as const) : ('asc' as const) }))
      : type === 'table' && measures[0]
        ? [{ column: measures[0], direction: 'desc' as const }]
        : type === 'donut'
          ? [{ column: measures[0]!, direction: 'desc' as const }]
          : dimensions.map((name) => ({ column: name, direction: 'asc' as const }));
  // Ties are broken by the dimensions in turn, so the rows (and a cut at the limit) never vary between reads.
  for (const name of dimensions) if (!order.some((o) => o.column === name)) order.push({ column: name, direction: 'asc' });
  return { plan: { dimensions, measures, order, limit: fields.limit ?? defaultLimits[type], newestFirst: newestFirst && !fields.sort } };
}

const viewNames = new Set(warehouseViews.map((view) => view.name));
const columnCache = new WeakMap<Db, Map<string, ViewColumn[]>>();

/** The columns of a registered view (from PostgreSQL's catalog; they change only with a migration). */
export async function viewColumns(db: Db, view: string): Promise<ViewColumn[]> {
  if (!viewNames.has(view)) throw new AppError('validation_failed', `"${view}" is not a warehouse view. Known views: ${[...viewNames].join(', ')}.`, [{ field: 'viewName', reason: 'is not a warehouse view' }]);
  let cache = columnCache.get(db);
  if (!cache) columnCache.set(db, (cache = new Map()));
  const cached = cache.get(view);
  if (cached) return cached;
  const result = await db.pool.query<ViewColumn>(
    `SELECT a.attname AS name, t.typcategory AS category, format_type(a.atttypid, a.atttypmod) AS type
       FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
      WHERE a.attrelid = to_regclass('public.' || quote_ident($1)) AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY a.attnum`,
    [view],
  );
  if (result.rows.length === 0) throw new Error(`Materialized view ${view} is in the registry but not in the database: a migration is missing.`);
  cache.set(view, result.rows);
  return result.rows;
}

/** A widget's fields checked against its view: the records service calls this before saving one. */
export async function assertWidgetSpec(db: Db, spec: { type: string; viewName: string; fields: unknown }): Promise<void> {
  const type = z.enum(widgetTypes).safeParse(spec.type);
  if (!type.success) throw new AppError('validation_failed', `The widget type must be one of ${widgetTypes.join(', ')}.`, [{ field: 'type', reason: 'is not a widget type' }]);
  const result = widgetPlan(type.data, spec.fields, await viewColumns(db, spec.viewName));
  if ('problems' in result) {
    throw new AppError('validation_failed', `The widget's fields do not fit view ${spec.viewName}: ${result.problems.map((p) => `${p.field} ${p.reason}`).join('; ')}.`, result.problems);
  }
}

/** The SELECT of one widget over reporting.<view>. Every name is a checked column, quoted anyway. */
function widgetSql(view: string, plan: WidgetPlan, columns: ViewColumn[]): string {
  const byName = new Map(columns.map((c) => [c.name, c]));
  const id = pg.escapeIdentifier;
  const dimensionExpr = (name: string) => (byName.get(name)?.type === 'date' ? `to_char(${id(name)}, 'YYYY-MM-DD')` : id(name));
  const select = [...plan.dimensions.map((name) => `${dimensionExpr(name)} AS ${id(name)}`), ...plan.measures.map((name) => `sum(${id(name)}) AS ${id(name)}`)];
  const groupBy = plan.dimensions.length > 0 ? ` GROUP BY ${plan.dimensions.map((_, i) => i + 1).join(', ')}` : '';
  const shown = [...plan.dimensions, ...plan.measures];
  const orderBy = plan.order.length > 0 ? ` ORDER BY ${plan.order.map((o) => `${shown.indexOf(o.column) + 1} ${o.direction.toUpperCase()} NULLS LAST`).join(', ')}` : '';
  return `SELECT ${select.join(', ')} FROM reporting.${id(view)}${groupBy}${orderBy} LIMIT ${plan.limit + 1}`;
}

export interface DashboardSummary {
  id: string;
  name: string;
  description: string | null;
  business_id: string | null;
  can_edit: boolean;
}

export interface WidgetSpec {
  id: string;
  title: string;
  type: string;
  view: string;
  fields: unknown;
  refresh_seconds: number;
  position: number;
}

export interface DashboardDetail extends DashboardSummary {
  widgets: WidgetSpec[];
}

/** Which dashboards a caller may open: admins all; others those granted to their role (can_view), of their business or of every business. */
function visibleWhere(ctx: Context) {
  if (ctx.scope.kind === 'all' || ctx.user.kind !== 'user') return {};
  return { permissions: { some: { role: ctx.user.role, canView: true } }, ...dashboardScope(ctx.scope) };
}

/** Dashboards a business's people may see: their business's own and those every business has. */
export const dashboardScope = (scope: { businessId: string }) => ({ OR: [{ businessId: null }, { businessId: scope.businessId }] });

const summaryOf = (ctx: Context, row: { id: string; name: string; description: string | null; businessId: string | null }): DashboardSummary => ({
  id: row.id,
  name: row.name,
  description: row.description,
  business_id: row.businessId,
  can_edit: can(ctx.user, 'dashboards', 'edit'),
});

export async function listDashboards(ctx: Context): Promise<DashboardSummary[]> {
  assertCan(ctx.user, 'dashboards', 'view');
  const rows = await ctx.db.prisma.dashboard.findMany({ where: visibleWhere(ctx), orderBy: { name: 'asc' } });
  return rows.map((row) => summaryOf(ctx, row));
}

/** One dashboard with its widget specs; one the caller may not open is "not found", like a missing one. */
export async function getDashboard(ctx: Context, id: string): Promise<DashboardDetail> {
  assertCan(ctx.user, 'dashboards', 'view');
  const missing = new AppError('not_found', `Dashboard ${id} was not found, or it is not shared with your role.`);
  if (!z.string().uuid().safeParse(id).success) throw missing;
  const row = await ctx.db.prisma.dashboard.findFirst({ where: { id, ...visibleWhere(ctx) }, include: { widgets: { orderBy: [{ position: 'asc' }, { createdAt: 'asc' }] } } });
  if (!row) throw missing;
  return {
    ...summaryOf(ctx, row),
    widgets: row.widgets.map((w) => ({ id: w.id, title: w.title, type: w.type, view: w.viewName, fields: w.fields, refresh_seconds: w.refreshIntervalSeconds, position: w.position })),
  };
}

export type WidgetRow = Record<string, string | number | boolean | null>;

export interface WidgetData {
  id: string;
  title: string;
  type: string;
  fields: unknown;
  refresh_seconds: number;
  rows: WidgetRow[];
  /** True when the view had more rows than the widget's limit (the latest points, or the first rows in its order, are shown). */
  truncated: boolean;
  freshness: { refreshed_at: string | null; stale: boolean };
  /** Why the widget has no rows when its spec does not fit its view (the other widgets still answer). */
  error: string | null;
}

export interface DashboardData {
  dashboard_id: string;
  business_id: string;
  /** The team the rows are limited to (a manager's own), or null for the whole business. */
  manager_id: string | null;
  widgets: WidgetData[];
}

/**
 * Widget answers by (query, reader's scope, the view's last refresh). A materialized view changes only when
 * it is refreshed, so an answer stays right until its view's refresh time moves, which changes the key:
 * nothing needs invalidating, and every process may keep its own. Bounded; the oldest entry goes first.
 */
const WIDGET_CACHE_ENTRIES = 2000;
const widgetAnswers = new Map<string, { rows: WidgetRow[]; truncated: boolean }>();

function rememberAnswer(key: string, answer: { rows: WidgetRow[]; truncated: boolean }): void {
  if (widgetAnswers.size >= WIDGET_CACHE_ENTRIES) widgetAnswers.delete(widgetAnswers.keys().next().value!);
  widgetAnswers.set(key, answer);
}

/** The business whose rows a caller reads: their own; an admin names one (or the dashboard's). */
async function readerBusiness(ctx: Context, dashboard: DashboardDetail, requested: string | undefined): Promise<string> {
  if (ctx.scope.kind === 'business') {
    if (requested && requested !== ctx.scope.businessId) throw forbidden('You can only see your own business’s dashboards.');
    return ctx.scope.businessId;
  }
  const businessId = requested ?? dashboard.business_id;
  if (!businessId) throw new AppError('bad_request', 'Say which business to show: business_id is required for admins on a dashboard every business shares.');
  if (dashboard.business_id && dashboard.business_id !== businessId) throw new AppError('bad_request', `This dashboard belongs to business ${dashboard.business_id}; ask for that one.`);
  const business = z.string().uuid().safeParse(businessId).success ? await ctx.db.prisma.business.findUnique({ where: { id: businessId } }) : null;
  if (!business) throw new AppError('not_found', `Business ${businessId} was not found.`);
  return businessId;
}

const toNumber = (value: unknown) => (value === null || value === undefined ? null : Number(value));

/**
 * Each widget's rows, read from reporting.<view> under the reporting role with the caller's business
 * (and, for a manager, their team) set in the transaction: PostgreSQL decides the rows, never the
 * browser. `widgetId` narrows the answer to one widget (each widget polls on its own interval).
 */
export async function dashboardData(ctx: Context, id: string, options: { businessId?: string; widgetId?: string } = {}): Promise<DashboardData> {
  const dashboard = await getDashboard(ctx, id);
  const businessId = await readerBusiness(ctx, dashboard, options.businessId);
  const managerId = ctx.user.kind === 'user' && ctx.user.role === 'manager' ? ctx.user.id : null;
  const widgets = options.widgetId ? dashboard.widgets.filter((w) => w.id === options.widgetId) : dashboard.widgets;
  if (options.widgetId && widgets.length === 0) throw new AppError('not_found', `Widget ${options.widgetId} is not on dashboard ${id}.`);

  const freshness = new Map((await viewFreshness(ctx)).map((f) => [f.view, f]));
  type Planned = { widget: WidgetSpec; error: string } | { widget: WidgetSpec; plan: WidgetPlan; sql: string };
  const planned = await Promise.all(
    widgets.map(async (widget): Promise<Planned> => {
      if (!viewNames.has(widget.view)) return { widget, error: `View "${widget.view}" is not a warehouse view.` };
      const type = z.enum(widgetTypes).safeParse(widget.type);
      if (!type.success) return { widget, error: `"${widget.type}" is not a widget type.` };
      const columns = await viewColumns(ctx.db, widget.view);
      const result = widgetPlan(type.data, widget.fields, columns);
      if ('problems' in result) return { widget, error: `The widget's fields do not fit view ${widget.view}: ${result.problems.map((p) => `${p.field} ${p.reason}`).join('; ')}.` };
      return { widget, plan: result.plan, sql: widgetSql(widget.view, result.plan, columns) };
    }),
  );

  const entries = planned.map((entry) => {
    const view = freshness.get(entry.widget.view);
    const refreshedAt = view?.lastRefreshedAt?.toISOString() ?? null;
    const cacheKey = 'sql' in entry && refreshedAt ? JSON.stringify([entry.sql, businessId, managerId, refreshedAt]) : null;
    return { entry, freshness: { refreshed_at: refreshedAt, stale: view?.stale ?? true }, cacheKey };
  });
  // Answers by widget id: from the cache, else read under the reader's scope in one read-only transaction.
  const answered = new Map<string, { rows: WidgetRow[]; truncated: boolean }>();
  const queries: { widgetId: string; sql: string; plan: WidgetPlan; cacheKey: string | null }[] = [];
  for (const { entry, cacheKey } of entries) {
    if (!('sql' in entry)) continue;
    const known = cacheKey ? widgetAnswers.get(cacheKey) : undefined;
    if (known) answered.set(entry.widget.id, known);
    else queries.push({ widgetId: entry.widget.id, sql: entry.sql, plan: entry.plan, cacheKey });
  }
  if (queries.length > 0) {
    await readAsReporter(ctx.db.pool, { businessId, managerId }, async (client) => {
      for (const query of queries) {
        const result = await client.query<Record<string, unknown>>(query.sql);
        const kept = result.rows.slice(0, query.plan.limit);
        if (query.plan.newestFirst) kept.reverse();
        const measures = new Set(query.plan.measures);
        const rows = kept.map((row) => Object.fromEntries(Object.entries(row).map(([key, value]) => [key, measures.has(key) ? toNumber(value) : (value as WidgetRow[string])])));
        const answer = { rows, truncated: result.rows.length > query.plan.limit };
        answered.set(query.widgetId, answer);
        if (query.cacheKey) rememberAnswer(query.cacheKey, answer);
      }
    });
  }
  const answers = entries.map(({ entry, freshness: fresh }): WidgetData => {
    const { widget } = entry;
    const base = { id: widget.id, title: widget.title, type: widget.type, fields: widget.fields, refresh_seconds: widget.refresh_seconds, freshness: fresh };
    const answer = answered.get(widget.id);
    return answer ? { ...base, ...answer, error: null } : { ...base, rows: [], truncated: false, error: 'error' in entry ? entry.error : null };
  });
  return { dashboard_id: dashboard.id, business_id: businessId, manager_id: managerId, widgets: answers };
}
