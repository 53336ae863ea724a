import { z } from 'zod';
import { AppError } from '../errors.js';
import { isCalendarDate } from '../feeds/dates.js';

export const rangeNames = ['last_7_days', 'last_30_days', 'this_quarter', 'custom'] as const;
export const groupings = ['day', 'week', 'month'] as const;
export type RangeName = (typeof rangeNames)[number];
export type Grouping = (typeof groupings)[number];

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

const MAX_CUSTOM_DAYS = 3 * 366;

/** A day of the calendar PostgreSQL's dates hold: "2025-02-30" is none (JavaScript's Date.parse took it for 2 March), nor is the year 0. */
const isRealDay = (iso: string) => isCalendarDate(iso) && iso >= '0001-01-01';

/** The dates a named range covers, ending today (in the business's time zone). */
export function resolveRange(name: RangeName, today: string, custom: { from?: string; to?: string } = {}): DateRange {
  switch (name) {
    case 'last_7_days':
      return { name, from: addDays(today, -6), to: today };
    case 'last_30_days':
      return { name, from: addDays(today, -29), to: today };
    case 'this_quarter': {
      const [year, month] = today.split('-').map(Number) as [number, number];
      const firstMonth = Math.floor((month - 1) / 3) * 3 + 1;
      return { name, from: `${year}-${String(firstMonth).padStart(2, '0')}-01`, to: today };
    }
    case 'custom': {
      const from = isoDate.safeParse(custom.from);
      const to = isoDate.safeParse(custom.to);
      if (!from.success || !to.success) throw new AppError('bad_request', 'A custom range needs from and to dates, like from=2025-09-01&to=2025-09-30.');
      if (!isRealDay(from.data) || !isRealDay(to.data)) throw new AppError('bad_request', 'from and to must be real calendar dates (2025-02-30 is not), from the year 1 on.');
      if (from.data > to.data) throw new AppError('bad_request', `The range starts (${from.data}) after it ends (${to.data}).`);
      const days = (Date.parse(to.data) - Date.parse(from.data)) / 86_400_000;
      if (days > MAX_CUSTOM_DAYS) throw new AppError('bad_request', 'A custom range may span at most three years.');
      return { name, from: from.data, to: to.data };
    }
  }
}

/** The range of the same length just before, for "compared with the previous period". */
export function previousRange(range: DateRange): DateRange {
  const days = Math.round((Date.parse(range.to) - Date.parse(range.from)) / 86_400_000) + 1;
  return { name: range.name, from: addDays(range.from, -days), to: addDays(range.from, -1) };
}
