import { describe, expect, it } from 'vitest';
import { compileMapping, compileTableMapping, DATE_SAMPLE_ROWS, type CanonicalRow, type SourceRow } from '../../core/mapping/transforms.js';

/**
 * A row of a file as a row of its canonical table: the one function the preview and the load share. Each
 * value is the text PostgreSQL stores for its column's type, or a reject with the reason the load gives.
 */

function mapRow(table: string, columns: unknown[], row: SourceRow, headers = Object.keys(row)): CanonicalRow {
  const compiled = compileTableMapping(table, columns, { headers });
  if (!compiled.ok) throw compiled.error;
  return compiled.mapRow(row, 7);
}

/** One invoices column read from the cell `In` as given, the natural key filled. */
function invoiceColumn(target: string, cell: string, transforms: unknown[] = []): CanonicalRow {
  return mapRow('invoices', [{ target: 'invoice_ref', source: 'Ref', transforms: [] }, { target, source: 'In', transforms }], { Ref: 'INV-1', In: cell });
}

describe('values into their column types', () => {
  it.each<[string, string, string, unknown[], string]>([
    ['money from number_parse, rounded to cents', 'amount', '1.234,567', [{ op: 'number_parse', locale: 'de' }], '1234.57'],
    ['money from text that reads as one number', 'amount', '99.5', [], '99.50'],
    ['a date from date_parse', 'invoice_date', '29.09.2025', [{ op: 'date_parse', format: 'DD.MM.YYYY' }], '2025-09-29'],
    ['a date already written as a calendar day', 'due_date', ' 2025-02-28 ', [], '2025-02-28'],
    ['a flag cast from a word', 'paid', 'Ja', [{ op: 'cast', to: 'boolean' }], 'true'],
    ['a flag cast from PostgreSQL’s own word', 'paid', 'T', [{ op: 'cast', to: 'boolean' }], 'true'],
    ['a flag as text in a word the casts read too', 'paid', 'ja', [], 'true'],
    ['a flag as PostgreSQL writes it', 'paid', 'f', [], 'false'],
    ['text as it is', 'customer_ref', ' C-1 ', [], ' C-1 '],
  ])('%s', (_name, target, cell, transforms, stored) => {
    expect(invoiceColumn(target, cell, transforms)).toEqual({ values: { invoice_ref: 'INV-1', [target]: stored }, rejects: [] });
  });

  it.each<[string, string, string, string]>([
    ['text that is not a number', 'amount', 'abc', '“abc” is not a number (add a number_parse transform to read it)'],
    ['a number too large for numeric(18,2)', 'amount', '99999999999999999999', '99999999999999999999 is too large (at most 16 digits before the decimal point)'],
    ['text that is not a calendar day', 'invoice_date', '2025-02-30', '“2025-02-30” is not a date (add a date_parse transform to read it)'],
    ['a day written another way', 'invoice_date', '29/09/2025', '“29/09/2025” is not a date (add a date_parse transform to read it)'],
    ['a word that is not true or false', 'paid', 'maybe', '“maybe” is not true or false (add a cast to boolean, or a map transform)'],
    ['text with a character lost before the file was written', 'customer_ref', 'Caf\uFFFD', '“Caf\uFFFD” has a character that was lost before this file was written (shown as �); correct the text in the file'],
  ])('refuses %s: the row is rejected with the reason, the value stored as null', (_name, target, cell, reason) => {
    expect(invoiceColumn(target, cell)).toEqual({ values: { invoice_ref: 'INV-1', [target]: null }, rejects: [{ row: 7, column: target, value: cell, reason }] });
  });
});

