import { describe, expect, it } from 'vitest';
import { formatNumber } from '../../dashboards/components/format.js';

describe('numbers on the pages', () => {
  it('shows an amount with decimals with two of them even when whole, and a count without (regression: a margin of 80 showed "80" beside "109.40")', () => {
    expect(formatNumber(80, 2, true)).toBe('80.00');
    expect(formatNumber(109.4, 2, true)).toBe('109.40');
    expect(formatNumber(12)).toBe('12');
    expect(formatNumber(12.345)).toBe('12.35');
    expect(formatNumber(null, 2, true)).toBe('–');
  });
});
