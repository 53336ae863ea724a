import { describe, expect, it } from 'vitest';
import { previousRange, resolveRange, todayIn } from '../../core/warehouse/ranges.js';

describe('metric date ranges', () => {
  it.each([
    ['last_7_days', '2025-09-29', '2025-09-23', '2025-09-29'],
    ['last_30_days', '2025-09-29', '2025-08-31', '2025-09-29'],
    ['this_quarter', '2025-09-29', '2025-07-01', '2025-09-29'],
    ['this_quarter', '2025-01-01', '2025-01-01', '2025-01-01'],
    ['this_quarter', '2024-11-15', '2024-10-01', '2024-11-15'],
    ['last_7_days', '2024-03-02', '2024-02-25', '2024-03-02'],
  ] as const)('%s ending %s is %s … %s', (name, today, from, to) => {
    expect(resolveRange(name, today)).toEqual({ name, from, to });
  });

  it('custom ranges are checked', () => {
    expect(resolveRange('custom', '2025-09-29', { from: '2025-01-01', to: '2025-01-31' })).toMatchObject({ from: '2025-01-01', to: '2025-01-31' });
    expect(() => resolveRange('custom', '2025-09-29', { from: '2025-02-01', to: '2025-01-01' })).toThrow(/starts .* after it ends/);
    expect(() => resolveRange('custom', '2025-09-29', { from: '2025-01-01' })).toThrow(/needs from and to/);
    expect(() => resolveRange('custom', '2025-09-29', { from: '2015-01-01', to: '2025-01-01' })).toThrow(/three years/);
    // Days the calendar does not have (regression: Date.parse took 2025-02-30 for 2 March, and PostgreSQL then failed with a 500).
    for (const [from, to] of [['2025-02-30', '2025-03-06'], ['2025-04-31', '2025-05-01'], ['0000-01-01', '0001-01-01']]) {
      expect(() => resolveRange('custom', '2025-09-29', { from, to })).toThrow(/must be real calendar dates/);
    }
  });

  it('the previous period has the same length and ends the day before', () => {
    expect(previousRange({ name: 'last_7_days', from: '2025-09-23', to: '2025-09-29' })).toMatchObject({ from: '2025-09-16', to: '2025-09-22' });
  });

  it('today is the business’s own day', () => {
    const instant = new Date('2025-09-29T23:30:00Z');
    expect(todayIn('UTC', instant)).toBe('2025-09-29');
    expect(todayIn('Australia/Sydney', instant)).toBe('2025-09-30');
    expect(todayIn('America/Chicago', instant)).toBe('2025-09-29');
  });
});