describe('natural keys in rows', () => {
  const orderLine = [
    { target: 'order_ref', source: 'Order', transforms: [{ op: 'trim' }] },
    { target: 'product_ref', source: 'Sku', transforms: [{ op: 'trim' }] },
    { target: 'quantity', source: 'Qty', transforms: [{ op: 'number_parse', locale: 'auto' }] },
  ];

  it('rejects a row whose key column is empty, naming the column and the table', () => {
    expect(mapRow('order_items', orderLine, { Order: 'SO-1', Sku: '   ', Qty: '2' })).toEqual({
      values: { order_ref: 'SO-1', product_ref: null, quantity: '2.0000' },
      rejects: [{ row: 7, column: 'product_ref', value: null, reason: 'is empty, but product_ref is part of the natural key of order_items; a row without it cannot be loaded' }],
    });
  });

  it('lists a key column that could not be read once, with the reading error', () => {
    const mapped = mapRow('order_items', [...orderLine.slice(1), { target: 'order_ref', source: 'Order', transforms: [{ op: 'cast', to: 'integer' }] }], { Order: 'SO-1', Sku: 'A', Qty: 'x' });
    expect(mapped.rejects.map((reject) => [reject.column, reject.reason])).toEqual([
      ['quantity', expect.stringMatching(/“x” is not a number/)],
      ['order_ref', expect.stringMatching(/“SO-1” is not a number/)],
    ]);
  });

  it('loads a stock count without a location or a day: the table fills those parts of its key', () => {
    const columns = ['product_ref', 'location', 'counted_at', 'on_hand'].map((target) => ({ target, source: target, transforms: target === 'counted_at' ? [{ op: 'date_parse' }] : [] }));
    expect(mapRow('inventory_levels', columns, { product_ref: 'SKU-1', location: '', counted_at: '', on_hand: '4' })).toEqual({
      values: { product_ref: 'SKU-1', location: null, counted_at: null, on_hand: '4.0000' },
      rejects: [],
    });
  });
});

describe('mappings onto a table', () => {
  it('reports the catalog’s problems with the compiler’s, all at once and as data', () => {
    const compiled = compileTableMapping(
      'orders',
      [
        { target: 'total_amount', expression: 'Net +' },
        { target: 'shipping_cost', source: 'Net', transforms: [] },
        { target: 'currency', source: null, transforms: [{ op: 'default', value: 'EUR' }] },
      ],
      { headers: ['Net'] },
    );
    expect(compiled.ok).toBe(false);
    if (compiled.ok) return;
    expect(compiled.error.code).toBe('validation_failed');
    expect(compiled.error.details).toEqual([
      { column: 'total_amount', position: 5, reason: expect.stringContaining('syntax error') },
      { column: 'shipping_cost', reason: expect.stringMatching(/^is not a column of orders; its columns are order_ref, /) },
      { column: 'currency', reason: expect.stringContaining('has neither a source column nor an expression') },
      { column: 'order_ref', reason: 'is part of the natural key of orders and must be mapped (rows are matched on it when loaded again)' },
    ]);
    expect(compiled.error.message).toMatch(/^The mapping has 4 problems: column “total_amount”, at the end of the expression: syntax error/);
  });

  it('gives the columns as checked, in the mapping’s order', () => {
    const compiled = compileTableMapping('customers', [{ target: 'name', source: 'Name' }, { target: 'customer_ref', expression: 'upper(Id)' }], { headers: ['Name', 'Id'] });
    expect(compiled.ok && compiled.columns).toEqual([
      { target: 'name', source: 'Name', transforms: [] },
      { target: 'customer_ref', expression: 'upper(Id)' },
    ]);
  });
});

describe('the sample that settles auto dates', () => {
  const columns = [{ target: 'day', source: 'Date', transforms: [{ op: 'date_parse', format: 'auto' }] }];

  it(`reads the first ${DATE_SAMPLE_ROWS} rows and no more`, () => {
    // Day first on a tie: the first rows fit either way; only rows past the sample are month first.
    const samples = [...Array.from({ length: DATE_SAMPLE_ROWS }, () => ({ Date: '03/04/2025' })), ...Array.from({ length: 10 }, () => ({ Date: '04/13/2025' }))];
    expect(compileMapping(columns, { headers: ['Date'], samples })({ Date: '03/04/2025' }, 2).values.day).toEqual({ type: 'date', value: '2025-04-03' });
    const monthFirstInside = [...samples.slice(0, 20), ...samples.slice(DATE_SAMPLE_ROWS)];
    expect(compileMapping(columns, { headers: ['Date'], samples: monthFirstInside })({ Date: '03/04/2025' }, 2).values.day).toEqual({ type: 'date', value: '2025-03-04' });
  });
});
