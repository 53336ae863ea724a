import React, { useEffect, useMemo, useState } from 'react';
import { ApiClient } from 'adminjs';
import { requestJson } from './request.js';
import { Box, Button, H2, H5, Label, Loader, MessageBox } from '@adminjs/design-system';
import type { Kpi } from '../../core/warehouse/metrics.js';
import { BarChartView, CHART_COLORS, DonutChartView, KpiCard, LineChartView, type ChartRow } from './charts.js';

interface KpiResponse {
  range: { from: string; to: string };
  kpi: Kpi;
  previous: Kpi;
}
interface TopProduct {
  product_id: string | null;
  product_name: string;
  gross_revenue: number;
  quantity: number;
  gross_margin_amount: number;
}
interface TrendPoint {
  period: string;
  gross_revenue: number;
  gross_margin_amount: number;
  cogs_amount: number;
}
interface PageData {
  businesses: { id: string; name: string }[] | null;
  canSeeFeeds: boolean;
}

const api = new ApiClient();
const money = (value: number | null | undefined) => (value === null || value === undefined ? '–' : value.toLocaleString(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 }));

function change(now: number, before: number): string {
  if (!before) return '';
  const pct = ((now - before) / Math.abs(before)) * 100;
  return `${pct >= 0 ? '▲' : '▼'} ${Math.abs(pct).toFixed(1)}% vs previous period`;
}

