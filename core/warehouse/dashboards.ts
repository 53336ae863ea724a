import pg from 'pg';
import { z } from 'zod';
import type { Context } from '../context.js';
import type { Db } from '../db/index.js';
import type { Business } from '@prisma/client';
import { callerBusiness } from '../auth/business.js';
import { assertCan, can } from '../auth/permissions.js';
import { AppError } from '../errors.js';
import { comparedRange, comparisons, fitGrouping, groupings, periodStart, rangeNames, resolveRange, todayIn, type Comparison, type DateRange, type Grouping, type RangeName } from './ranges.js';
import { readAsReporter, type ReaderScope } from './reporting.js';
import { viewFreshness, warehouseViews, type WarehouseView } from './views.js';
import { liveViewNames, liveWarehouseViews } from './liveViews.js';

export const widgetTypes = ['kpi', 'line', 'bar', 'table', 'donut'] as const;
export type WidgetType = (typeof widgetTypes)[number];

/** The most rows one widget answers, whatever its spec asks. */
export const MAX_WIDGET_ROWS = 1000;
const defaultLimits: Record<WidgetType, number> = { kpi: 20, line: 366, bar: 366, donut: 12, table: 10 };

const column = z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'is not a column name');

/** A measure computed from two summed columns: sum(numerator) / sum(denominator), × 100 when `percent`. */
const ratio = z.object({ numerator: column, denominator: column, percent: z.boolean().default(false) }).strict();

/**
 * What a widget shows of its view. Dimensions: `x` (the axis, or the donut's slices), `series` (one line,
 * bar or number per value), `columns` (a table's text columns). Measures: `y` (lines, bars, a table's
 * number columns) and `value` (a KPI's number, a donut's slice size). Measures are summed over the rows
 * the reader may see, per dimension: a business-wide reader sees every team's rows added up; a measure
 * named in `ratios` is the ratio of two such sums (a margin %, an average order value).
 *
 * Dashboard filters a widget opts into: `date` (a date column the dashboard's range keeps to, and whose
 * values the dashboard's grouping buckets when it is the x axis), `product` (the column the dashboard's
 * product filter matches), `compare` (a KPI also answers for the period it is compared with: the one
 * named here unless the reader chooses the other), and `drill`
 * (a column whose value, on a click, becomes the dashboard's product filter).
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
    ratios: z.record(column, ratio).refine((r) => Object.keys(r).length <= 8, 'may define at most 8 ratios').optional(),
    date: column.optional(),
    product: column.optional(),
    drill: column.optional(),
    compare: z.enum(comparisons).optional(),
  })
  .strict();
export type WidgetFields = z.infer<typeof widgetFields>;
type Ratio = z.infer<typeof ratio>;

/** The filters a dashboard offers, with their defaults; stored in dashboards.filters. */
export const dashboardFilters = z
  .object({
    /** The date range filter and its default; widgets with `date` keep to it. */
    range: z.enum(rangeNames).optional(),
    /** The grouping of date axes (day, week, month) and its default; needs `range`. */
    group_by: z.enum(groupings).optional(),
    /** A product filter (set by clicking a widget with `drill`); widgets with `product` keep to it. */
    product: z.boolean().optional(),
    /** What comparing KPIs are compared with by default (each widget's own choice otherwise); needs `range`. */
    compare: z.enum(comparisons).optional(),
  })
  .strict()
  .refine((f) => f.group_by === undefined || f.range !== undefined, { message: 'group_by needs a range: grouping applies to date axes within the range', path: ['group_by'] })
  .refine((f) => f.compare === undefined || f.range !== undefined, { message: 'compare needs a range: it compares the range with another period', path: ['compare'] });
export type DashboardFilters = z.infer<typeof dashboardFilters>;

/** What a reader asks the filters to be (query parameters of the data endpoint). */
export interface FilterInput {
  range?: RangeName;
  from?: string;
  to?: string;
  groupBy?: Grouping;
  productId?: string;
  compare?: Comparison;
}

