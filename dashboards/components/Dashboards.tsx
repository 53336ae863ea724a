import React, { useEffect, useMemo, useState } from 'react';
import { ApiClient } from 'adminjs';
import { MarginIncompleteNotice } from './MarginIncompleteNotice.js';
import { requestJson } from './request.js';
import { Badge, Box, Button, H2, H5, Label, Loader, MessageBox, Text } from '@adminjs/design-system';
import { BusinessSelect } from './BusinessSelect.js';
import { WidgetChart, type ChartRow, type MoneyFormat, type WidgetFields } from './charts.js';
import { formatCurrency, formatNumber } from './format.js';
import { pollEvery } from './poll.js';

interface DashboardFilters {
  range?: string;
  group_by?: string;
  product?: boolean;
  compare?: string;
}
interface DashboardSummary {
  id: string;
  name: string;
  description: string | null;
  filters: DashboardFilters;
}
interface WidgetSpec {
  id: string;
  title: string;
  type: string;
  fields: WidgetFields;
  refresh_seconds: number;
}
interface WidgetData extends WidgetSpec {
  rows: ChartRow[];
  decimal_measures: string[];
  money_measures: string[];
  currency_column: string | null;
  truncated: boolean;
  previous: { range: { from: string; to: string }; comparison: string; rows: ChartRow[] } | null;
  current_period: string | null;
  filtered_by: { date: boolean; product: boolean };
  personal_data: 'shown' | 'pseudonymised' | null;
  freshness: { refreshed_at: string | null; stale: boolean };
  error: string | null;
}
/** One widget's answer from the data endpoint, with what the whole read shares. */
interface WidgetAnswer {
  widget: WidgetData;
  currency: string;
  filters: { grouping_note: string | null; in_progress: boolean };
}
interface PageData {
  businesses: { id: string; name: string }[] | null;
  dashboards: DashboardSummary[];
}
/** What the reader chose in the filter bar. */
interface FilterState {
  range: string;
  from: string;
  to: string;
  groupBy: string;
  compare: string;
  product: { id: string; label: string } | null;
}

const api = new ApiClient();

