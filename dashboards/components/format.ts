/** Numbers as every page shows them, in the reader's locale. */

const inLocale = (value: number, minimumFractionDigits: number, maximumFractionDigits: number) => value.toLocaleString(undefined, { minimumFractionDigits, maximumFractionDigits });

/** An amount of money: always two decimals (12.50, 1,234.00). */
export const formatMoney = (value: number): string => inLocale(value, 2, 2);

/** A chart or table value: whole numbers without decimals, others to `digits`; a dash for no value. */
export const formatNumber = (value: string | number | boolean | null | undefined, digits = 2): string =>
  typeof value === 'number' ? inLocale(value, Number.isInteger(value) ? 0 : digits, digits) : value === null || value === undefined ? '–' : String(value);