/** KPI cards, revenue trend, top products and the revenue split, for the caller's business. */
const Metrics: React.FC = () => {
  const [page, setPage] = useState<PageData | null>(null);
  const [businessId, setBusinessId] = useState('');
  const [range, setRange] = useState('last_30_days');
  const [groupBy, setGroupBy] = useState('day');
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [product, setProduct] = useState<{ id: string; name: string } | null>(null);
  const [kpi, setKpi] = useState<KpiResponse | null>(null);
  const [top, setTop] = useState<TopProduct[]>([]);
  const [trend, setTrend] = useState<TrendPoint[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [refreshKey, setRefreshKey] = useState(0);

  useEffect(() => {
    api.getPage({ pageName: 'metrics' }).then((res) => {
      const data = res.data as PageData;
      setPage(data);
      if (data.businesses?.[0]) setBusinessId(data.businesses[0].id);
    }, (reason: Error) => setError(reason.message));
  }, []);

  const query = useMemo(() => {
    const params = new URLSearchParams({ range, group_by: groupBy });
    if (range === 'custom') {
      params.set('from', from);
      params.set('to', to);
    }
    if (businessId) params.set('business_id', businessId);
    return params;
  }, [range, groupBy, from, to, businessId]);

  useEffect(() => {
    if (!page || (page.businesses && !businessId) || (range === 'custom' && (!from || !to))) return;
    const productQuery = new URLSearchParams(query);
    if (product) productQuery.set('product_id', product.id);
    setError(null);
    // Filters may change again before the answers arrive: only the latest request's answers are shown.
    let live = true;
    Promise.all([
      requestJson<KpiResponse>('GET', `/dashboard/metrics/kpi?${productQuery}`),
      requestJson<{ products: TopProduct[] }>('GET', `/dashboard/metrics/top-products?${query}`),
      requestJson<{ points: TrendPoint[] }>('GET', `/dashboard/metrics/trend?${productQuery}`),
    ]).then(
      ([k, t, s]) => {
        if (!live) return;
        setKpi(k);
        setTop(t.products);
        setTrend(s.points);
      },
      (reason: Error) => live && setError(reason.message),
    );
    return () => {
      live = false;
    };
  }, [page, query, product, refreshKey]);

  // When a feed finishes loading, the numbers change: watch the latest feed and refresh then.
  useEffect(() => {
    if (!page?.canSeeFeeds) return undefined;
    let last: string | null = null;
    const timer = setInterval(() => {
      requestJson<{ feeds: { id: number; status: string; summary: { transform_finished_at?: string } }[] }>('GET', '/dashboard/data-feeds?limit=1').then(({ feeds }) => {
        const latest = feeds[0] ? `${feeds[0].id}:${feeds[0].status}:${feeds[0].summary.transform_finished_at ?? ''}` : '';
        if (last !== null && latest !== last) setRefreshKey((key) => key + 1);
        last = latest;
      }, () => undefined);
    }, 5000);
    return () => clearInterval(timer);
  }, [page]);

  if (!page) return error ? <MessageBox m="xl" variant="danger" message={error} /> : <Loader />;
  const k = kpi?.kpi;
  const split = k ? [
    { name: 'COGS', value: Math.max(0, k.cogs_amount) },
    { name: 'Discounts', value: Math.max(0, k.discount) },
    { name: 'Margin', value: Math.max(0, k.gross_margin_amount) },
  ] : [];
  return (
    <Box variant="grey" data-testid="metrics-page">
      <Box variant="white" p="xl" mb="lg" flex flexDirection="row" style={{ gap: 16, flexWrap: 'wrap', alignItems: 'flex-end' }}>
        <H2 style={{ marginRight: 'auto' }}>Metrics{product ? ` · ${product.name}` : ''}</H2>
        {page.businesses && (
          <Box>
            <Label htmlFor="m-business">Business</Label>
            <select id="m-business" value={businessId} onChange={(e) => setBusinessId(e.target.value)}>
              {page.businesses.map((b) => <option key={b.id} value={b.id}>{b.name}</option>)}
            </select>
          </Box>
        )}
        <Box>
          <Label htmlFor="m-range">Range</Label>
          <select id="m-range" data-testid="range" value={range} onChange={(e) => setRange(e.target.value)}>
            <option value="last_7_days">Last 7 days</option>
            <option value="last_30_days">Last 30 days</option>
            <option value="this_quarter">This quarter</option>
            <option value="custom">Custom</option>
          </select>
        </Box>
        {range === 'custom' && (
          <>
            <Box><Label htmlFor="m-from">From</Label><input id="m-from" type="date" value={from} onChange={(e) => setFrom(e.target.value)} /></Box>
            <Box><Label htmlFor="m-to">To</Label><input id="m-to" type="date" value={to} onChange={(e) => setTo(e.target.value)} /></Box>
          </>
        )}
        <Box>
          <Label htmlFor="m-group">Group by</Label>
          <select id="m-group" data-testid="group-by" value={groupBy} onChange={(e) => setGroupBy(e.target.value)}>
            <option value="day">Day</option>
            <option value="week">Week</option>
            <option value="month">Month</option>
          </select>
        </Box>
        {product && <Button size="sm" onClick={() => setProduct(null)} data-testid="clear-product">All products</Button>}
      </Box>
      {error && <MessageBox mb="lg" variant="danger" message={error} />}
      {k && (
        <Box flex flexDirection="row" style={{ gap: 16, flexWrap: 'wrap' }} mb="lg" data-testid="kpi-cards">
          {[
            ['Revenue', money(k.gross_revenue), change(k.gross_revenue, kpi!.previous.gross_revenue), 'kpi-revenue'],
            ['COGS', money(k.cogs_amount), change(k.cogs_amount, kpi!.previous.cogs_amount), 'kpi-cogs'],
            ['Gross margin', money(k.gross_margin_amount), change(k.gross_margin_amount, kpi!.previous.gross_margin_amount), 'kpi-margin'],
            ['Margin %', k.gross_margin_percent === null ? '–' : `${k.gross_margin_percent}%`, '', 'kpi-margin-percent'],
            ['Orders', String(k.orders), change(k.orders, kpi!.previous.orders), 'kpi-orders'],
            ['Avg order value', money(k.avg_order_value), '', 'kpi-aov'],
          ].map(([label, value, delta, id]) => <KpiCard key={id} label={label!} value={value!} note={delta} testId={id} />)}
        </Box>
      )}
      <Box flex flexDirection="row" style={{ gap: 16, flexWrap: 'wrap' }}>
        <Box variant="white" p="lg" style={{ flex: '2 1 520px', height: 340 }} data-testid="trend-chart">
          <H5>Revenue and margin by {groupBy}</H5>
          <LineChartView
            rows={trend as unknown as ChartRow[]}
            x="period"
            series={[{ key: 'gross_revenue', name: 'Revenue', color: CHART_COLORS[0] }, { key: 'gross_margin_amount', name: 'Margin', color: CHART_COLORS[2] }]}
          />
        </Box>
        <Box variant="white" p="lg" style={{ flex: '1 1 300px', height: 340 }} data-testid="split-chart">
          <H5>Where revenue goes</H5>
          <DonutChartView rows={split} nameKey="name" valueKey="value" />
        </Box>
        <Box variant="white" p="lg" style={{ flex: '1 1 100%', height: 360 }} data-testid="top-products-chart">
          <H5>Top products by revenue (click one for its trend)</H5>
          <BarChartView
            rows={top as unknown as ChartRow[]}
            x="product_name"
            series={[{ key: 'gross_revenue', name: 'Revenue', color: CHART_COLORS[0] }]}
            onBarClick={(entry) => entry.product_id && setProduct({ id: String(entry.product_id), name: String(entry.product_name) })}
          />
        </Box>
      </Box>
    </Box>
  );
};

export default Metrics;