/** The filters in force for one read: resolved against the business's calendar. */
export interface AppliedFilters {
  range: DateRange | null;
  /** The grouping of date axes: the one asked for, or a coarser one when it would draw too many points. */
  group_by: Grouping | null;
  /** Why the grouping is not the one asked for, or null. */
  grouping_note: string | null;
  product_id: string | null;
  /** What comparing KPIs are compared with: the reader's choice, else the dashboard's default, else each widget's own. */
  compare: Comparison | null;
  /** The range runs to today, whose figures are still coming in. */
  in_progress: boolean;
}

export interface ViewColumn {
  name: string;
  /** PostgreSQL's type category: N numeric, D date/time, B boolean, S text… */
  category: string;
  type: string;
}

export interface WidgetPlan {
  dimensions: string[];
  measures: string[];
  /** Measures computed as ratios of sums, by name. */
  ratios: Record<string, Ratio>;
  /** Dashboard filters the widget keeps to: its date column, its product column, and the previous-period comparison. */
  date: string | null;
  product: string | null;
  compare: Comparison | null;
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
  const dimensionColumn = (field: string, name: string): string[] => {
    if (name === 'business_id' || !byName.has(name)) {
      problems.push({ field: `fields.${field}`, reason: `"${name}" is not a column of the view (columns: ${known.join(', ')})` });
      return [];
    }
    return [name];
  };
  const dimension = (field: string, name: string | undefined, required: boolean): string[] => {
    if (name === undefined) {
      if (required) problems.push({ field: `fields.${field}`, reason: `is required for a ${type} widget` });
      return [];
    }
    return dimensionColumn(field, name);
  };
  const numberColumn = (field: string, name: string): boolean => {
    const found = byName.get(name);
    if (!found || name === 'business_id') problems.push({ field, reason: `"${name}" is not a column of the view (columns: ${known.join(', ')})` });
    else if (found.category !== 'N') problems.push({ field, reason: `"${name}" is not a number column, so it cannot be summed` });
    else return true;
    return false;
  };
  const ratios = fields.ratios ?? {};
  for (const [name, r] of Object.entries(ratios)) {
    if (byName.has(name)) problems.push({ field: `fields.ratios.${name}`, reason: 'is a column of the view already; give the ratio a name of its own' });
    numberColumn(`fields.ratios.${name}.numerator`, r.numerator);
    numberColumn(`fields.ratios.${name}.denominator`, r.denominator);
  }
  const measure = (field: string, name: string): string[] => {
    if (ratios[name]) return [name];
    return numberColumn(`fields.${field}`, name) ? [name] : [];
  };
  const unused = (field: keyof WidgetFields) => {
    if (fields[field] !== undefined) problems.push({ field: `fields.${field}`, reason: `is not used by a ${type} widget` });
  };

  /** The columns a required field names, each checked by `check`; a missing field is a problem. */
  const required = <T>(field: string, value: T | undefined, check: (value: T) => string[]): string[] => {
    if (value !== undefined) return check(value);
    problems.push({ field: `fields.${field}`, reason: `is required for a ${type} widget` });
    return [];
  };
  const measuresOf = (names: string[]) => names.flatMap((name, i) => measure(`y.${i}`, name));

