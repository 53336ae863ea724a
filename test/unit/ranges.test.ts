import { describe, expect, it } from 'vitest';
import { comparedRange, fitGrouping, periodStart, resolveRange, todayIn } from '../../core/warehouse/ranges.js';

describe('metric date ranges', () => {
  it.each([
    ['last_7_days', '2025-09-29', '2025-09-23', '2025-09-29'],
    ['last_30_days', '2025-09-29', '2025-08-31', '2025-09-29'],
    ['this_quarter', '2025-09-29', '2025-07-01', '2025-09-29'],
    ['this_quarter', '2025-01-01', '2025-01-01', '2025-01-01'],
    ['this_quarter', '2024-11-15', '2024-10-01', '2024-11-15'],
    ['last_7_days', '2024-03-02', '2024-02-25', '2024-03-02'],
    ['year_to_date', '2025-09-29', '2025-01-01', '2025-09-29'],
    ['last_12_months', '2025-09-29', '2024-10-01', '2025-09-29'],
    ['last_12_months', '2025-01-15', '2024-02-01', '2025-01-15'],
  ] as const)('%s ending %s is %s … %s', (name, today, from, to) => {
    expect(resolveRange(name, today)).toEqual({ name, from, to });
  });

  it('custom ranges are checked', () => {
    expect(resolveRange('custom', '2025-09-29', { from: '2025-01-01', to: '2025-01-31' })).toMatchObject({ from: '2025-01-01', to: '2025-01-31' });
    expect(() => resolveRange('custom', '2025-09-29', { from: '2025-02-01', to: '2025-01-01' })).toThrow(/starts .* after it ends/);
    expect(() => resolveRange('custom', '2025-09-29', { from: '2025-01-01' })).toThrow(/needs from and to/);
    // Any span the data covers (regression: more than three years was refused).
    expect(resolveRange('custom', '2025-09-29', { from: '2021-01-01', to: '2024-12-31' })).toEqual({ name: 'custom', from: '2021-01-01', to: '2024-12-31' });
    // Days the calendar does not have (regression: Date.parse took 2025-02-30 for 2 March, and PostgreSQL then failed with a 500).
    for (const [from, to] of [['2025-02-30', '2025-03-06'], ['2025-04-31', '2025-05-01'], ['0000-01-01', '0001-01-01']]) {
      expect(() => resolveRange('custom', '2025-09-29', { from, to })).toThrow(/must be real calendar dates/);
    }
  });

  it('all time runs from the first day with data to today (today alone without data)', () => {
    expect(resolveRange('all_time', '2025-09-29', { firstDay: '2019-03-04' })).toEqual({ name: 'all_time', from: '2019-03-04', to: '2025-09-29' });
    expect(resolveRange('all_time', '2025-09-29', { firstDay: null })).toEqual({ name: 'all_time', from: '2025-09-29', to: '2025-09-29' });
  });

  it('the compared period: the same length just before, or the same dates a year earlier; none for all time', () => {
    expect(comparedRange({ name: 'last_7_days', from: '2025-09-23', to: '2025-09-29' }, 'previous_period')).toMatchObject({ from: '2025-09-16', to: '2025-09-22' });
    expect(comparedRange({ name: 'year_to_date', from: '2025-01-01', to: '2025-09-29' }, 'previous_year')).toMatchObject({ from: '2024-01-01', to: '2024-09-29' });
    expect(comparedRange({ name: 'custom', from: '2024-02-01', to: '2024-02-29' }, 'previous_year')).toMatchObject({ from: '2023-02-01', to: '2023-02-28' });
    expect(comparedRange({ name: 'all_time', from: '2020-01-01', to: '2025-09-29' }, 'previous_period')).toBeNull();
  });

  it('a grouping with too many points is made coarser, and says why', () => {
    expect(fitGrouping({ from: '2025-01-01', to: '2025-12-31' }, 'day')).toEqual({ group_by: 'day', note: null });
    const fourYears = fitGrouping({ from: '2021-01-01', to: '2024-12-31' }, 'day');
    expect(fourYears.group_by).toBe('week');
    expect(fourYears.note).toMatch(/Grouped by week: 1,461 days are too many points/);
    expect(fitGrouping({ from: '1990-01-01', to: '2024-12-31' }, 'day').group_by).toBe('month');
    expect(fitGrouping({ from: '1990-01-01', to: '2024-12-31' }, 'month')).toEqual({ group_by: 'month', note: null });
  });

  it('the period holding a day starts on its first day (weeks on Monday)', () => {
    expect(periodStart('2025-09-28', 'week')).toBe('2025-09-22');
    expect(periodStart('2025-09-29', 'week')).toBe('2025-09-29');
    expect(periodStart('2025-09-29', 'month')).toBe('2025-09-01');
    expect(periodStart('2025-09-29', 'day')).toBe('2025-09-29');
  });

  it('today is the business’s own day', () => {
    const instant = new Date('2025-09-29T23:30:00Z');
    expect(todayIn('UTC', instant)).toBe('2025-09-29');
    expect(todayIn('Australia/Sydney', instant)).toBe('2025-09-30');
    expect(todayIn('America/Chicago', instant)).toBe('2025-09-29');
  });
});
