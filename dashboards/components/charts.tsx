import React from 'react';
import { Box, H2, H5, Text } from '@adminjs/design-system';
import { formatCurrency, formatNumber } from './format.js';
import { Bar, BarChart, CartesianGrid, Cell, DefaultTooltipContent, Legend, Line, LineChart, Pie, PieChart, ResponsiveContainer, Tooltip, XAxis, YAxis, type TooltipProps } from 'recharts';

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

/**
 * Which measures are money and in which currency: the row's own (a `currencyColumn` the widget shows, which
 * becomes part of a pivoted series key, "revenue:GBP") or else `currency`, the business's.
 */
export interface MoneyFormat {
  measures: string[];
  currency: string;
  currencyColumn: string | null;
}

/** A measure's value as the page shows it: money with its currency, other numbers as numbers. */
function formatMeasure(value: CellValue | undefined, measure: string, money: MoneyFormat | undefined, rowCurrency: CellValue | undefined, hasDecimals = false): string {
  if (typeof value === 'number' && money?.measures.includes(measure)) {
    const currency = money.currencyColumn ? rowCurrency : money.currency;
    if (typeof currency === 'string' && currency !== '') return formatCurrency(value, currency);
  }
  return formatNumber(value, 2, hasDecimals);
}

/** The suffix a series of the period still in progress has on its data key. */
const IN_PROGRESS = '__in_progress';

/** A chart tooltip's value: a series key is "measure" or "measure:series value" (the currency, when the series is it). */
const tooltipFormatter = (money: MoneyFormat | undefined) => (value: number, _name: string, item: { dataKey?: unknown }) => {
  const [measure = '', seriesValue] = String(item.dataKey ?? '').replace(IN_PROGRESS, '').split(':');
  return formatMeasure(value, measure, money, seriesValue);
};
const colorOf = (spec: SeriesSpec, i: number) => spec.color ?? CHART_COLORS[i % CHART_COLORS.length];

/**
 * Rows whose last point is the period still in progress, drawn apart: each series stops at the last whole
 * period, and a dashed copy joins it to the point in progress (which would otherwise read as a collapse).
 */
function splitInProgress(rows: ChartRow[], x: string, series: SeriesSpec[], currentPeriod: string | null | undefined): ChartRow[] | null {
  const last = rows.length - 1;
  if (!currentPeriod || last < 1 || String(rows[last]![x]) !== currentPeriod) return null;
  return rows.map((row, i) => {
    const split: ChartRow = { ...row };
    for (const s of series) {
      split[`${s.key}${IN_PROGRESS}`] = i >= last - 1 ? (row[s.key] ?? null) : null;
      if (i === last) split[s.key] = null;
    }
    return split;
  });
}

export const LineChartView: React.FC<{ rows: ChartRow[]; x: string; series: SeriesSpec[]; money?: MoneyFormat; currentPeriod?: string | null }> = ({ rows, x, series, money, currentPeriod }) => {
  const split = splitInProgress(rows, x, series, currentPeriod);
  // The dashed copy's point before the one in progress repeats the whole period's: the tooltip lists it once.
  const tooltip = (props: TooltipProps<number, string>) => (
    <DefaultTooltipContent {...props} payload={props.payload?.filter((item) => !String(item.dataKey).endsWith(IN_PROGRESS) || String(item.payload?.[x]) === currentPeriod)} />
  );
  return (
    <ResponsiveContainer width="100%" height="90%">
      <LineChart data={split ?? rows} margin={{ top: 5, right: 30, bottom: 5, left: 0 }}>
        <CartesianGrid strokeDasharray="3 3" />
        <XAxis dataKey={x} minTickGap={24} />
        <YAxis />
        <Tooltip formatter={tooltipFormatter(money)} content={tooltip} />
        <Legend />
        {series.map((s, i) => <Line key={s.key} type="monotone" dataKey={s.key} name={s.name} stroke={colorOf(s, i)} dot={false} isAnimationActive={false} />)}
        {split &&
          series.map((s, i) => (
            <Line key={`${s.key}${IN_PROGRESS}`} className="in-progress" type="monotone" dataKey={`${s.key}${IN_PROGRESS}`} name={`${s.name} (in progress)`} legendType="none" stroke={colorOf(s, i)} strokeDasharray="6 4" strokeOpacity={0.7} dot={{ r: 3 }} isAnimationActive={false} />
          ))}
      </LineChart>
    </ResponsiveContainer>
  );
};