  let dimensions: string[] = [];
  let measures: string[] = [];
  switch (type) {
    case 'kpi':
      dimensions = dimension('series', fields.series, false);
      measures = required('value', fields.value, (name) => measure('value', name));
      for (const field of ['x', 'y', 'columns'] as const) unused(field);
      break;
    case 'line':
    case 'bar':
      dimensions = [...dimension('x', fields.x, true), ...dimension('series', fields.series, false)];
      measures = required('y', fields.y, measuresOf);
      for (const field of ['value', 'columns'] as const) unused(field);
      break;
    case 'donut':
      dimensions = dimension('x', fields.x, true);
      measures = required('value', fields.value, (name) => measure('value', name));
      for (const field of ['y', 'series', 'columns'] as const) unused(field);
      break;
    case 'table':
      dimensions = required('columns', fields.columns, (names) => names.flatMap((name, i) => dimension(`columns.${i}`, name, true)));
      measures = measuresOf(fields.y ?? []);
      for (const field of ['x', 'series', 'value'] as const) unused(field);
      break;
  }
  if (fields.drill !== undefined) {
    if (type !== 'bar' && type !== 'table') problems.push({ field: 'fields.drill', reason: `is not used by a ${type} widget (bars and table rows can be clicked)` });
    else dimensions.push(...dimension('drill', fields.drill, true));
  }
  const date = fields.date === undefined ? [] : dimensionColumn('date', fields.date);
  if (date[0] && byName.get(date[0])?.type !== 'date') problems.push({ field: 'fields.date', reason: `"${date[0]}" is not a date column` });
  const product = fields.product === undefined ? [] : dimensionColumn('product', fields.product);
  if (fields.compare && type !== 'kpi') problems.push({ field: 'fields.compare', reason: 'compares a KPI with the previous period; other widgets show the range only' });
  if (fields.compare && fields.date === undefined) problems.push({ field: 'fields.compare', reason: 'needs fields.date: the previous period is the range before the dashboard\'s' });
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
  const usedRatios = Object.fromEntries(Object.entries(ratios).filter(([name]) => measures.includes(name)));
  return {
    plan: { dimensions, measures, ratios: usedRatios, date: date[0] ?? null, product: product[0] ?? null, compare: fields.compare ?? null, order, limit: fields.limit ?? defaultLimits[type], newestFirst: newestFirst && !fields.sort },
  };
}

const viewNames = new Set([...warehouseViews.map((view) => view.name), ...liveViewNames]);
const columnCache = new WeakMap<Db, Map<string, ViewColumn[]>>();

/** The columns of a registered view as readers see it, reporting.<view> (from PostgreSQL's catalog; they change only with a migration). */
async function viewColumns(db: Db, view: string): Promise<ViewColumn[]> {
  let cache = columnCache.get(db);
  if (!cache) columnCache.set(db, (cache = new Map()));
  const cached = cache.get(view);
  if (cached) return cached;
  const result = await db.pool.query<ViewColumn>(
    `SELECT a.attname AS name, t.typcategory AS category, format_type(a.atttypid, a.atttypmod) AS type
       FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
      WHERE a.attrelid = to_regclass('reporting.' || quote_ident($1)) AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY a.attnum`,
    [view],
  );
  if (result.rows.length === 0) throw new Error(`View reporting.${view} is in the registry but not in the database: a migration is missing.`);
  cache.set(view, result.rows);
  return result.rows;
}

type CheckedWidget = { type: WidgetType; plan: WidgetPlan; columns: ViewColumn[] } | { error: AppError };

/** A widget's type, view and fields checked together: what saving refuses, and what reading reports per widget. */
async function checkWidget(db: Db, spec: { type: string; viewName: string; fields: unknown }): Promise<CheckedWidget> {
  if (!viewNames.has(spec.viewName)) return { error: new AppError('validation_failed', `"${spec.viewName}" is not a warehouse view. Known views: ${[...viewNames].join(', ')}.`, [{ field: 'viewName', reason: 'is not a warehouse view' }]) };
  const type = z.enum(widgetTypes).safeParse(spec.type);
  if (!type.success) return { error: new AppError('validation_failed', `The widget type must be one of ${widgetTypes.join(', ')}.`, [{ field: 'type', reason: 'is not a widget type' }]) };
  const columns = await viewColumns(db, spec.viewName);
  const result = widgetPlan(type.data, spec.fields, columns);
  if ('problems' in result) {
    return { error: new AppError('validation_failed', `The widget's fields do not fit view ${spec.viewName}: ${result.problems.map((p) => `${p.field} ${p.reason}`).join('; ')}.`, result.problems) };
  }
  return { type: type.data, plan: result.plan, columns };
}

