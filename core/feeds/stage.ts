import type { PoolClient } from 'pg';
import { copyLines, copyValue } from '../db/copy.js';
import type { ProductMatcher } from './matching.js';
import { createCellNormalizers, createRowNormalizer, type RowIssue } from './rows.js';
import type { FeedTable } from './table.js';
import { templates, type DataType, type TemplateColumn } from './templates.js';
import { currencyMarkOf } from '../files/numbers.js';

/** How each template column reaches its staging table. */
interface StagedColumn {
  staging: string;
  /** Applied to the checked value before it is staged. */
  finish?: (value: string) => string;
  /** Staged when the file has no such column or the cell is empty. */
  whenEmpty?: string;
}

const stagingLayout: Record<DataType, { table: string; columns: Record<string, StagedColumn> }> = {
  sales: {
    table: 'staging_sales_items',
    columns: {
      product_name: { staging: 'product_name' },
      quantity: { staging: 'quantity' },
      price: { staging: 'unit_price' },
      transaction_date: { staging: 'transaction_date' },
      discount: { staging: 'discount', whenEmpty: '0' },
      customer: { staging: 'customer' },
      channel: { staging: 'channel' },
      order_id: { staging: 'order_id' },
    },
  },
  costs: {
    table: 'staging_costs',
    columns: {
      product_name: { staging: 'product_name' },
      cost: { staging: 'cost' },
      cost_date: { staging: 'cost_date' },
      cost_type: { staging: 'cost_type', finish: (value) => value.toLowerCase() },
    },
  },
};

/**
 * Text that cannot be staged as written: changed by checking (empty, or with whitespace at an end, two in a
 * row, or other than a plain space), holding a COPY special character (a backslash; the others are
 * whitespace other than a space), or refused by it (a lost character, U+FFFD).
 */
const NOT_AS_WRITTEN = /^$|^\s|\s$|\s\s|[^\S ]|\\|\uFFFD/;

/**
 * Optional free text (customer, channel, order number) may have as many distinct values as rows: only cells
 * that cannot be staged as written go through the check; the others are staged as they are, which is what
 * the check would answer for them.
 */
const checksOnlyChangedCells = (column: TemplateColumn) => column.kind === 'text' && !column.required;

/** A checked cell, ready for a COPY line. */
interface CheckedCell {
  /** The staged value in COPY's text format (`\N` for none). */
  text: string;
  bad: boolean;
  /** For the product column: the matched product's id in COPY's text format. */
  productId?: string;
  /** For the product column: the name the catalog lacks. */
  missing?: string;
}

/** The staging table of a data type's rows. */
export const stagingTable = (dataType: DataType): string => stagingLayout[dataType].table;

export interface StagedRows {
  /** Rows written to staging. */
  records: number;
  invalidRows: number;
  /** The first problems, in file order. */
  issues: RowIssue[];
  /** Products the file names that the catalog lacks (first spelling of each), to create when asked. */
  missingProducts: string[];
  /** The currency marks written beside the file's amounts ("$", "EUR"), in the order first seen. */
  currencyMarks: string[];
}

/** One row checked for staging: whether it may load, its product, and its staged values (in `texts`). */
export interface CheckedRow {
  bad: boolean;
  /** The matched product's id in COPY's text format (`\\N` when none). */
  productId: string;
  /** The product name the catalog lacks, as the row writes it (checked), or null. */
  missingProduct: string | null;
}

export interface RowChecker {
  /** The staging columns, in the order of the values `check` writes. */
  stagingColumns: string[];
  /** Where a template column's staged value is in `texts` (undefined when the layout stages none). */
  indexOf(column: string): number | undefined;
  /** Checks one row's cells; writes its staged values (COPY text format) into `texts`. */
  check(cells: string[], texts: string[]): CheckedRow;
  /** The row's problems in full, worded as the preview words them (for the rows that are bad). */
  reasons(rowNumber: number, cells: string[]): RowIssue[];
  /** Products that rows checked valid name and the catalog lacks (first spelling of each). */
  missingProducts(): string[];
  /** The currency marks written beside the checked rows' amounts ("$", "EUR"), in the order first seen. */
  currencyMarks(): string[];
}

/**
 * The check of each row a commit stages and a preview counts: each cell is checked by the same checks the
 * preview's rows show, but a column's value is checked once and its answer remembered (a million rows
 * repeat the same prices, days and products), and a row becomes its staged values without intermediate
 * objects. A product missing from the catalog makes the row bad unless `missingProductIsBad` is false
 * (the products are to be created).
 */