/** "refreshed 3 min ago" from the view's last refresh. */
function ago(iso: string | null, now: number): string {
  if (!iso) return 'never refreshed';
  const seconds = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (seconds < 60) return 'refreshed just now';
  if (seconds < 3600) return `refreshed ${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86_400) return `refreshed ${Math.floor(seconds / 3600)} h ago`;
  return `refreshed ${Math.floor(seconds / 86_400)} days ago`;
}

/**
 * "▲ 12.5% vs previous period (£40.00)" for a KPI compared with another period; a percentage's change is in
 * percentage points ("▲ +2.1 pp"), not a percent of a percent; a range running to today says it is not over.
 */
function changeNote(now: unknown, before: unknown, options: { comparison: string; percent: boolean; inProgress: boolean; format: (value: number) => string }): string {
  const against = options.comparison === 'previous_year' ? 'the same period a year earlier' : 'the previous period';
  const partial = options.inProgress ? ' · this period runs to today and is not over yet' : '';
  if (typeof now !== 'number' || typeof before !== 'number') return `nothing to compare with in ${against}${partial}`;
  if (options.percent) {
    const points = now - before;
    return `${points >= 0 ? '▲ +' : '▼ −'}${Math.abs(points).toFixed(1)} pp vs ${against} (${options.format(before)} %)${partial}`;
  }
  if (before === 0) return `${against}: ${options.format(0)}${partial}`;
  const pct = ((now - before) / Math.abs(before)) * 100;
  return `${pct >= 0 ? '▲' : '▼'} ${Math.abs(pct).toFixed(1)}% vs ${against} (${options.format(before)})${partial}`;
}

const defaultFilters = (offered: DashboardFilters): FilterState => ({ range: offered.range ?? '', from: '', to: '', groupBy: offered.group_by ?? '', compare: offered.compare ?? 'previous_period', product: null });

const rangeLabels: [string, string][] = [
  ['last_7_days', 'Last 7 days'],
  ['last_30_days', 'Last 30 days'],
  ['this_quarter', 'This quarter'],
  ['year_to_date', 'Year to date'],
  ['last_12_months', 'Last 12 months'],
  ['all_time', 'All time'],
  ['custom', 'Custom'],
];
const groupingLabels: [string, string][] = [
  ['day', 'Day'],
  ['week', 'Week'],
  ['month', 'Month'],
];
const comparisonLabels: [string, string][] = [
  ['previous_period', 'Previous period'],
  ['previous_year', 'Same period a year earlier'],
];
const isDate = (value: string | null) => value !== null && /^\d{4}-\d{2}-\d{2}$/.test(value);
const oneOf = (value: string | null, choices: [string, string][]) => (value !== null && choices.some(([choice]) => choice === value) ? value : null);

/** The page's state as its address holds it, so that a reload or a shared link opens the same view. */
interface UrlState {
  dashboardId: string | null;
  businessId: string | null;
  filters: Partial<FilterState>;
}

/** What the address says, keeping only values that can be meant (an edited link falls back to the defaults). */
function readUrlState(search: string): UrlState {
  const params = new URLSearchParams(search);
  const productId = params.get('product_id');
  const filters: Partial<FilterState> = {};
  const range = oneOf(params.get('range'), rangeLabels);
  if (range) filters.range = range;
  if (isDate(params.get('from'))) filters.from = params.get('from')!;
  if (isDate(params.get('to'))) filters.to = params.get('to')!;
  const groupBy = oneOf(params.get('group_by'), groupingLabels);
  if (groupBy) filters.groupBy = groupBy;
  const compare = oneOf(params.get('compare'), comparisonLabels);
  if (compare) filters.compare = compare;
  if (productId) filters.product = { id: productId, label: params.get('product') ?? 'the chosen product' };
  return { dashboardId: params.get('dashboard'), businessId: params.get('business_id'), filters };
}

/** The address of the page in this state (written with replaceState: no history entry per click). */
function urlOf(dashboardId: string, businessId: string, offered: DashboardFilters, filters: FilterState): string {
  const params = new URLSearchParams({ dashboard: dashboardId });
  if (businessId) params.set('business_id', businessId);
  if (offered.range) {
    params.set('range', filters.range);
    if (filters.range === 'custom') {
      if (filters.from) params.set('from', filters.from);
      if (filters.to) params.set('to', filters.to);
    }
    if (offered.group_by) params.set('group_by', filters.groupBy);
    params.set('compare', filters.compare);
  }
  if (offered.product && filters.product) {
    params.set('product_id', filters.product.id);
    params.set('product', filters.product.label);
  }
  return `${window.location.pathname}?${params}`;
}

/** The filter bar's choices as the data endpoint's query; null while a custom range lacks a date. */
function filterQuery(offered: DashboardFilters, filters: FilterState): URLSearchParams | null {
  const params = new URLSearchParams();
  if (offered.range) {
    params.set('range', filters.range);
    if (filters.range === 'custom') {
      if (!filters.from || !filters.to) return null;
      params.set('from', filters.from);
      params.set('to', filters.to);
    }
    if (offered.group_by) params.set('group_by', filters.groupBy);
    params.set('compare', filters.compare);
  }
  if (offered.product && filters.product) params.set('product_id', filters.product.id);
  return params;
}

/**
 * One widget: reads its own data under the filters, and reads it again every refresh_seconds (timed from
 * the end of the read before). When the filters change or the widget goes away (another dashboard), its
 * polling stops and a read still under way is aborted.
 */
const Widget: React.FC<{ dashboardId: string; spec: WidgetSpec; query: string; onDrill?: (product: { id: string; label: string }) => void; productLabel: string | null }> = ({ dashboardId, spec, query, onDrill, productLabel }) => {
  const [answer, setAnswer] = useState<WidgetAnswer | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const params = new URLSearchParams(query);
    params.set('widget_id', spec.id);
    setAnswer(null);
    const reads = new AbortController();
    const stop = pollEvery(
      spec.refresh_seconds * 1000,
      async (active) => {
        try {
          const res = await requestJson<{ data: { widgets: WidgetData[]; currency: string; filters: WidgetAnswer['filters'] } }>('GET', `/api/dashboard/${dashboardId}/data?${params}`, undefined, reads.signal);
          if (!active()) return false;
          const widget = res.data.widgets[0];
          setAnswer(widget ? { widget, currency: res.data.currency, filters: res.data.filters } : null);
          setError(null);
          setNow(Date.now());
        } catch (reason) {
          if (active()) setError((reason as Error).message);
        }
        return true;
      },
      { immediately: true },
    );
    const clock = setInterval(() => setNow(Date.now()), 30_000);
    return () => {
      stop();
      reads.abort();
      clearInterval(clock);
    };
  }, [dashboardId, spec.id, spec.refresh_seconds, query]);
  const data = answer?.widget ?? null;

  const wide = spec.type === 'line' || spec.type === 'table';
  const drill = spec.fields.drill && onDrill ? (row: ChartRow) => row[spec.fields.drill!] && onDrill({ id: String(row[spec.fields.drill!]), label: String(row[spec.fields.x ?? spec.fields.columns?.[0] ?? spec.fields.drill!]) }) : undefined;
  const value = spec.fields.value ?? '';
  const money: MoneyFormat | undefined = answer && data ? { measures: data.money_measures, currency: answer.currency, currencyColumn: data.currency_column } : undefined;
  const formatValue = (amount: number) => (money?.measures.includes(value) && !money.currencyColumn ? formatCurrency(amount, money.currency) : formatNumber(amount));
  const note =
    data?.previous && answer
      ? changeNote(data.rows[0]?.[value], data.previous.rows[0]?.[value], { comparison: data.previous.comparison, percent: spec.fields.ratios?.[value]?.percent === true, inProgress: answer.filters.in_progress, format: formatValue })
      : undefined;
  const dateAxis = spec.fields.date !== undefined && spec.fields.x === spec.fields.date;
  return (
    <Box variant="white" p="lg" data-testid={`widget-${spec.type}`} data-title={spec.title} style={{ flex: wide ? '2 1 520px' : spec.type === 'kpi' ? '1 1 200px' : '1 1 300px', minHeight: spec.type === 'kpi' ? 120 : 340 }}>
      <Box flex flexDirection="row" style={{ justifyContent: 'space-between', gap: 8, flexWrap: 'wrap' }}>
        <H5>{spec.title}</H5>
        {data && (
          <Text variant="sm" data-testid="freshness" title={data.freshness.refreshed_at ?? undefined} style={{ whiteSpace: 'nowrap' }}>
            {ago(data.freshness.refreshed_at, now)} {data.freshness.stale && <Badge variant="danger" size="sm" data-testid="stale">stale</Badge>}
          </Text>
        )}
      </Box>
      {productLabel && data && !data.filtered_by.product && <Text variant="sm" data-testid="not-filtered">All products (this figure is not kept to {productLabel})</Text>}
      {data?.personal_data === 'pseudonymised' && <Text variant="sm" data-testid="personal-data">Names hidden for your role: customers are shown by pseudonym.</Text>}
      {data?.personal_data === 'shown' && <Text variant="sm" data-testid="personal-data">Customer names shown: your role may see personal data.</Text>}
      {dateAxis && answer?.filters.grouping_note && <Text variant="sm" data-testid="grouping-note">{answer.filters.grouping_note}</Text>}
      {error && <MessageBox variant="danger" message={error} />}
      {data?.error && <MessageBox variant="danger" message={data.error} />}
      {!data && !error && <Loader />}
      {data && !data.error && (
        <Box style={{ height: spec.type === 'kpi' || spec.type === 'table' ? undefined : 290 }}>
          <WidgetChart type={spec.type} fields={spec.fields} rows={data.rows} decimals={data.decimal_measures} money={money} currentPeriod={data.current_period} onRowClick={drill} />
          {note !== undefined && <Text variant="sm" data-testid="kpi-change">{note}</Text>}
          {spec.fields.compare && !data.previous && data.filtered_by.date && <Text variant="sm" data-testid="kpi-change">All time: nothing before it to compare with.</Text>}
          {data.current_period && (
            <Text variant="sm" data-testid="in-progress">
              {data.current_period}: this period is still in progress ({spec.type === 'line' ? 'dashed' : 'lighter'}), not a fall.
            </Text>
          )}
          {data.truncated && <Text variant="sm">Showing the first {data.rows.length} rows.</Text>}
        </Box>
      )}
    </Box>
  );
};

/** The filters a dashboard offers: its date range (and grouping), and the product a click chose. */
const FilterBar: React.FC<{ offered: DashboardFilters; filters: FilterState; onChange: (filters: FilterState) => void }> = ({ offered, filters, onChange }) => (
  <>
    {offered.range && (
      <Box>
        <Label htmlFor="d-range">Range</Label>
        <select id="d-range" data-testid="range" value={filters.range} onChange={(e) => onChange({ ...filters, range: e.target.value })}>
          {rangeLabels.map(([value, label]) => <option key={value} value={value}>{label}</option>)}
        </select>
      </Box>
    )}
    {offered.range && filters.range === 'custom' && (
      <>
        <Box><Label htmlFor="d-from">From</Label><input id="d-from" data-testid="from" type="date" value={filters.from} onChange={(e) => onChange({ ...filters, from: e.target.value })} /></Box>
        <Box><Label htmlFor="d-to">To</Label><input id="d-to" data-testid="to" type="date" value={filters.to} onChange={(e) => onChange({ ...filters, to: e.target.value })} /></Box>
      </>
    )}
    {offered.group_by && (
      <Box>
        <Label htmlFor="d-group">Group by</Label>
        <select id="d-group" data-testid="group-by" value={filters.groupBy} onChange={(e) => onChange({ ...filters, groupBy: e.target.value })}>
          {groupingLabels.map(([value, label]) => <option key={value} value={value}>{label}</option>)}
        </select>
      </Box>
    )}
    {offered.range && (
      <Box>
        <Label htmlFor="d-compare">Compare with</Label>
        <select id="d-compare" data-testid="compare" value={filters.compare} onChange={(e) => onChange({ ...filters, compare: e.target.value })}>
          {comparisonLabels.map(([value, label]) => <option key={value} value={value}>{label}</option>)}
        </select>
      </Box>
    )}
    {offered.product && filters.product && (
      <Button size="sm" onClick={() => onChange({ ...filters, product: null })} data-testid="clear-product" title="Show every product again">
        {filters.product.label} ✕
      </Button>
    )}
  </>
);

/**
 * Dashboards drawn from the materialized views, each widget polling on its own interval, under the
 * dashboard's filters. The Dashboards page lists every dashboard granted to the caller's role; the
 * Metrics page is the same page over the one dashboard its handler names.
 */
export const DashboardPage: React.FC<{ pageName: string; testId: string; title: string; marginNotice?: boolean }> = ({ pageName, testId, title, marginNotice = false }) => {
  const [page, setPage] = useState<PageData | null>(null);
  const [dashboardId, setDashboardId] = useState('');
  const [businessId, setBusinessId] = useState('');
  const [filters, setFilters] = useState<FilterState>(defaultFilters({}));
  // The widgets of the dashboard they were read for: after a switch, the previous dashboard's are never drawn (nor read) against the new one.
  const [loaded, setLoaded] = useState<{ dashboardId: string; widgets: WidgetSpec[] } | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    api.getPage({ pageName }).then((res) => {
      const data = res.data as PageData;
      // The address chooses the dashboard, the business and the filters (a reload or a shared link); else the defaults.
      const asked = readUrlState(window.location.search);
      const dashboard = data.dashboards.find((d) => d.id === asked.dashboardId) ?? data.dashboards[0];
      setPage(data);
      if (dashboard) {
        setDashboardId(dashboard.id);
        // Filters named without a dashboard (a Metrics link) are the first dashboard's; those of another dashboard are not.
        setFilters({ ...defaultFilters(dashboard.filters), ...(asked.dashboardId === null || dashboard.id === asked.dashboardId ? asked.filters : {}) });
      }
      const business = data.businesses?.find((b) => b.id === asked.businessId) ?? data.businesses?.[0];
      if (business) setBusinessId(business.id);
    }, (reason: Error) => setError(reason.message));
  }, [pageName]);

  useEffect(() => {
    if (!dashboardId) return;
    setLoaded(null);
    const read = new AbortController();
    requestJson<{ data: { widgets: WidgetSpec[] } }>('GET', `/api/dashboard/${dashboardId}`, undefined, read.signal).then(
      (res) => setLoaded({ dashboardId, widgets: res.data.widgets }),
      (reason: Error) => !read.signal.aborted && setError(reason.message),
    );
    return () => read.abort();
  }, [dashboardId]);

  const current = page?.dashboards.find((d) => d.id === dashboardId);
  useEffect(() => {
    if (current) window.history.replaceState(window.history.state, '', urlOf(current.id, businessId, current.filters, filters));
  }, [current, businessId, filters]);
  const widgets = loaded?.dashboardId === dashboardId ? loaded.widgets : [];
  const query = useMemo(() => {
    if (!current) return null;
    const params = filterQuery(current.filters, filters);
    if (params && businessId) params.set('business_id', businessId);
    return params?.toString() ?? null;
  }, [current, filters, businessId]);

  if (!page) return error ? <MessageBox m="xl" variant="danger" message={error} /> : <Loader />;
  const chooseDashboard = (id: string) => {
    setDashboardId(id);
    setFilters(defaultFilters(page.dashboards.find((d) => d.id === id)?.filters ?? {}));
  };
  const onDrill = current?.filters.product ? (product: { id: string; label: string }) => setFilters((f) => ({ ...f, product })) : undefined;
  return (
    <Box variant="grey" data-testid={testId}>
      <Box variant="white" p="xl" mb="lg" flex flexDirection="row" style={{ gap: 16, flexWrap: 'wrap', alignItems: 'flex-end' }}>
        <Box style={{ marginRight: 'auto' }}>
          <H2>{current?.name ?? title}{filters.product ? ` · ${filters.product.label}` : ''}</H2>
          {current?.description && <Text>{current.description}</Text>}
        </Box>
        {page.dashboards.length > 1 && (
          <Box>
            <Label htmlFor="d-dashboard">Dashboard</Label>
            <select id="d-dashboard" data-testid="dashboard-select" value={dashboardId} onChange={(e) => chooseDashboard(e.target.value)}>
              {page.dashboards.map((d) => <option key={d.id} value={d.id}>{d.name}</option>)}
            </select>
          </Box>
        )}
        {page.businesses && (
          <Box>
            <BusinessSelect id="d-business" businesses={page.businesses} value={businessId} onChange={setBusinessId} />
          </Box>
        )}
        {current && <FilterBar offered={current.filters} filters={filters} onChange={setFilters} />}
      </Box>
      {error && <MessageBox mb="lg" variant="danger" message={error} />}
      {page.dashboards.length === 0 && <MessageBox variant="info" message="No dashboard is shared with your role yet. An admin can grant one under Dashboard grants." />}
      {query === null && current && <MessageBox variant="info" message="Choose both dates of the custom range." />}
      {marginNotice && query !== null && <MarginIncompleteNotice query={query} />}
      <Box flex flexDirection="row" style={{ gap: 16, flexWrap: 'wrap', alignItems: 'flex-start' }}>
        {query !== null &&
          widgets.map((spec) => <Widget key={`${dashboardId}:${spec.id}`} dashboardId={dashboardId} spec={spec} query={query} onDrill={onDrill} productLabel={filters.product?.label ?? null} />)}
      </Box>
    </Box>
  );
};

const Dashboards: React.FC = () => <DashboardPage pageName="dashboards" testId="dashboards-page" title="Dashboards" />;

export default Dashboards;