/** The records service calls this before saving a widget. */
export async function assertWidgetSpec(db: Db, spec: { type: string; viewName: string; fields: unknown }): Promise<void> {
  const checked = await checkWidget(db, spec);
  if ('error' in checked) throw checked.error;
}

interface WidgetQuery {
  text: string;
  values: unknown[];
}

/**
 * The SELECT of one widget over reporting.<view> under the filters in force. Every name is a checked
 * column, quoted anyway; every filter value is a parameter. A date x axis within a range is bucketed by
 * the grouping and lists every period of the range, empty ones as zeros (a ratio of nothing stays null).
 */
function widgetQuery(type: WidgetType, view: string, plan: WidgetPlan, columns: ViewColumn[], filters: AppliedFilters): WidgetQuery {
  const byName = new Map(columns.map((c) => [c.name, c]));
  const id = pg.escapeIdentifier;
  const values: unknown[] = [];
  const param = (value: unknown) => {
    values.push(value);
    return `$${values.length}`;
  };
  const range = plan.date ? filters.range : null;
  const where: string[] = [];
  let bounds: { from: string; to: string } | null = null;
  if (range && plan.date) {
    bounds = { from: param(range.from), to: param(range.to) };
    where.push(`${id(plan.date)} BETWEEN ${bounds.from}::date AND ${bounds.to}::date`);
  }
  if (plan.product && filters.product_id) where.push(`${id(plan.product)}::text = ${param(filters.product_id)}`);
  const bucketed = bounds && filters.group_by && plan.date === plan.dimensions[0] && (type === 'line' || type === 'bar');
  const grouping = bucketed ? param(filters.group_by) : null;
  const dimensionExpr = (name: string) =>
    name === plan.date && grouping
      ? `to_char(date_trunc(${grouping}::text, ${id(name)}::timestamp), 'YYYY-MM-DD')`
      : byName.get(name)?.type === 'date'
        ? `to_char(${id(name)}, 'YYYY-MM-DD')`
        : id(name);
  const measureExpr = (name: string) => {
    const r = plan.ratios[name];
    if (r) return `round(${r.percent ? '100 * ' : ''}sum(${id(r.numerator)}) / nullif(sum(${id(r.denominator)}), 0), 2)`;
    // A total over no rows (a KPI of an empty range) is zero; a ratio of nothing stays null.
    return plan.dimensions.length === 0 ? `coalesce(sum(${id(name)}), 0)` : `sum(${id(name)})`;
  };
  const select = [...plan.dimensions.map((name) => `${dimensionExpr(name)} AS ${id(name)}`), ...plan.measures.map((name) => `${measureExpr(name)} AS ${id(name)}`)];
  const groupBy = plan.dimensions.length > 0 ? ` GROUP BY ${plan.dimensions.map((_, i) => i + 1).join(', ')}` : '';
  const shown = [...plan.dimensions, ...plan.measures];
  const orderBy = plan.order.length > 0 ? ` ORDER BY ${plan.order.map((o) => `${shown.indexOf(o.column) + 1} ${o.direction.toUpperCase()} NULLS LAST`).join(', ')}` : '';
  const aggregate = `SELECT ${select.join(', ')} FROM reporting.${id(view)}${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''}${groupBy}`;
  const limit = ` LIMIT ${plan.limit + 1}`;
  if (!bounds || !grouping || plan.dimensions.length !== 1) return { text: `${aggregate}${orderBy}${limit}`, values };
  const x = id(plan.dimensions[0]!);
  const filled = [`periods.period AS ${x}`, ...plan.measures.map((name) => (plan.ratios[name] ? `data.${id(name)}` : `coalesce(data.${id(name)}, 0) AS ${id(name)}`))];
  const periods = `SELECT to_char(p, 'YYYY-MM-DD') AS period FROM generate_series(date_trunc(${grouping}::text, ${bounds.from}::date::timestamp), date_trunc(${grouping}::text, ${bounds.to}::date::timestamp), ('1 ' || ${grouping}::text)::interval) AS p`;
  return { text: `WITH data AS (${aggregate}), periods AS (${periods}) SELECT ${filled.join(', ')} FROM periods LEFT JOIN data ON data.${x} = periods.period${orderBy}${limit}`, values };
}

