import { z } from 'zod';
import { AppError } from '../errors.js';
import { isCalendarDate } from '../files/dates.js';

export const rangeNames = ['last_7_days', 'last_30_days', 'this_quarter', 'year_to_date', 'last_12_months', 'all_time', 'custom'] as const;
export const groupings = ['day', 'week', 'month'] as const;
/** What a range's KPIs are compared with: the period of the same length just before, or the same dates a year earlier. */
export const comparisons = ['previous_period', 'previous_year'] as const;
export type RangeName = (typeof rangeNames)[number];
export type Grouping = (typeof groupings)[number];
export type Comparison = (typeof comparisons)[number];

export interface DateRange {
  name: RangeName;
  /** Inclusive ISO dates, business days in the business's time zone. */
  from: string;
  to: string;
}

const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date like 2025-09-29');

/** One formatter per time zone, kept: making one costs ~40 times what formatting a date with it does, on every metrics request. */
const dayFormats = new Map<string, Intl.DateTimeFormat>();

/** Today's date where the business is (a sale at 23:30 in Sydney belongs to Sydney's day). */
export function todayIn(timeZone: string, now: Date = new Date()): string {
  let format = dayFormats.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' });
    dayFormats.set(timeZone, format);
  }
  return format.format(now);
}

function addDays(iso: string, days: number): string {
  const date = new Date(`${iso}T00:00:00Z`);
  date.setUTCDate(date.getUTCDate() + days);
  return date.toISOString().slice(0, 10);
}

/** The same day `years` years away; 29 February becomes the 28th in a year without it. */
function addYears(iso: string, years: number): string {
  const [year, month, day] = iso.split('-').map(Number) as [number, number, number];
  const target = year + years;
  const lastDay = new Date(Date.UTC(target, month, 0)).getUTCDate();
  return `${String(target).padStart(4, '0')}-${String(month).padStart(2, '0')}-${String(Math.min(day, lastDay)).padStart(2, '0')}`;
}

/** The first day of the month `months` months before the month of `iso`. */
function monthStart(iso: string, monthsBack = 0): string {
  const [year, month] = iso.split('-').map(Number) as [number, number];
  const index = year * 12 + (month - 1) - monthsBack;
  return `${String(Math.floor(index / 12)).padStart(4, '0')}-${String((index % 12) + 1).padStart(2, '0')}-01`;
}

/** A day of the calendar PostgreSQL's dates hold: "2025-02-30" is none (JavaScript's Date.parse took it for 2 March), nor is the year 0. */
const isRealDay = (iso: string) => isCalendarDate(iso) && iso >= '0001-01-01';

/**
 * The dates a named range covers, ending today (in the business's time zone). "All time" starts at the
 * business's first day with data (`firstDay`; today when it has none). "Last 12 months" is this month and
 * the eleven before it, whole months, so grouped by month it has twelve points.
 */
export function resolveRange(name: RangeName, today: string, custom: { from?: string; to?: string; firstDay?: string | null } = {}): DateRange {
  switch (name) {
    case 'last_7_days':
      return { name, from: addDays(today, -6), to: today };
    case 'last_30_days':
      return { name, from: addDays(today, -29), to: today };
    case 'this_quarter': {
      const month = Number(today.slice(5, 7));
      return { name, from: monthStart(today, (month - 1) % 3), to: today };
    }
    case 'year_to_date':
      return { name, from: `${today.slice(0, 4)}-01-01`, to: today };
    case 'last_12_months':
      return { name, from: monthStart(today, 11), to: today };
    case 'all_time':
      return { name, from: custom.firstDay && custom.firstDay < today ? custom.firstDay : today, to: today };
    case 'custom': {
      const from = isoDate.safeParse(custom.from);
      const to = isoDate.safeParse(custom.to);
      if (!from.success || !to.success) throw new AppError('bad_request', 'A custom range needs from and to dates, like from=2025-09-01&to=2025-09-30.');
      if (!isRealDay(from.data) || !isRealDay(to.data)) throw new AppError('bad_request', 'from and to must be real calendar dates (2025-02-30 is not), from the year 1 on.');
      if (from.data > to.data) throw new AppError('bad_request', `The range starts (${from.data}) after it ends (${to.data}).`);
      return { name, from: from.data, to: to.data };
    }
  }
}

/**
 * The range a range's figures are compared with: the same number of days just before it, or the same
 * dates a year earlier. "All time" has nothing before it: null.
 */
export function comparedRange(range: DateRange, comparison: Comparison): DateRange | null {
  if (range.name === 'all_time') return null;
  if (comparison === 'previous_year') return { name: range.name, from: addYears(range.from, -1), to: addYears(range.to, -1) };
  const days = Math.round((Date.parse(range.to) - Date.parse(range.from)) / 86_400_000) + 1;
  const from = addDays(range.from, -days);
  return from < '0001-01-01' ? null : { name: range.name, from, to: addDays(range.from, -1) };
}

/** The most points a date axis is drawn with: a year by day. More, and the grouping is made coarser. */
export const MAX_PERIODS = 366;

/** How many periods of `grouping` the range spans (partial first and last ones included). */
export function periodCount(range: Pick<DateRange, 'from' | 'to'>, grouping: Grouping): number {
  const days = Math.round((Date.parse(range.to) - Date.parse(range.from)) / 86_400_000) + 1;
  if (grouping === 'day') return days;
  if (grouping === 'week') {
    // Weeks start on Monday (PostgreSQL's date_trunc): count from the Monday on or before `from`.
    const weekday = (new Date(`${range.from}T00:00:00Z`).getUTCDay() + 6) % 7;
    return Math.ceil((days + weekday) / 7);
  }
  const [fy, fm] = range.from.split('-').map(Number) as [number, number];
  const [ty, tm] = range.to.split('-').map(Number) as [number, number];
  return (ty - fy) * 12 + (tm - fm) + 1;
}

export interface FittedGrouping {
  group_by: Grouping;
  /** Set when the grouping asked for was made coarser, saying why. */
  note: string | null;
}

/**
 * The grouping a date axis is drawn with: the one asked for, or the next coarser one (day, week, month)
 * while the range has more than MAX_PERIODS points of it (four years by day would be 1,461 points).
 * Months are kept however many (a chart shows the latest MAX_PERIODS of them and says so).
 */
export function fitGrouping(range: Pick<DateRange, 'from' | 'to'>, asked: Grouping): FittedGrouping {
  let grouping = asked;
  while (grouping !== 'month' && periodCount(range, grouping) > MAX_PERIODS) grouping = grouping === 'day' ? 'week' : 'month';
  if (grouping === asked) return { group_by: asked, note: null };
  const count = periodCount(range, asked).toLocaleString('en');
  return { group_by: grouping, note: `Grouped by ${grouping}: ${count} ${asked}s are too many points for one chart (at most ${MAX_PERIODS}). Choose a shorter range to see them by ${asked}.` };
}

/** The first day of the period of `grouping` that holds `day` (weeks start on Monday). */
export function periodStart(day: string, grouping: Grouping): string {
  if (grouping === 'day') return day;
  if (grouping === 'month') return `${day.slice(0, 7)}-01`;
  return addDays(day, -((new Date(`${day}T00:00:00Z`).getUTCDay() + 6) % 7));
}
