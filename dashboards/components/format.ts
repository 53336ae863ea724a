/** Numbers as every page shows them, in the reader's locale. */

const inLocale = (value: number, minimumFractionDigits: number, maximumFractionDigits: number) => value.toLocaleString(undefined, { minimumFractionDigits, maximumFractionDigits });

/** An amount of money: always two decimals (12.50, 1,234.00). */
export const formatMoney = (value: number): string => inLocale(value, 2, 2);

/**
 * A chart or table value: whole numbers without decimals, others to `digits` (always `digits` for an amount
 * with decimals, such as money: "80.00" beside "109.40"); a dash for no value.
 */
export const formatNumber = (value: string | number | boolean | null | undefined, digits = 2, hasDecimals = false): string =>
  typeof value === 'number' ? inLocale(value, Number.isInteger(value) && !hasDecimals ? 0 : digits, digits) : value === null || value === undefined ? '–' : String(value);
