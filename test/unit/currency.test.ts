import { describe, expect, it } from 'vitest';
import { currencyMarkOf, currencyMismatch } from '../../core/files/numbers.js';
import { formatCurrency } from '../../dashboards/components/format.js';

describe('currencies written beside amounts', () => {
  it.each([
    ['$1,234.50', '$'],
    ['(£12.00)', '£'],
    ['-€3,20', '€'],
    ['12.00 EUR', 'EUR'],
    ['usd 5', 'USD'],
    ['1,234.50', null],
    ['12%', null],
  ])('%s names %s', (text, mark) => {
    expect(currencyMarkOf(text)).toBe(mark);
  });

  it('warns when a mark cannot be the business’s currency ("$" is several, none of them GBP)', () => {
    expect(currencyMismatch(['$'], 'GBP')).toMatch(/written in "\$", but the business keeps its figures in GBP/);
    expect(currencyMismatch(['$'], 'USD')).toBeNull();
    expect(currencyMismatch(['$'], 'CAD')).toBeNull();
    expect(currencyMismatch(['£', 'EUR'], 'GBP')).toMatch(/written in "EUR"/);
    expect(currencyMismatch([], 'GBP')).toBeNull();
  });

  it('money on the pages carries its currency; a code the browser does not know is written before the amount', () => {
    expect(formatCurrency(1234.5, 'GBP')).toMatch(/£1,234\.50/);
    expect(formatCurrency(12, 'USD')).toMatch(/\$12\.00/);
    expect(formatCurrency(12, 'XX1')).toBe('XX1 12.00');
  });
});