/**
 * The filters in force: the dashboard's defaults, changed by what the reader asked; asking for one it does
 * not offer is an error. `firstDay`: the business's first day with data in the dashboard's views, where
 * "all time" starts.
 */
export function applyFilters(offered: DashboardFilters, input: FilterInput, today: string, firstDay: string | null = null): AppliedFilters {
  if (!offered.range && (input.range || input.from || input.to || input.groupBy || input.compare)) {
    throw new AppError('bad_request', 'This dashboard has no date filter: leave out range, from, to, group_by and compare.');
  }
  if (!offered.product && input.productId) throw new AppError('bad_request', 'This dashboard has no product filter: leave out product_id.');
  const range = offered.range ? resolveRange(input.range ?? offered.range, today, { from: input.from, to: input.to, firstDay }) : null;
  const grouping = range ? fitGrouping(range, input.groupBy ?? offered.group_by ?? 'day') : null;
  return {
    range,
    group_by: grouping?.group_by ?? null,
    grouping_note: grouping?.note ?? null,
    product_id: input.productId ?? null,
    compare: input.compare ?? offered.compare ?? null,
    in_progress: range !== null && range.from <= today && range.to >= today,
  };
}

export interface DashboardSummary {
  id: string;
  name: string;
  description: string | null;
  slug: string | null;
  business_id: string | null;
  /** The filters the dashboard offers, with their defaults. */
  filters: DashboardFilters;
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

const summaryOf = (ctx: Context, row: { id: string; name: string; description: string | null; slug: string | null; businessId: string | null; filters: unknown }): DashboardSummary => ({
  id: row.id,
  name: row.name,
  description: row.description,
  slug: row.slug,
  business_id: row.businessId,
  // Checked when saved (core/records/definitions.ts), so the stored shape is trusted here.
  filters: dashboardFilters.parse(row.filters),
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
  /** Measures that are amounts with decimals (money, ratios), which the page shows with two decimals even when whole ("80.00"). */
  decimal_measures: string[];
  /** Measures that are amounts of money, in the row's `currency_column` when set, else the dashboard's `currency`. */
  money_measures: string[];
  /** The column of the rows that names each row's currency, when the widget shows one. */
  currency_column: string | null;
  /** True when the view had more rows than the widget's limit (the latest points, or the first rows in its order, are shown). */
  truncated: boolean;
  /** A KPI's figures for the period it is compared with (fields.compare), else null (also for "all time", which has nothing before it). */
  previous: { range: DateRange; comparison: Comparison; rows: WidgetRow[] } | null;
  /** On a date axis of periods (grouped under a range that runs to today, or a view's months or days): the period (its x value) still in progress. */
  current_period: string | null;
  /** Which of the dashboard's filters in force this widget keeps to (the others do not apply to it). */
  filtered_by: { date: boolean; product: boolean };
  /** For widgets showing personal data (customers' names): "shown", or "pseudonymised" for a role that may not see it; else null. */
  personal_data: 'shown' | 'pseudonymised' | null;
  freshness: { refreshed_at: string | null; stale: boolean };
  /** Why the widget has no rows when its spec does not fit its view (the other widgets still answer). */
  error: string | null;
}

export interface DashboardData {
  dashboard_id: string;
  business_id: string;
  /** The business's currency (ISO 4217 code): money measures without a currency column of their own are in it. */
  currency: string;
  /** The team the rows are limited to (a manager's own), or null for the whole business. */
  manager_id: string | null;
  filters: AppliedFilters;
  widgets: WidgetData[];
}

type Answer = { rows: WidgetRow[]; truncated: boolean };

/**
 * Widget answers by (query and its parameters, reader's scope, the view's last refresh). A materialized
 * view changes only when it is refreshed, so an answer stays right until its view's refresh time moves,
 * which changes the key: nothing needs invalidating, and every process may keep its own. Bounded; the
 * oldest entry goes first. (A relative range such as "last 7 days" is resolved to dates before the key
 * is made, so a new day is a new key.)
 */
const WIDGET_CACHE_ENTRIES = 2000;
const widgetAnswers = new Map<string, Answer>();

function rememberAnswer(key: string, answer: Answer): void {
  if (widgetAnswers.size >= WIDGET_CACHE_ENTRIES) widgetAnswers.delete(widgetAnswers.keys().next().value!);
  widgetAnswers.set(key, answer);
}

/** The business whose rows a caller reads: their own; an admin names one (or the dashboard's). */
function readerBusiness(ctx: Context, dashboard: DashboardDetail, requested: string | undefined): Promise<Business> {
  if (ctx.scope.kind === 'all' && requested && dashboard.business_id && dashboard.business_id !== requested) {
    throw new AppError('bad_request', `This dashboard belongs to business ${dashboard.business_id}; ask for that one.`);
  }
  return callerBusiness(ctx, requested ?? (ctx.scope.kind === 'all' ? dashboard.business_id : undefined), {
    refused: 'You can only see your own business’s dashboards.',
    missing: 'Say which business to show: business_id is required for admins on a dashboard every business shares.',
  });
}

const toNumber = (value: unknown) => (value === null || value === undefined ? null : Number(value));
const registry = new Map<string, Pick<WarehouseView, 'money' | 'periods' | 'personal'>>([...warehouseViews, ...liveWarehouseViews].map((view) => [view.name, view]));

interface CheckedSpec {
  widget: WidgetSpec;
  type: WidgetType;
  plan: WidgetPlan;
  columns: ViewColumn[];
}

interface PlannedWidget extends CheckedSpec {
  queries: { current: WidgetQuery; previous: WidgetQuery | null };
  previous: { range: DateRange; comparison: Comparison } | null;
  decimalMeasures: string[];
  moneyMeasures: string[];
  currentPeriod: string | null;
}

/** A checked widget's queries under the filters, and what the page needs to draw its answer (money, the period in progress). */
function planWidget(checked: CheckedSpec, filters: AppliedFilters, today: string): PlannedWidget {
  const { type, plan, columns, widget } = checked;
  const comparison = plan.compare ? (filters.compare ?? plan.compare) : null;
  const before = comparison && filters.range ? comparedRange(filters.range, comparison) : null;
  const decimalColumns = new Set(columns.filter((column) => /^(numeric|double precision|real)/.test(column.type)).map((column) => column.name));
  const money = new Set(registry.get(widget.view)?.money ?? []);
  // A ratio is money when an amount is divided by a count (an average order value), not by another amount or as a percent.
  const isMoney = (measure: string) => {
    const ratio = plan.ratios[measure];
    return ratio ? !ratio.percent && money.has(ratio.numerator) && !money.has(ratio.denominator) : money.has(measure);
  };
  const bucketed = filters.range && filters.group_by && plan.date !== null && plan.date === plan.dimensions[0] && (type === 'line' || type === 'bar');
  // A chart over a column of periods (a view's months) that no range keeps away from today: today's period is in progress.
  const viewPeriod = type === 'line' || type === 'bar' ? registry.get(widget.view)?.periods?.[plan.dimensions[0] ?? ''] : undefined;
  const currentPeriod = bucketed ? (filters.in_progress ? periodStart(today, filters.group_by!) : null) : viewPeriod && (!filters.range || filters.in_progress) ? periodStart(today, viewPeriod) : null;
  return {
    ...checked,
    decimalMeasures: plan.measures.filter((measure) => measure in plan.ratios || decimalColumns.has(measure)),
    moneyMeasures: plan.measures.filter(isMoney),
    currentPeriod,
    queries: {
      current: widgetQuery(type, widget.view, plan, columns, filters),
      previous: before ? widgetQuery(type, widget.view, plan, columns, { ...filters, range: before }) : null,
    },
    previous: before && comparison ? { range: before, comparison } : null,
  };
}

/**
 * Each widget's rows, read from reporting.<view> under the reporting role with the caller's business
 * (and, for a manager, their team; personal data pseudonymised for roles that may not see it) set in the
 * transaction: PostgreSQL decides the rows, never the browser. The dashboard's filters (range, grouping,
 * product, comparison) apply to the widgets that opt into them. `widgetId` narrows the answer to one
 * widget (each widget polls on its own interval).
 */
export async function dashboardData(ctx: Context, id: string, options: { businessId?: string; widgetId?: string; filters?: FilterInput } = {}): Promise<DashboardData> {
  const dashboard = await getDashboard(ctx, id);
  const business = await readerBusiness(ctx, dashboard, options.businessId);
  const managerId = ctx.user.kind === 'user' && ctx.user.role === 'manager' ? ctx.user.id : null;
  // A reader limited to some shops sees only their rows of shop-level views (gold aggregates, Tekmetric).
  const shopIds = ctx.scope.kind === 'business' ? ctx.scope.shopIds : null;
  const reader = { businessId: business.id, managerId, shopIds, showsPersonalData: can(ctx.user, 'pii', 'view') };
  if (options.widgetId && !dashboard.widgets.some((w) => w.id === options.widgetId)) throw new AppError('not_found', `Widget ${options.widgetId} is not on dashboard ${id}.`);

  const freshness = new Map((await viewFreshness(ctx, [...new Set(dashboard.widgets.map((w) => w.view))])).map((f) => [f.view, f]));
  const checked = await Promise.all(dashboard.widgets.map(async (widget) => ({ widget, checked: await checkWidget(ctx.db, { type: widget.type, viewName: widget.view, fields: widget.fields }) })));
  const keyOf = (query: WidgetQuery, view: string) => {
    const refreshedAt = freshness.get(view)?.lastRefreshedAt?.toISOString();
    return refreshedAt ? JSON.stringify([query.text, query.values, business.id, managerId, shopIds, reader.showsPersonalData, refreshedAt]) : null;
  };
  const today = todayIn(business.timezone);
  const requested = options.filters ?? {};
  const firstDay = (requested.range ?? dashboard.filters.range) === 'all_time' && dashboard.filters.range ? await firstDataDay(ctx, reader, checked.flatMap(({ widget, checked: c }) => ('plan' in c && c.plan.date ? [{ view: widget.view, column: c.plan.date }] : [])), keyOf) : null;
  const filters = applyFilters(dashboard.filters, requested, today, firstDay);

  const shown = checked.filter(({ widget }) => !options.widgetId || widget.id === options.widgetId);
  const planned = shown.map(({ widget, checked: c }) => ('error' in c ? { widget, error: c.error.message } : planWidget({ widget, ...c }, filters, today)));

  // Answers by query key: from the cache, else read under the reader's scope in one read-only transaction.
  const answers = new Map<WidgetQuery, Answer>();
  const pending: { query: WidgetQuery; plan: WidgetPlan; key: string | null }[] = [];
  for (const entry of planned) {
    if (!('plan' in entry)) continue;
    for (const query of [entry.queries.current, entry.queries.previous]) {
      if (!query) continue;
      const key = keyOf(query, entry.widget.view);
      const known = key ? widgetAnswers.get(key) : undefined;
      if (known) answers.set(query, known);
      else pending.push({ query, plan: entry.plan, key });
    }
  }
  if (pending.length > 0) {
    await readAsReporter(ctx.db.pool, reader, async (client) => {
      for (const { query, plan, key } of pending) {
        const result = await client.query<Record<string, unknown>>(query.text, query.values);
        const kept = result.rows.slice(0, plan.limit);
        if (plan.newestFirst) kept.reverse();
        const measures = new Set(plan.measures);
        const rows = kept.map((row) => Object.fromEntries(Object.entries(row).map(([column, value]) => [column, measures.has(column) ? toNumber(value) : (value as WidgetRow[string])])));
        const answer = { rows, truncated: result.rows.length > plan.limit };
        answers.set(query, answer);
        if (key) rememberAnswer(key, answer);
      }
    });
  }

  // Live views (liveViews.ts) are current as they are read.
  const readAt = new Date();
  const data = planned.map((entry): WidgetData => {
    const { widget } = entry;
    const view = liveViewNames.has(widget.view) ? { lastRefreshedAt: readAt, stale: false } : freshness.get(widget.view);
    const base = {
      id: widget.id,
      title: widget.title,
      type: widget.type,
      fields: widget.fields,
      refresh_seconds: widget.refresh_seconds,
      freshness: { refreshed_at: view?.lastRefreshedAt?.toISOString() ?? null, stale: view?.stale ?? true },
    };
    if (!('plan' in entry)) {
      return { ...base, rows: [], decimal_measures: [], money_measures: [], currency_column: null, truncated: false, previous: null, current_period: null, filtered_by: { date: false, product: false }, personal_data: null, error: entry.error };
    }
    const previous = entry.queries.previous && entry.previous ? { ...entry.previous, rows: answers.get(entry.queries.previous)!.rows } : null;
    const filteredBy = { date: entry.plan.date !== null && filters.range !== null, product: entry.plan.product !== null && filters.product_id !== null };
    const personal = registry.get(widget.view)?.personal ?? [];
    const showsPersonal = entry.plan.dimensions.some((column) => personal.includes(column));
    return {
      ...base,
      ...answers.get(entry.queries.current)!,
      decimal_measures: entry.decimalMeasures,
      money_measures: entry.moneyMeasures,
      currency_column: entry.plan.dimensions.includes('currency') ? 'currency' : null,
      previous,
      current_period: entry.currentPeriod,
      filtered_by: filteredBy,
      personal_data: showsPersonal ? (reader.showsPersonalData ? 'shown' : 'pseudonymised') : null,
      error: null,
    };
  });
  return { dashboard_id: dashboard.id, business_id: business.id, currency: business.currency, manager_id: managerId, filters, widgets: data };
}

/**
 * The business's first day with data in the given views' date columns, where "all time" starts; null
 * when they hold none. Kept like widget answers, by the views' refresh times.
 */
async function firstDataDay(ctx: Context, reader: ReaderScope, dated: { view: string; column: string }[], keyOf: (query: WidgetQuery, view: string) => string | null): Promise<string | null> {
  const distinct = [...new Map(dated.map((d) => [`${d.view}.${d.column}`, d])).values()];
  const days: string[] = [];
  const pending: { query: WidgetQuery; key: string | null }[] = [];
  for (const { view, column } of distinct) {
    const query = { text: `SELECT to_char(min(${pg.escapeIdentifier(column)}), 'YYYY-MM-DD') AS first_day FROM reporting.${pg.escapeIdentifier(view)}`, values: [] };
    const key = keyOf(query, view);
    const known = key ? widgetAnswers.get(key) : undefined;
    if (known) days.push(...known.rows.map((row) => row.first_day as string | null).filter((day): day is string => day !== null));
    else pending.push({ query, key });
  }
  if (pending.length > 0) {
    await readAsReporter(ctx.db.pool, reader, async (client) => {
      for (const { query, key } of pending) {
        const rows = (await client.query<{ first_day: string | null }>(query.text)).rows;
        if (key) rememberAnswer(key, { rows, truncated: false });
        if (rows[0]?.first_day) days.push(rows[0].first_day);
      }
    });
  }
  return days.length > 0 ? days.sort()[0]! : null;
}
