import { assertCan } from '../auth/permissions.js';
import type { Context } from '../context.js';
import { normaliseHeader } from '../files/headers.js';
/**
 * What a feed file must contain, per data type: the one place the columns are defined. The preview,
 * the commit, the downloadable template and the admin page all read it.
 */
export const dataTypes = ['sales', 'costs'] as const;
export type DataType = (typeof dataTypes)[number];

export type ColumnKind = 'text' | 'decimal' | 'date';

export interface TemplateColumn {
  name: string;
  kind: ColumnKind;
  required: boolean;
  /** Other headers people use for this column (compared after normalising case, spaces and punctuation). */
  synonyms: string[];
  description: string;
  example: string;
  /** The largest number a decimal column takes (either sign): what its staging and warehouse columns hold. */
  max?: number;
  /** An amount of money: a currency written beside its numbers ("$1,234.50") is noted and checked against the business's. */
  money?: true;
}

export const templates: Record<DataType, TemplateColumn[]> = {
  sales: [
    { name: 'product_name', kind: 'text', required: true, synonyms: ['product', 'item', 'item_name', 'product_title', 'sku_name', 'article', 'description'], description: 'The product sold, as named in your catalog', example: 'Sourdough Loaf' },
    { name: 'quantity', kind: 'decimal', required: true, synonyms: ['qty', 'units', 'amount_sold', 'count', 'quantity_sold', 'menge'], description: 'Units sold (negative for returns)', example: '2', max: 1e12 },
    { name: 'price', kind: 'decimal', required: true, synonyms: ['unit_price', 'price_each', 'selling_price', 'sale_price', 'unit_cost_price', 'preis'], description: 'Price of one unit', example: '6.50', max: 1e14, money: true },
    { name: 'transaction_date', kind: 'date', required: true, synonyms: ['date', 'sale_date', 'order_date', 'sold_on', 'day', 'datum', 'transaction_day'], description: 'Day of the sale (2025-09-29, 29/09/2025, …)', example: '2025-09-29' },
    { name: 'discount', kind: 'decimal', required: false, synonyms: ['discount_amount', 'rebate', 'markdown'], description: 'Discount on the line, in money', example: '0.50', max: 1e14, money: true },
    { name: 'customer', kind: 'text', required: false, synonyms: ['customer_name', 'client', 'buyer', 'customer_email'], description: 'Who bought it', example: 'jane@example.com' },
    { name: 'channel', kind: 'text', required: false, synonyms: ['sales_channel', 'source', 'store_type'], description: 'Online or Offline', example: 'Offline' },
    { name: 'order_id', kind: 'text', required: false, synonyms: ['order', 'order_number', 'receipt', 'receipt_number', 'invoice', 'transaction_id'], description: 'Order or receipt number', example: 'R-1001' },
  ],
  costs: [
    { name: 'product_name', kind: 'text', required: true, synonyms: ['product', 'item', 'item_name'], description: 'The product the cost belongs to', example: 'Sourdough Loaf' },
    { name: 'cost', kind: 'decimal', required: true, synonyms: ['amount', 'cost_amount', 'unit_cost', 'cost_price', 'price'], description: 'Cost per unit', example: '1.80', max: 2e7, money: true },
    { name: 'cost_date', kind: 'date', required: true, synonyms: ['date', 'effective_date', 'valid_from', 'datum'], description: 'From when the cost applies', example: '2025-09-01' },
    { name: 'cost_type', kind: 'text', required: true, synonyms: ['type', 'category', 'kind'], description: '"purchase" sets the product cost price; anything else (labour, packaging, …) is a production cost added on top', example: 'purchase' },
  ],
};

export interface HeaderMapping {
  /** Template column → index of the file's column. */
  columns: Map<string, number>;
  missing: string[];
  /** File headers that match no template column (kept in `original`, ignored for loading). */
  unknown: string[];
  duplicates: string[];
}

/** Matches a file's headers to the template: exact name first, then synonyms. */
export function mapHeaders(dataType: DataType, headers: string[]): HeaderMapping {
  const normalised = headers.map(normaliseHeader);
  const columns = new Map<string, number>();
  const duplicates: string[] = [];
  for (const column of templates[dataType]) {
    const names = [column.name, ...column.synonyms];
    const matches = normalised.flatMap((header, index) => (names.includes(header) ? [{ index, rank: names.indexOf(header) }] : []));
    if (matches.length === 0) continue;
    matches.sort((a, b) => a.rank - b.rank);
    if (matches.length > 1 && matches[0]!.rank === matches[1]!.rank) duplicates.push(column.name);
    columns.set(column.name, matches[0]!.index);
  }
  const used = new Set(columns.values());
  return {
    columns,
    missing: templates[dataType].filter((c) => c.required && !columns.has(c.name)).map((c) => c.name),
    unknown: headers.filter((header, index) => !used.has(index) && header.trim() !== ''),
    duplicates,
  };
}

/** The template as a CSV a person can download, fill and upload. */
export function templateCsv(dataType: DataType): string {
  const columns = templates[dataType];
  return `${columns.map((c) => c.name).join(',')}\r\n${columns.map((c) => (c.example.includes(',') ? `"${c.example}"` : c.example)).join(',')}\r\n`;
}

/** A data type's template, for someone who may load feeds (as the README's API table says: admin, ops). */
export function templateFor(ctx: Context, dataType: DataType): string {
  assertCan(ctx.user, 'feeds', 'new');
  return templateCsv(dataType);
}