export function createRowChecker(feed: FeedTable, input: { dataType: DataType; matcher: ProductMatcher; missingProductIsBad: boolean }): RowChecker {
  const layout = stagingLayout[input.dataType];
  const normalizers = createCellNormalizers(input.dataType, feed.mapping, feed.formats);
  const missingProducts = new Map<string, string>();
  const currencyMarks = new Set<string>();
  const columnsByName = new Map(templates[input.dataType].map((column) => [column.name, column]));
  const staged = Object.entries(layout.columns).map(([name, stagedColumn]) => {
    const column = columnsByName.get(name)!;
    const index = feed.mapping.columns.get(name);
    const normalize = normalizers.get(name);
    const empty = copyValue(stagedColumn.whenEmpty ?? null);
    const check = (cell: string): CheckedCell => {
      const result = normalize!(cell);
      if (column.money && result.value !== null) {
        const mark = currencyMarkOf(cell);
        if (mark) currencyMarks.add(mark);
      }
      const value = result.value === null ? null : stagedColumn.finish ? stagedColumn.finish(result.value) : result.value;
      const checked: CheckedCell = { text: value === null ? empty : copyValue(value), bad: result.issues.length > 0 };
      if (name === 'product_name') {
        checked.productId = '\\N';
        if (result.value) {
          const match = input.matcher.match(result.value);
          if (match.status !== 'missing') checked.productId = match.product_id;
          else {
            checked.missing = result.value;
            if (input.missingProductIsBad) checked.bad = true;
          }
        }
      }
      return checked;
    };
    return { name, index, checkAll: !checksOnlyChangedCells(column), check, empty, known: new Map<string, CheckedCell>() };
  });
  const product = staged.find((column) => column.name === 'product_name')!;
  const normalizeRow = createRowNormalizer(input.dataType, feed.table.headers, feed.mapping, feed.formats);
  return {
    stagingColumns: staged.map((c) => layout.columns[c.name]!.staging),
    indexOf: (column) => {
      const index = staged.findIndex((c) => c.name === column);
      return index < 0 ? undefined : index;
    },
    check(cells, texts) {
      let bad = false;
      let productId = '\\N';
      let missingProduct: string | null = null;
      for (let i = 0; i < staged.length; i++) {
        const column = staged[i]!;
        if (column.index === undefined) {
          texts[i] = column.empty;
          continue;
        }
        const cell = cells[column.index] ?? '';
        let checked: CheckedCell | undefined;
        if (column.checkAll) {
          checked = column.known.get(cell);
          if (!checked) {
            checked = column.check(cell);
            // Remembered answers stay few: a column of all-different values is checked cell by cell.
            if (column.known.size >= 10_000) column.known.clear();
            column.known.set(cell, checked);
          }
        } else if (NOT_AS_WRITTEN.test(cell)) checked = column.check(cell);
        else {
          texts[i] = cell;
          continue;
        }
        if (checked.bad) bad = true;
        texts[i] = checked.text;
        if (column === product) {
          productId = checked.productId!;
          missingProduct = checked.missing ?? null;
        }
      }
      // Only products of rows that load are created: a product named only by a skipped row is not.
      if (!bad && missingProduct !== null && !missingProducts.has(missingProduct.toLowerCase())) missingProducts.set(missingProduct.toLowerCase(), missingProduct);
      return { bad, productId, missingProduct };
    },
    reasons(rowNumber, cells) {
      const checkedRow = normalizeRow(rowNumber, cells, false);
      const rowIssues = [...checkedRow.issues];
      const name = checkedRow.normalized.product_name;
      if (name && input.missingProductIsBad && input.matcher.match(name).status === 'missing') {
        rowIssues.push({ row: rowNumber, column: 'product_name', value: name, reason: 'is not in your catalog (create it, or commit with auto_create_products)' });
      }
      return rowIssues;
    },
    missingProducts: () => [...missingProducts.values()],
    currencyMarks: () => [...currencyMarks],
  };
}

/**
 * Stages a feed's valid rows through one COPY and counts the others (`createRowChecker`). Rows with
 * problems are checked again in full for their reasons, up to `maxIssues`.
 */
export async function stageFeedRows(
  client: PoolClient,
  feed: FeedTable,
  input: {
    dataType: DataType;
    feedId: number;
    businessId: string;
    matcher: ProductMatcher;
    autoCreateProducts: boolean;
    maxIssues: number;
    /** Told the rows read so far after each batch (the commit shows its progress). */
    onRowsRead?: (rows: number) => void;
  },
): Promise<StagedRows> {
  const layout = stagingLayout[input.dataType];
  const checker = createRowChecker(feed, { dataType: input.dataType, matcher: input.matcher, missingProductIsBad: !input.autoCreateProducts });
  const prefix = `${input.feedId}\t`;
  const business = `\t${input.businessId}\t`;
  let total = 0;
  let records = 0;
  const issues: RowIssue[] = [];
  const texts: string[] = new Array(checker.stagingColumns.length);
  // Ended once every row is in; abandoned when the file turns out unreadable part-way (or a read is lost).
  await copyLines(client, `COPY ${layout.table} (data_feed_id, row_number, business_id, product_id, ${checker.stagingColumns.join(', ')}) FROM STDIN`, async (writer) => {
    for await (const batch of feed.batches()) {
      for (let r = 0; r < batch.cells.length; r++) {
        const rowNumber = batch.rowNumbers[r]!;
        const cells = batch.cells[r]!;
        total++;
        const row = checker.check(cells, texts);
        if (row.bad) {
          if (issues.length < input.maxIssues) issues.push(...checker.reasons(rowNumber, cells).slice(0, input.maxIssues - issues.length));
          continue;
        }
        records++;
        if (writer.add(`${prefix}${rowNumber}${business}${row.productId}\t${texts.join('\t')}\n`)) await writer.flush();
      }
      input.onRowsRead?.(total);
    }
  });
  return { records, invalidRows: total - records, issues, missingProducts: checker.missingProducts(), currencyMarks: checker.currencyMarks() };
}
