import React from 'react';
import { Box, H2, H5, Text } from '@adminjs/design-system';
import { formatNumber } from './format.js';
import { Bar, BarChart, CartesianGrid, Cell, Legend, Line, LineChart, Pie, PieChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';

/**
 * The one rendering path for every chart in the product: every page that draws (Dashboards, Metrics,
 * which is a stored dashboard too) draws through these components (KPI number, line, bar, donut, table).
 */

export type CellValue = string | number | boolean | null;
export type ChartRow = Record<string, CellValue>;
export interface SeriesSpec {
  key: string;
  name: string;
  color?: string;
}

export const CHART_COLORS = ['#3040d6', '#c0392b', '#27ae60', '#f39c12', '#8e44ad', '#16a085', '#7f8c8d', '#d35400'];

const tooltipFormat = (value: number) => formatNumber(value);
const colorOf = (spec: SeriesSpec, i: number) => spec.color ?? CHART_COLORS[i % CHART_COLORS.length];

export const LineChartView: React.FC<{ rows: ChartRow[]; x: string; series: SeriesSpec[] }> = ({ rows, x, series }) => (
  <ResponsiveContainer width="100%" height="90%">
    <LineChart data={rows} margin={{ top: 5, right: 30, bottom: 5, left: 0 }}>
      <CartesianGrid strokeDasharray="3 3" />
      <XAxis dataKey={x} />
      <YAxis />
      <Tooltip formatter={tooltipFormat} />
      <Legend />
      {series.map((s, i) => <Line key={s.key} type="monotone" dataKey={s.key} name={s.name} stroke={colorOf(s, i)} dot={false} isAnimationActive={false} />)}
    </LineChart>
  </ResponsiveContainer>
);

export const BarChartView: React.FC<{ rows: ChartRow[]; x: string; series: SeriesSpec[]; onBarClick?: (row: ChartRow) => void }> = ({ rows, x, series, onBarClick }) => (
  <ResponsiveContainer width="100%" height="90%">
    <BarChart data={rows} margin={{ top: 5, right: 30, bottom: 5, left: 0 }}>
      <CartesianGrid strokeDasharray="3 3" />
      {/* Every bar named (recharts skips labels that would touch), slanted so long names do not run together. */}
      <XAxis dataKey={x} interval={0} angle={-30} textAnchor="end" height={80} tick={{ fontSize: 12 }} />
      <YAxis />
      <Tooltip formatter={tooltipFormat} />
      {series.length > 1 && <Legend />}
      {series.map((s, i) => (
        <Bar key={s.key} dataKey={s.key} name={s.name} fill={colorOf(s, i)} isAnimationActive={false} cursor={onBarClick ? 'pointer' : undefined} onClick={onBarClick ? (entry: ChartRow) => onBarClick(entry) : undefined} />
      ))}
    </BarChart>
  </ResponsiveContainer>
);

export const DonutChartView: React.FC<{ rows: ChartRow[]; nameKey: string; valueKey: string }> = ({ rows, nameKey, valueKey }) => {
  const slices = rows.map((row) => ({ name: String(row[nameKey]), value: Math.max(0, Number(row[valueKey] ?? 0)) }));
  return (
    <ResponsiveContainer width="100%" height="90%">
      <PieChart>
        <Pie data={slices} dataKey="value" nameKey="name" innerRadius="50%" outerRadius="80%" isAnimationActive={false}>
          {slices.map((entry, i) => <Cell key={entry.name} fill={CHART_COLORS[i % CHART_COLORS.length]} />)}
        </Pie>
        <Tooltip formatter={tooltipFormat} />
        <Legend />
      </PieChart>
    </ResponsiveContainer>
  );
};

export const TableView: React.FC<{ rows: ChartRow[]; columns: SeriesSpec[]; decimals?: string[]; onRowClick?: (row: ChartRow) => void }> = ({ rows, columns, decimals = [], onRowClick }) => (
  <table style={{ width: '100%', borderCollapse: 'collapse' }} data-testid="widget-table">
    <thead>
      <tr>{columns.map((c) => <th key={c.key} style={{ textAlign: 'left', padding: 4, borderBottom: '1px solid #ddd' }}>{c.name}</th>)}</tr>
    </thead>
    <tbody>
      {rows.map((row, i) => (
        <tr key={i} onClick={onRowClick ? () => onRowClick(row) : undefined} style={onRowClick ? { cursor: 'pointer' } : undefined}>{columns.map((c) => <td key={c.key} style={{ padding: 4, textAlign: typeof row[c.key] === 'number' ? 'right' : 'left' }}>{formatNumber(row[c.key], 2, decimals.includes(c.key))}</td>)}</tr>
      ))}
    </tbody>
  </table>
);

/** What a stored widget's fields name (core/warehouse/dashboards.ts checks them). */
export interface WidgetFields {
  x?: string;
  y?: string[];
  series?: string;
  value?: string;
  columns?: string[];
  ratios?: Record<string, { percent?: boolean }>;
  /** The column whose value a click on a bar or row hands to the page (its product filter). */
  drill?: string;
}

const label = (column: string) => column.replace(/_/g, ' ').replace(/^./, (c) => c.toUpperCase());

/**
 * Long rows (one per x and series value) as wide rows (one per x, a column per measure and series
 * value), the shape a multi-line or grouped bar chart draws.
 */
export function pivotSeries(rows: ChartRow[], x: string, measures: string[], series: string | undefined): { rows: ChartRow[]; series: SeriesSpec[] } {
  if (!series) return { rows, series: measures.map((m) => ({ key: m, name: label(m) })) };
  const specs = new Map<string, SeriesSpec>();
  const byX = new Map<string, ChartRow>();
  for (const row of rows) {
    const xValue = row[x] ?? null;
    const wide = byX.get(String(xValue)) ?? { [x]: xValue };
    byX.set(String(xValue), wide);
    for (const m of measures) {
      const key = `${m}:${String(row[series])}`;
      specs.set(key, { key, name: measures.length > 1 ? `${label(m)} ${String(row[series])}` : String(row[series]) });
      wide[key] = row[m] ?? null;
    }
  }
  return { rows: [...byX.values()], series: [...specs.values()] };
}

/** One dashboard widget drawn from its rows, by its type; bars and table rows answer clicks when `onRowClick` is given. */
/** `decimals`: the measures that are amounts with decimals, shown with two even when whole. */
export const WidgetChart: React.FC<{ type: string; fields: WidgetFields; rows: ChartRow[]; decimals?: string[]; onRowClick?: (row: ChartRow) => void }> = ({ type, fields, rows, decimals = [], onRowClick }) => {
  if (type !== 'kpi' && rows.length === 0) return <Text data-testid="widget-empty">No data yet: it appears after a load of the tables this view reads.</Text>;
  switch (type) {
    case 'kpi': {
      const value = fields.value ?? '';
      const unit = fields.ratios?.[value]?.percent ? ' %' : '';
      if (rows.length === 0) return <H2 data-testid="kpi-value">–</H2>;
      return (
        <Box flex flexDirection="row" style={{ gap: 24, flexWrap: 'wrap' }}>
          {rows.map((row, i) => (
            <Box key={i}>
              <H2 data-testid="kpi-value">{formatNumber(row[value], 2, decimals.includes(value))}{row[value] === null || row[value] === undefined ? '' : unit}</H2>
              {fields.series && <Text variant="sm">{String(row[fields.series])}</Text>}
            </Box>
          ))}
        </Box>
      );
    }
    case 'line':
    case 'bar': {
      const pivoted = pivotSeries(rows, fields.x ?? '', fields.y ?? [], fields.series);
      return type === 'line' ? <LineChartView rows={pivoted.rows} x={fields.x ?? ''} series={pivoted.series} /> : <BarChartView rows={pivoted.rows} x={fields.x ?? ''} series={pivoted.series} onBarClick={onRowClick} />;
    }
    case 'donut':
      return <DonutChartView rows={rows} nameKey={fields.x ?? ''} valueKey={fields.value ?? ''} />;
    case 'table':
      return <TableView rows={rows} columns={[...(fields.columns ?? []), ...(fields.y ?? [])].map((c) => ({ key: c, name: label(c) }))} decimals={decimals} onRowClick={onRowClick} />;
    default:
      return <Text>This widget type ({type}) cannot be drawn.</Text>;
  }
};
