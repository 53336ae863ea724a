import React, { useEffect, useMemo, useState } from 'react';
import { ApiClient } from 'adminjs';
import { MarginIncompleteNotice } from './MarginIncompleteNotice.js';
import { requestJson } from './request.js';
import { Badge, Box, Button, H2, H5, Label, Loader, MessageBox, Text } from '@adminjs/design-system';
import { BusinessSelect } from './BusinessSelect.js';
import { WidgetChart, type ChartRow, type WidgetFields } from './charts.js';
import { formatNumber } from './format.js';

interface DashboardFilters {
  range?: string;
  group_by?: string;
  product?: boolean;
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
  truncated: boolean;
  previous: { range: { from: string; to: string }; rows: ChartRow[] } | null;
  filtered_by: { date: boolean; product: boolean };
  freshness: { refreshed_at: string | null; stale: boolean };
  error: string | null;
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

/** "▲ 12.5% vs previous period (40.00)" for a KPI that compares with the period before the range. */
function changeNote(now: unknown, before: unknown): string {
  if (typeof now !== 'number' || typeof before !== 'number') return 'nothing to compare with in the previous period';
  if (before === 0) return 'previous period: 0';
  const pct = ((now - before) / Math.abs(before)) * 100;
  return `${pct >= 0 ? '▲' : '▼'} ${Math.abs(pct).toFixed(1)}% vs previous period (${formatNumber(before)})`;
}

const defaultFilters = (offered: DashboardFilters): FilterState => ({ range: offered.range ?? '', from: '', to: '', groupBy: offered.group_by ?? '', product: null });

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
  }
  if (offered.product && filters.product) params.set('product_id', filters.product.id);
  return params;
}

/** One widget: reads its own data under the filters, and reads it again every refresh_seconds. */
const Widget: React.FC<{ dashboardId: string; spec: WidgetSpec; query: string; onDrill?: (product: { id: string; label: string }) => void; productLabel: string | null }> = ({ dashboardId, spec, query, onDrill, productLabel }) => {
  const [data, setData] = useState<WidgetData | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    let live = true;
    const params = new URLSearchParams(query);
    params.set('widget_id', spec.id);
    setData(null);
    const load = () =>
      requestJson<{ data: { widgets: WidgetData[] } }>('GET', `/api/dashboard/${dashboardId}/data?${params}`).then(
        (res) => {
          if (!live) return;
          setData(res.data.widgets[0] ?? null);
          setError(null);
          setNow(Date.now());
        },
        (reason: Error) => live && setError(reason.message),
      );
    load();
    const timer = setInterval(load, spec.refresh_seconds * 1000);
    const clock = setInterval(() => setNow(Date.now()), 30_000);
    return () => {
      live = false;
      clearInterval(timer);
      clearInterval(clock);
    };
  }, [dashboardId, spec.id, spec.refresh_seconds, query]);

  const wide = spec.type === 'line' || spec.type === 'table';
  const drill = spec.fields.drill && onDrill ? (row: ChartRow) => row[spec.fields.drill!] && onDrill({ id: String(row[spec.fields.drill!]), label: String(row[spec.fields.x ?? spec.fields.columns?.[0] ?? spec.fields.drill!]) }) : undefined;
  const value = spec.fields.value ?? '';
  const note = data?.previous ? changeNote(data.rows[0]?.[value], data.previous.rows[0]?.[value]) : undefined;
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
      {error && <MessageBox variant="danger" message={error} />}
      {data?.error && <MessageBox variant="danger" message={data.error} />}
      {!data && !error && <Loader />}
      {data && !data.error && (
        <Box style={{ height: spec.type === 'kpi' || spec.type === 'table' ? undefined : 290 }}>
          <WidgetChart type={spec.type} fields={spec.fields} rows={data.rows} decimals={data.decimal_measures} onRowClick={drill} />
          {note !== undefined && <Text variant="sm" data-testid="kpi-change">{note}</Text>}
          {data.truncated && <Text variant="sm">Showing the first {data.rows.length} rows.</Text>}
        </Box>
      )}
    </Box>
  );
};

const rangeLabels: [string, string][] = [
  ['last_7_days', 'Last 7 days'],
  ['last_30_days', 'Last 30 days'],
  ['this_quarter', 'This quarter'],
  ['custom', 'Custom'],
];

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
        <Box><Label htmlFor="d-from">From</Label><input id="d-from" type="date" value={filters.from} onChange={(e) => onChange({ ...filters, from: e.target.value })} /></Box>
        <Box><Label htmlFor="d-to">To</Label><input id="d-to" type="date" value={filters.to} onChange={(e) => onChange({ ...filters, to: e.target.value })} /></Box>
      </>
    )}
    {offered.group_by && (
      <Box>
        <Label htmlFor="d-group">Group by</Label>
        <select id="d-group" data-testid="group-by" value={filters.groupBy} onChange={(e) => onChange({ ...filters, groupBy: e.target.value })}>
          <option value="day">Day</option>
          <option value="week">Week</option>
          <option value="month">Month</option>
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
  const [widgets, setWidgets] = useState<WidgetSpec[]>([]);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    api.getPage({ pageName }).then((res) => {
      const data = res.data as PageData;
      setPage(data);
      if (data.dashboards[0]) {
        setDashboardId(data.dashboards[0].id);
        setFilters(defaultFilters(data.dashboards[0].filters));
      }
      if (data.businesses?.[0]) setBusinessId(data.businesses[0].id);
    }, (reason: Error) => setError(reason.message));
  }, [pageName]);

  useEffect(() => {
    if (!dashboardId) return;
    setWidgets([]);
    // Another dashboard may be chosen before this one's widgets arrive: drop a late answer.
    let live = true;
    requestJson<{ data: { widgets: WidgetSpec[] } }>('GET', `/api/dashboard/${dashboardId}`).then(
      (res) => live && setWidgets(res.data.widgets),
      (reason: Error) => live && setError(reason.message),
    );
    return () => {
      live = false;
    };
  }, [dashboardId]);

  const current = page?.dashboards.find((d) => d.id === dashboardId);
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