export const BarChartView: React.FC<{ rows: ChartRow[]; x: string; series: SeriesSpec[]; onBarClick?: (row: ChartRow) => void; money?: MoneyFormat; currentPeriod?: string | null }> = ({ rows, x, series, onBarClick, money, currentPeriod }) => (
  <ResponsiveContainer width="100%" height="90%">
    <BarChart data={rows} margin={{ top: 5, right: 30, bottom: 5, left: 0 }}>
      <CartesianGrid strokeDasharray="3 3" />
      {/* Every bar named (recharts skips labels that would touch), slanted so long names do not run together. */}
      <XAxis dataKey={x} interval={0} angle={-30} textAnchor="end" height={80} tick={{ fontSize: 12 }} />
      <YAxis />
      <Tooltip formatter={tooltipFormatter(money)} />
      {series.length > 1 && <Legend />}
      {series.map((s, i) => (
        <Bar key={s.key} dataKey={s.key} name={s.name} fill={colorOf(s, i)} isAnimationActive={false} cursor={onBarClick ? 'pointer' : undefined} onClick={onBarClick ? (entry: ChartRow) => onBarClick(entry) : undefined}>
          {/* The period still in progress is drawn lighter: its bar is not a fall, only not over yet. */}
          {currentPeriod && rows.map((row, j) => <Cell key={j} fillOpacity={String(row[x]) === currentPeriod ? 0.4 : 1} />)}
        </Bar>
      ))}
    </BarChart>
  </ResponsiveContainer>
);

export const DonutChartView: React.FC<{ rows: ChartRow[]; nameKey: string; valueKey: string; money?: MoneyFormat }> = ({ rows, nameKey, valueKey, money }) => {
  const slices = rows.map((row) => ({ name: String(row[nameKey]), value: Math.max(0, Number(row[valueKey] ?? 0)) }));
  return (
    <ResponsiveContainer width="100%" height="90%">
      <PieChart>
        <Pie data={slices} dataKey="value" nameKey="name" innerRadius="50%" outerRadius="80%" isAnimationActive={false}>
          {slices.map((entry, i) => <Cell key={entry.name} fill={CHART_COLORS[i % CHART_COLORS.length]} />)}
        </Pie>
        <Tooltip formatter={(value: number) => formatMeasure(value, valueKey, money, undefined)} />
        <Legend />
      </PieChart>
    </ResponsiveContainer>
  );
};

export const TableView: React.FC<{ rows: ChartRow[]; columns: SeriesSpec[]; decimals?: string[]; money?: MoneyFormat; onRowClick?: (row: ChartRow) => void }> = ({ rows, columns, decimals = [], money, onRowClick }) => (
  <table style={{ width: '100%', borderCollapse: 'collapse' }} data-testid="widget-table">
    <thead>
      <tr>{columns.map((c) => <th key={c.key} style={{ textAlign: 'left', padding: 4, borderBottom: '1px solid #ddd' }}>{c.name}</th>)}</tr>
    </thead>
    <tbody>
      {rows.map((row, i) => (
        <tr key={i} onClick={onRowClick ? () => onRowClick(row) : undefined} style={onRowClick ? { cursor: 'pointer' } : undefined}>{columns.map((c) => <td key={c.key} style={{ padding: 4, textAlign: typeof row[c.key] === 'number' ? 'right' : 'left' }}>{formatMeasure(row[c.key], c.key, money, money?.currencyColumn ? row[money.currencyColumn] : undefined, decimals.includes(c.key))}</td>)}</tr>
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
  /** The date column the dashboard's range keeps to (and, when it is `x`, its grouping buckets). */
  date?: string;
  /** A KPI compared with another period (the dashboard's choice of which). */
  compare?: string;
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

/**
 * One dashboard widget drawn from its rows, by its type; bars and table rows answer clicks when `onRowClick` is given.
 * `decimals`: the measures that are amounts with decimals, shown with two even when whole; `money`: those that
 * are money, shown with their currency; `currentPeriod`: the x value of a date axis's period still in progress.
 */
export const WidgetChart: React.FC<{ type: string; fields: WidgetFields; rows: ChartRow[]; decimals?: string[]; money?: MoneyFormat; currentPeriod?: string | null; onRowClick?: (row: ChartRow) => void }> = ({ type, fields, rows, decimals = [], money, currentPeriod, onRowClick }) => {
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
              <H2 data-testid="kpi-value">{formatMeasure(row[value], value, money, money?.currencyColumn ? row[money.currencyColumn] : undefined, decimals.includes(value))}{row[value] === null || row[value] === undefined ? '' : unit}</H2>
              {fields.series && <Text variant="sm">{String(row[fields.series])}</Text>}
            </Box>
          ))}
        </Box>
      );
    }
    case 'line':
    case 'bar': {
      const pivoted = pivotSeries(rows, fields.x ?? '', fields.y ?? [], fields.series);
      return type === 'line' ? (
        <LineChartView rows={pivoted.rows} x={fields.x ?? ''} series={pivoted.series} money={money} currentPeriod={currentPeriod} />
      ) : (
        <BarChartView rows={pivoted.rows} x={fields.x ?? ''} series={pivoted.series} onBarClick={onRowClick} money={money} currentPeriod={currentPeriod} />
      );
    }
    case 'donut':
      return <DonutChartView rows={rows} nameKey={fields.x ?? ''} valueKey={fields.value ?? ''} money={money} />;
    case 'table':
      return <TableView rows={rows} columns={[...(fields.columns ?? []), ...(fields.y ?? [])].map((c) => ({ key: c, name: label(c) }))} decimals={decimals} money={money} onRowClick={onRowClick} />;
    default:
      return <Text>This widget type ({type}) cannot be drawn.</Text>;
  }
};
