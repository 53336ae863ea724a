import React, { useEffect, useState } from 'react';
import { ApiClient } from 'adminjs';
import { requestJson } from './request.js';
import { Badge, Box, H2, H5, Label, Loader, MessageBox, Text } from '@adminjs/design-system';
import { WidgetChart, type ChartRow, type WidgetFields } from './charts.js';

interface DashboardSummary {
  id: string;
  name: string;
  description: string | null;
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
  truncated: boolean;
  freshness: { refreshed_at: string | null; stale: boolean };
  error: string | null;
}
interface PageData {
  businesses: { id: string; name: string }[] | null;
  dashboards: DashboardSummary[];
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

/** One widget: reads its own data and reads it again every refresh_seconds. */
const Widget: React.FC<{ dashboardId: string; spec: WidgetSpec; businessId: string }> = ({ dashboardId, spec, businessId }) => {
  const [data, setData] = useState<WidgetData | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    let live = true;
    const params = new URLSearchParams({ widget_id: spec.id });
    if (businessId) params.set('business_id', businessId);
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
  }, [dashboardId, spec.id, spec.refresh_seconds, businessId]);

  const wide = spec.type === 'line' || spec.type === 'table';
  return (
    <Box variant="white" p="lg" data-testid={`widget-${spec.type}`} style={{ flex: wide ? '2 1 520px' : '1 1 300px', minHeight: spec.type === 'kpi' ? 120 : 340 }}>
      <Box flex flexDirection="row" style={{ justifyContent: 'space-between', gap: 8 }}>
        <H5>{spec.title}</H5>
        {data && (
          <Text variant="sm" data-testid="freshness" title={data.freshness.refreshed_at ?? undefined}>
            {ago(data.freshness.refreshed_at, now)} {data.freshness.stale && <Badge variant="danger" size="sm" data-testid="stale">stale</Badge>}
          </Text>
        )}
      </Box>
      {error && <MessageBox variant="danger" message={error} />}
      {data?.error && <MessageBox variant="danger" message={data.error} />}
      {!data && !error && <Loader />}
      {data && !data.error && (
        <Box style={{ height: spec.type === 'kpi' || spec.type === 'table' ? undefined : 290 }}>
          <WidgetChart type={spec.type} fields={spec.fields} rows={data.rows} />
          {data.truncated && <Text variant="sm">Showing the first {data.rows.length} rows.</Text>}
        </Box>
      )}
    </Box>
  );
};

/** Dashboards granted to the caller's role, drawn from the materialized views, each widget polling on its own interval. */
const Dashboards: React.FC = () => {
  const [page, setPage] = useState<PageData | null>(null);
  const [dashboardId, setDashboardId] = useState('');
  const [businessId, setBusinessId] = useState('');
  const [widgets, setWidgets] = useState<WidgetSpec[]>([]);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    api.getPage({ pageName: 'dashboards' }).then((res) => {
      const data = res.data as PageData;
      setPage(data);
      if (data.dashboards[0]) setDashboardId(data.dashboards[0].id);
      if (data.businesses?.[0]) setBusinessId(data.businesses[0].id);
    }, (reason: Error) => setError(reason.message));
  }, []);

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

  if (!page) return error ? <MessageBox m="xl" variant="danger" message={error} /> : <Loader />;
  const current = page.dashboards.find((d) => d.id === dashboardId);
  return (
    <Box variant="grey" data-testid="dashboards-page">
      <Box variant="white" p="xl" mb="lg" flex flexDirection="row" style={{ gap: 16, flexWrap: 'wrap', alignItems: 'flex-end' }}>
        <Box style={{ marginRight: 'auto' }}>
          <H2>{current?.name ?? 'Dashboards'}</H2>
          {current?.description && <Text>{current.description}</Text>}
        </Box>
        {page.dashboards.length > 0 && (
          <Box>
            <Label htmlFor="d-dashboard">Dashboard</Label>
            <select id="d-dashboard" data-testid="dashboard-select" value={dashboardId} onChange={(e) => setDashboardId(e.target.value)}>
              {page.dashboards.map((d) => <option key={d.id} value={d.id}>{d.name}</option>)}
            </select>
          </Box>
        )}
        {page.businesses && (
          <Box>
            <Label htmlFor="d-business">Business</Label>
            <select id="d-business" value={businessId} onChange={(e) => setBusinessId(e.target.value)}>
              {page.businesses.map((b) => <option key={b.id} value={b.id}>{b.name}</option>)}
            </select>
          </Box>
        )}
      </Box>
      {error && <MessageBox mb="lg" variant="danger" message={error} />}
      {page.dashboards.length === 0 && <MessageBox variant="info" message="No dashboard is shared with your role yet. An admin can grant one under Dashboard grants." />}
      <Box flex flexDirection="row" style={{ gap: 16, flexWrap: 'wrap' }}>
        {widgets.map((spec) => <Widget key={`${dashboardId}:${businessId}:${spec.id}`} dashboardId={dashboardId} spec={spec} businessId={businessId} />)}
      </Box>
    </Box>
  );
};

export default Dashboards;
