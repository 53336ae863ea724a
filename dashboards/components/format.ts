/** Numbers as every page shows them, in the reader's locale. */

const inLocale = (value: number, minimumFractionDigits: number, maximumFractionDigits: number) => value.toLocaleString(undefined, { minimumFractionDigits, maximumFractionDigits });

/** An amount of money: always two decimals (12.50, 1,234.00). */
export const formatMoney = (value: number): string => inLocale(value, 2, 2);

/** An amount of money with its currency (ISO 4217 code): "£1,234.50", "US$12.00"; a code the browser does not know is written before the amount. */
export function formatCurrency(value: number, currency: string): string {
  try {
    return value.toLocaleString(undefined, { style: 'currency', currency, minimumFractionDigits: 2, maximumFractionDigits: 2 });
  } catch {
    return `${currency} ${formatMoney(value)}`;
  }
}

/**
 * A chart or table value: whole numbers without decimals, others to `digits` (always `digits` for an amount
 * with decimals, such as money: "80.00" beside "109.40"); a dash for no value.
 */
export const formatNumber = (value: string | number | boolean | null | undefined, digits = 2, hasDecimals = false): string =>
  typeof value === 'number' ? inLocale(value, Number.isInteger(value) && !hasDecimals ? 0 : digits, digits) : value === null || value === undefined ? '–' : String(value);

const pad = (n: number) => String(n).padStart(2, '0');

/**
 * An instant in the reader's time zone, in the one style AdminJS's own lists and records use ("2026-12-07
 * 17:05"), with seconds where they tell steps apart ("2026-12-07 17:05:09").
 */
export const formatWhen = (iso: string | Date, withSeconds = false): string => {
  const date = new Date(iso);
  const minutes = `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}`;
  return withSeconds ? `${minutes}:${pad(date.getSeconds())}` : minutes;
};
