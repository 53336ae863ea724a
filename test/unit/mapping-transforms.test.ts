import { describe, expect, it } from 'vitest';
import { AppError } from '../../core/errors.js';
import { compileMapping, MAX_EXPRESSION_DEPTH, MAX_EXPRESSION_LENGTH, transformChoices, transformSchema, type MappedRow, type Value } from '../../core/mapping/transforms.js';

const text = (value: string): Value => ({ type: 'text', value });
const decimal = (value: string): Value => ({ type: 'decimal', value });
const integer = (value: number): Value => ({ type: 'integer', value });
const day = (value: string): Value => ({ type: 'date', value });
const boolean = (value: boolean): Value => ({ type: 'boolean', value });

/** The expected outcome of one column: a value, or a row error whose reason matches. */
type Outcome = Value | { error: RegExp };

function expectOutcome(result: MappedRow, column: string, expected: Outcome) {
  if (expected !== null && 'error' in expected) {
    expect(result.values[column]).toBeNull();
    expect(result.errors).toHaveLength(1);
    expect(result.errors[0]!.reason).toMatch(expected.error);
  } else {
    expect(result.errors).toEqual([]);
    expect(result.values[column]).toEqual(expected);
  }
}

/** Maps one cell of a one-column file through the given steps. */
function transformCell(transforms: unknown[], cell: string): MappedRow {
  return compileMapping([{ target: 'out', source: 'In', transforms }], { headers: ['In'] })({ In: cell }, 2);
}

describe('transform steps', () => {
  it.each<[string, unknown[], string, Outcome]>([
    ['trim', [{ op: 'trim' }], '  Ada Lovelace \u00a0', text('Ada Lovelace')],
    ['trim: only spaces is empty', [{ op: 'trim' }], '   ', null],
    ['trim: empty', [{ op: 'trim' }], '', null],
    ['upper', [{ op: 'upper' }], 'Straße 5', text('STRASSE 5')],
    ['upper: empty', [{ op: 'upper' }], '', null],
    ['lower', [{ op: 'lower' }], 'ÄRGER', text('ärger')],

    ['date_parse with a format', [{ op: 'date_parse', format: 'DD.MM.YYYY' }], '29.09.2025', day('2025-09-29')],
    ['date_parse: another format is refused', [{ op: 'date_parse', format: 'DD.MM.YYYY' }], '2025-09-29', { error: /^“2025-09-29” is not a date in DD\.MM\.YYYY \(step 1: date_parse, column “In”\)$/ }],
    ['date_parse: not a calendar day', [{ op: 'date_parse', format: 'DD.MM.YYYY' }], '31.02.2025', { error: /“31\.02\.2025” is not a date in DD\.MM\.YYYY/ }],
    ['date_parse: empty', [{ op: 'date_parse', format: 'DD.MM.YYYY' }], '', null],
    ['date_parse: Excel serial', [{ op: 'date_parse', format: 'excel-serial' }], '45929', day('2025-09-29')],
    ['date_parse auto: timestamp', [{ op: 'date_parse', format: 'auto' }], '2025-09-29T14:30:00Z', day('2025-09-29')],
    ['date_parse auto is the default', [{ op: 'date_parse' }], '29/09/2025', day('2025-09-29')],
    ['date_parse auto: not a date', [{ op: 'date_parse' }], 'next week', { error: /“next week” is not a date in any format we know/ }],
    // The forms real exports write, detected (regression: refused), and formats people type.
    ['date_parse auto: month name first', [{ op: 'date_parse' }], 'Nov 18, 2026', day('2026-11-18')],
    ['date_parse auto: German month name', [{ op: 'date_parse' }], '3. März 2026', day('2026-03-03')],
    ['date_parse auto: Spanish month name', [{ op: 'date_parse' }], '5 de enero de 2026', day('2026-01-05')],
    ['date_parse auto: 12-hour time', [{ op: 'date_parse' }], '11/29/2026 3:00 PM', day('2026-11-29')],
    ['date_parse auto: timestamp with an offset', [{ op: 'date_parse' }], '2026-07-14 12:32:00 -0500', day('2026-07-14')],
    ['date_parse with a typed format', [{ op: 'date_parse', format: 'YYYY.DD.MM' }], '2026.29.11', day('2026-11-29')],
    ['date_parse with a typed format with names', [{ op: 'date_parse', format: 'DD-MMM-YY' }], '18-Nov-26', day('2026-11-18')],
    ['date_parse with a typed format: another form is refused', [{ op: 'date_parse', format: 'YYYY.DD.MM' }], '2026-11-29', { error: /^“2026-11-29” is not a date in YYYY\.DD\.MM \(step 1: date_parse, column “In”\)$/ }],

    ['number_parse en', [{ op: 'number_parse', locale: 'en' }], '1,234.50', decimal('1234.50')],
    ['number_parse en: a lone dot is decimal', [{ op: 'number_parse', locale: 'en' }], '1.234', decimal('1.234')],
    ['number_parse en: negative with currency', [{ op: 'number_parse', locale: 'en' }], '-$1,000', decimal('-1000')],
    ['number_parse en: German writing refused', [{ op: 'number_parse', locale: 'en' }], '1.234,50', { error: /“1\.234,50” is not a number written like 1,234\.50/ }],
    ['number_parse en: comma is not decimal', [{ op: 'number_parse', locale: 'en' }], '12,50', { error: /not a number written like 1,234\.50/ }],
    ['number_parse de', [{ op: 'number_parse', locale: 'de' }], '1.234,50', decimal('1234.50')],
    ['number_parse de: a lone dot groups thousands', [{ op: 'number_parse', locale: 'de' }], '1.234', decimal('1234')],
    ['number_parse de: accounting parentheses', [{ op: 'number_parse', locale: 'de' }], '(12,00 €)', decimal('-12.00')],
    ['number_parse de: English writing refused', [{ op: 'number_parse', locale: 'de' }], '1,234.50', { error: /not a number written like 1\.234,50/ }],
    ['number_parse de: bad grouping refused', [{ op: 'number_parse', locale: 'de' }], '1.23,5', { error: /not a number written like 1\.234,50/ }],
    ['number_parse ch', [{ op: 'number_parse', locale: 'ch' }], "1'234.50", decimal('1234.50')],
    ['number_parse ch: typographic apostrophe', [{ op: 'number_parse', locale: 'ch' }], '1’234.50', decimal('1234.50')],
    ['number_parse ch: commas refused', [{ op: 'number_parse', locale: 'ch' }], '1,234.50', { error: /not a number written like 1'234\.50/ }],
    ['number_parse auto', [{ op: 'number_parse', locale: 'auto' }], '€ 1.234,50', decimal('1234.50')],
    ['number_parse auto is the default', [{ op: 'number_parse' }], '$1,234.50', decimal('1234.50')],
    ['number_parse: not a number', [{ op: 'number_parse' }], 'ten', { error: /^“ten” is not a number \(step 1: number_parse, column “In”\)$/ }],
    ['number_parse: empty', [{ op: 'number_parse', locale: 'de' }], '', null],

    ['cast text', [{ op: 'number_parse', locale: 'de' }, { op: 'cast', to: 'text' }], '12,50', text('12.50')],
    ['cast integer', [{ op: 'cast', to: 'integer' }], '42', integer(42)],
    ['cast integer: grouped', [{ op: 'cast', to: 'integer' }], '1,234', integer(1234)],
    ['cast integer: zero fraction', [{ op: 'cast', to: 'integer' }], '12.00', integer(12)],
    ['cast integer: a fraction is refused', [{ op: 'cast', to: 'integer' }], '12.5', { error: /“12\.5” is not a whole number/ }],
    ['cast integer: too large', [{ op: 'cast', to: 'integer' }], '99999999999999999999', { error: /too large for a whole number/ }],
    ['cast integer: not a number', [{ op: 'cast', to: 'integer' }], 'twelve', { error: /“twelve” is not a number/ }],
    ['cast integer: empty', [{ op: 'cast', to: 'integer' }], '', null],
    ['cast decimal keeps the digits written', [{ op: 'cast', to: 'decimal' }], '12,50', decimal('12.50')],
    ['cast boolean: yes', [{ op: 'cast', to: 'boolean' }], 'Yes', boolean(true)],
    ['cast boolean: 0', [{ op: 'cast', to: 'boolean' }], '0', boolean(false)],
    ['cast boolean: German', [{ op: 'cast', to: 'boolean' }], 'nein', boolean(false)],
    ['cast boolean: Spanish', [{ op: 'cast', to: 'boolean' }], 'Sí', boolean(true)],
    ['cast boolean: French', [{ op: 'cast', to: 'boolean' }], 'non', boolean(false)],
    ['cast boolean: German Excel', [{ op: 'cast', to: 'boolean' }], 'WAHR', boolean(true)],
    ['cast boolean: not a yes or no', [{ op: 'cast', to: 'boolean' }], 'maybe', { error: /“maybe” is not true or false/ }],
    ['cast boolean: empty', [{ op: 'cast', to: 'boolean' }], '', null],
    ['cast date', [{ op: 'cast', to: 'date' }], '29.09.2025', day('2025-09-29')],
    ['cast date: not a date', [{ op: 'cast', to: 'date' }], 'x', { error: /“x” is not a date/ }],

    ['default on empty', [{ op: 'default', value: 'unknown' }], '', text('unknown')],
    ['default keeps a value', [{ op: 'default', value: 'unknown' }], 'Berlin', text('Berlin')],
    ['default number', [{ op: 'default', value: 0 }], '', integer(0)],
    ['default decimal', [{ op: 'default', value: 2.5 }], '', decimal('2.5')],
    ['default boolean', [{ op: 'default', value: false }], '', boolean(false)],

    ['split', [{ op: 'split', separator: ' ', index: 0 }], 'Ada Lovelace', text('Ada')],
    ['split from the end', [{ op: 'split', separator: '-', index: -1 }], 'AB-12-X', text('X')],
    ['split: middle part', [{ op: 'split', separator: '-', index: 1 }], 'AB-12-X', text('12')],
    ['split: no such part', [{ op: 'split', separator: ' ', index: 2 }], 'Ada Lovelace', null],
    ['split: empty', [{ op: 'split', separator: ' ', index: 0 }], '', null],

    ['replace', [{ op: 'replace', find: '.', with: '' }], 'A.B.C', text('ABC')],
    ['replace is literal, not a pattern', [{ op: 'replace', find: '*', with: '$&$&' }], 'a*b', text('a$&$&b')],
    ['replace leaving nothing', [{ op: 'replace', find: '-', with: '' }], '-', null],
    ['replace: empty', [{ op: 'replace', find: 'a', with: 'b' }], '', null],

    ['null_if', [{ op: 'null_if', values: ['N/A', '-'] }], 'N/A', null],
    ['null_if compares exactly', [{ op: 'null_if', values: ['N/A'] }], 'n/a', text('n/a')],
    ['null_if keeps other values', [{ op: 'null_if', values: ['-'] }], '12', text('12')],

    ['map', [{ op: 'map', values: { Y: 'yes', N: 'no' } }], 'Y', text('yes')],
    ['map keeps others', [{ op: 'map', values: { Y: 'yes' } }], 'Q', text('Q')],
    ['map refuses others when asked', [{ op: 'map', values: { Y: 'yes', N: 'no' }, otherwise: 'reject' }], 'Q', { error: /“Q” is none of the mapped values \(Y, N\)/ }],
    ['map looks up own entries only', [{ op: 'map', values: { Y: 'yes' } }], 'constructor', text('constructor')],
  ])('%s', (_name, transforms, cell, expected) => {
    expectOutcome(transformCell(transforms, cell), 'out', expected);
  });

  it('concat joins other columns, skipping empty ones', () => {
    const mapping = compileMapping([{ target: 'name', source: 'First', transforms: [{ op: 'concat', columns: ['Middle', 'Last'], separator: ' ' }] }], { headers: ['First', 'Middle', 'Last'] });
    expect(mapping({ First: 'Ada', Middle: '', Last: 'Lovelace' }, 2).values.name).toEqual(text('Ada Lovelace'));
    expect(mapping({ First: '', Middle: 'King', Last: '' }, 3).values.name).toEqual(text('King'));
    expect(mapping({ First: '', Middle: '', Last: '' }, 4).values.name).toBeNull();
  });

  it('a source of null starts empty, so a default makes a constant column', () => {
    const mapping = compileMapping([{ target: 'currency', source: null, transforms: [{ op: 'default', value: 'EUR' }] }], { headers: ['Amount'] });
    expect(mapping({ Amount: '12' }, 2)).toEqual({ values: { currency: text('EUR') }, errors: [] });
  });

  it('applies the steps in the order given', () => {
    expectOutcome(transformCell([{ op: 'trim' }, { op: 'null_if', values: ['N/A'] }, { op: 'default', value: 'none' }, { op: 'upper' }], ' N/A '), 'out', text('NONE'));
    expectOutcome(transformCell([{ op: 'null_if', values: ['N/A'] }, { op: 'trim' }, { op: 'default', value: 'none' }, { op: 'upper' }], ' N/A '), 'out', text('N/A'));
    expectOutcome(transformCell([{ op: 'default', value: '0' }, { op: 'number_parse' }], ''), 'out', decimal('0'));
    expectOutcome(transformCell([{ op: 'number_parse' }, { op: 'default', value: '0' }], ''), 'out', text('0'));
    expectOutcome(transformCell([{ op: 'split', separator: ' ', index: -1 }, { op: 'date_parse', format: 'DD/MM/YYYY' }], 'paid 29/09/2025'), 'out', day('2025-09-29'));
  });

  it('stops a column at the first step that fails, and reports the row, the column, the value and the step', () => {
    const mapping = compileMapping(
      [
        { target: 'order_date', source: 'Datum', transforms: [{ op: 'trim' }, { op: 'date_parse', format: 'DD.MM.YYYY' }, { op: 'default', value: '2025-01-01' }] },
        { target: 'city', source: 'Ort', transforms: [{ op: 'upper' }] },
      ],
      { headers: ['Datum', 'Ort'] },
    );
    expect(mapping({ Datum: ' 32.01.2025 ', Ort: 'Köln' }, 7)).toEqual({
      values: { order_date: null, city: text('KÖLN') },
      errors: [{ row: 7, column: 'order_date', value: '32.01.2025', reason: '“32.01.2025” is not a date in DD.MM.YYYY (step 2: date_parse, column “Datum”)' }],
    });
  });

  it('reads only the row’s own cells, even for a header named like an object property', () => {
    const mapping = compileMapping([{ target: 'out', source: 'constructor', transforms: [] }], { headers: ['constructor'] });
    expect(mapping({}, 2).values.out).toBeNull();
    expect(mapping({ constructor: 'x' }, 3).values.out).toEqual(text('x'));
  });

  it('auto dates take one format per column from the sample rows', () => {
    const columns = [{ target: 'day', source: 'Date', transforms: [{ op: 'date_parse', format: 'auto' }] }];
    const samples = [{ Date: '03/04/2025' }, { Date: '04/13/2025' }, { Date: '12/31/2025' }];
    const sampled = compileMapping(columns, { headers: ['Date'], samples });
    expect(sampled({ Date: '03/04/2025' }, 2).values.day).toEqual(day('2025-03-04'));
    expectOutcome(sampled({ Date: '13/04/2025' }, 3), 'day', { error: /“13\/04\/2025” is not a date in MM\/DD\/YYYY, the format of this column/ });
    // Without samples each value is read on its own, day first when it could be either.
    const unsampled = compileMapping(columns, { headers: ['Date'] });
    expect(unsampled({ Date: '03/04/2025' }, 2).values.day).toEqual(day('2025-04-03'));
    expect(unsampled({ Date: '04/13/2025' }, 3).values.day).toEqual(day('2025-04-13'));
  });

  it('auto dates in expressions are settled by the samples too', () => {
    const mapping = compileMapping([{ target: 'day', expression: 'date(col("Order date"))' }], { headers: ['Order date'], samples: [{ 'Order date': '12/25/2025' }] });
    expect(mapping({ 'Order date': '01/02/2025' }, 2).values.day).toEqual(day('2025-01-02'));
  });

  it('fills defaults in the schema', () => {
    expect(transformSchema.parse({ op: 'date_parse' })).toEqual({ op: 'date_parse', format: 'auto' });
    expect(transformSchema.parse({ op: 'concat', columns: ['B'] })).toEqual({ op: 'concat', columns: ['B'], separator: '' });
  });
});

const headers = ['Qty', 'Price', 'Name', 'Order date', 'First', 'Last', 'Paid', 'Empty'];
const baseRow = { Qty: '3', Price: '19.99', Name: ' ada ', 'Order date': '29.09.2025', First: 'Ada', Last: 'Lovelace', Paid: 'ja', Empty: '' };

function evaluate(expression: string, row: Record<string, string> = baseRow): MappedRow {
  return compileMapping([{ target: 'out', expression }], { headers })(row, 5);
}

describe('expressions', () => {
  it.each<[string, Outcome]>([
    ['Qty', text('3')],
    ['col("Order date")', text('29.09.2025')],
    ['"text"', text('text')],
    ["'single quotes'", text('single quotes')],
    ['42', integer(42)],
    ['2.50', decimal('2.5')],
    ['true', boolean(true)],
    ['null', null],
    ['Empty', null],

    ['0.1 + 0.2', decimal('0.3')],
    ['19.99 * 3', decimal('59.97')],
    ['Qty * Price', decimal('59.97')],
    ['Price * 1.19', decimal('23.7881')],
    ['Qty + 2', integer(5)],
    ['Qty - 5', integer(-2)],
    ['10 / 4', decimal('2.5')],
    ['10 / 5', decimal('2')],
    ['1 / 3', decimal('0.3333333333333333333333333333333333')],
    ['-Qty', integer(-3)],
    ['-Price', decimal('-19.99')],
    ['2 + 3 * 4', integer(14)],
    ['(2 + 3) * 4', integer(20)],
    ['"1.234,50" * 2', decimal('2469')],
    ['Empty + 1', null],

    ['Qty > 2', boolean(true)],
    ['Qty == 3', boolean(true)],
    ['Qty === 3.0', boolean(true)],
    ['Qty == "3.0"', boolean(false)],
    ['Price >= 20', boolean(false)],
    ['Price <= 19.99', boolean(true)],
    ['Qty != 3', boolean(false)],
    ['Name == " ada "', boolean(true)],
    ['Price > Qty', boolean(true)],
    ['"10" > "9"', boolean(true)],
    ['"b" == "B"', boolean(false)],
    ['Empty == ""', boolean(true)],
    ['Empty == null', boolean(true)],
    ['Empty == Qty', boolean(false)],
    ['Empty > 1', null],
    ['date(col("Order date")) > "2025-01-01"', boolean(true)],
    ['date(col("Order date")) == date("2025-09-29")', boolean(true)],
    ['Paid == true', boolean(true)],

    ['Qty > 2 && Price < 20', boolean(true)],
    ['Qty > 5 || Paid', boolean(true)],
    ['!Paid', boolean(false)],
    ['!Empty', boolean(true)],
    ['Qty > 2 ? "many" : "few"', text('many')],
    ['Qty > 5 ? "many" : Qty > 1 ? "some" : "one"', text('some')],
    ['Qty > 5 ? 1 / 0 : 2', integer(2)],

    ['upper(Name)', text(' ADA ')],
    ['lower("ÄB")', text('äb')],
    ['trim(Name)', text('ada')],
    ['concat(First, " ", Last)', text('Ada Lovelace')],
    ['concat(" ")', text(' ')],
    ['concat(First, Empty)', text('Ada')],
    ['coalesce(Empty, First)', text('Ada')],
    ['coalesce(Empty, null)', null],
    ['round(Price * 1.19, 2)', decimal('23.79')],
    ['round(Price, 1)', decimal('20.0')],
    ['round(2.5)', integer(3)],
    ['round(-2.5)', integer(-3)],
    ['abs(-Price)', decimal('19.99')],
    ['abs(-3)', integer(3)],
    ['if(Qty > 2, "a", "b")', text('a')],
    ['if(Qty > 5, 1 / 0, 2)', integer(2)],
    ['date(col("Order date"), "DD.MM.YYYY")', day('2025-09-29')],
    ['date("Nov 18, 2026", "MMM D, YYYY")', day('2026-11-18')],
    ['date("2025-09-29")', day('2025-09-29')],
    ['number("1.234,50", "de")', decimal('1234.50')],
    ['number(Price)', decimal('19.99')],
    ['len(Name)', integer(5)],
    ['len("straße")', integer(6)],
    ['len(Empty)', integer(0)],
    ['left(Last, 4)', text('Love')],
    ['left(Last, 100)', text('Lovelace')],
    ['right(Last, 3)', text('ace')],
    ['right(Last, 0)', null],
  ])('%s', (expression, expected) => {
    expectOutcome(evaluate(expression), 'out', expected);
  });

  it.each<[string, Record<string, string>, string, RegExp]>([
    ['Qty / 0', {}, '3 / 0', /^division by zero \(3 \/ 0\)$/],
    ['Price / (Qty - 3)', {}, '19.99 / 0', /^division by zero/],
    ['Name * 2', {}, ' ada ', /^“ ada ” is not a number$/],
    ['Paid + 1', {}, 'ja', /“ja” is not a number/],
    ['date(col("Order date")) + 1', {}, '2025-09-29', /^a date \(2025-09-29\) is not a number$/],
    ['Qty + 1', { Qty: `1${'0'.repeat(40)}` }, `1${'0'.repeat(40)} + 1`, /is too large/],
    ['1e25 * 1e25', {}, `1${'0'.repeat(25)} * 1${'0'.repeat(25)}`, /is too large/],
    ['date(Name)', {}, ' ada ', /“ ada ” is not a date/],
    ['number(Price, "de")', { Price: '1,234.50' }, '1,234.50', /not a number written like 1\.234,50/],
    ['if(Name, 1, 2)', {}, ' ada ', /“ ada ” is not true or false/],
    ['Qty > "many"', {}, 'many', /“many” is not a number/],
    ['Name < "b"', {}, ' ada ', /“ ada ” is not a number/],
    ['left(Last, -1)', {}, '-1', /the length must be a whole number from 0 to 100000/],
    ['round(Price, 11)', {}, '11', /the number of digits must be a whole number from 0 to 10/],
  ])('%s with %j fails on its row only', (expression, changes, value, reason) => {
    const result = evaluate(expression, { ...baseRow, ...changes });
    expect(result.values.out).toBeNull();
    expect(result.errors).toEqual([{ row: 5, column: 'out', value, reason: expect.stringMatching(reason) }]);
  });
});

describe('the page\'s own examples of expressions', () => {
  it('compile: the hint under "Computed columns" shows what the server takes (regression: it showed [Header], which is refused)', () => {
    const exampleHeaders = ['Quantity', 'Unit Price', 'Code'];
    expect(transformChoices.expressionExamples.length).toBeGreaterThan(0);
    for (const expression of transformChoices.expressionExamples) {
      expect(() => compileMapping([{ target: 'total', expression }], { headers: exampleHeaders }), expression).not.toThrow();
    }
  });
});

function compileError(columns: unknown, options: { headers: string[] } = { headers }): AppError {
  try {
    compileMapping(columns, options);
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
  throw new Error('the mapping was accepted');
}

const expressionError = (expression: string) => compileError([{ target: 'total', expression }]);

describe('rejected mappings', () => {
  it.each<[string, string, string]>([
    ['unknown column', 'Quantity * Price', 'The mapping cannot be used: column “total”, at character 1 (“Quantity * Price”): unknown column “Quantity”; the file\'s columns are “Qty”, “Price”, “Name”, “Order date”, “First”, “Last”, “Paid”, “Empty” (write col("Header") for a header with spaces or other characters).'],
    ['unknown column, other case', 'qty * Price', 'The mapping cannot be used: column “total”, at character 1 (“qty * Price”): unknown column “qty”: the file has “Qty” (names are case-sensitive).'],
    ['unknown column in col()', 'col("Order Date")', 'The mapping cannot be used: column “total”, at character 1 (“col("Order Date")”): unknown column “Order Date”: the file has “Order date” (names are case-sensitive).'],
    ['unknown function', 'Qty * eval("1")', 'The mapping cannot be used: column “total”, at character 7 (“eval("1")”): unknown function “eval”; the functions are upper(text), lower(text), trim(text), len(text), left(text, count), right(text, count), concat(value, …), coalesce(value, …), if(condition, then, else), abs(number), round(number, digits?), date(text, format?), number(text, locale?) and col("Header").'],
    ['a function named like an object property', 'constructor(1)', 'unknown function “constructor”'],
    ['member access', 'a.constructor', 'The mapping cannot be used: column “total”, at character 1 (“a.constructor”): member access (“.” or “[…]”) is not allowed; name a column, or write col("Header") for a header with dots or spaces.'],
    ['calling a call', 'Name.constructor.constructor("return 1")()', 'only the functions upper(text),'],
    ['computed member access', 'Qty["constructor"]', 'at character 1 (“Qty["constructor"]”): member access'],
    ['member access on a call result', 'upper(Name).length', 'at character 1 (“upper(Name).length”): member access'],
    ['calling a member', 'Name.toString()', 'at character 1 (“Name.toString()”): member access (“.” or “[…]”) is not allowed'],
    ['this', 'this', 'The mapping cannot be used: column “total”, at character 1 (“this”): “this” is not allowed; name a column instead.'],
    ['this inside', 'Qty + this', 'at character 7 (“this”): “this” is not allowed'],
    ['syntax error: unfinished', 'Qty * (Price +', 'The mapping cannot be used: column “total”, at the end of the expression: syntax error: Expected expression after +.'],
    ['syntax error: assignment', 'Qty = 1', 'The mapping cannot be used: column “total”, at character 5 (“= 1”): syntax error: Unexpected "=".'],
    ['syntax error: unclosed text', 'concat(First, "x)', 'syntax error: Unclosed quote after "x)"'],
    ['syntax error: template', '`${Qty}`', 'at character 1 (“`${Qty}`”): syntax error: Unexpected "`"'],
    ['two expressions', 'Qty Price', 'at character 5 (“Price”): only one expression is allowed; join the parts with an operator or a function'],
    ['a sequence', '(Qty, Price)', 'only one expression is allowed; commas separate the arguments of a function'],
    ['empty', '   ', 'The mapping cannot be used: column “total”: the expression is empty.'],
    ['operator %', 'Qty % 2', 'The mapping cannot be used: column “total”, at character 5 (“% 2”): the operator “%” is not allowed.'],
    ['operator **', 'Qty ** 2', 'at character 5 (“** 2”): the operator “**” is not allowed'],
    ['operator ??', 'Empty ?? Qty', 'the operator “??” is not allowed'],
    ['operator &', 'Qty & 1', 'the operator “&” is not allowed'],
    ['unary ~', '~Qty', 'at character 1 (“~Qty”): the operator “~” is not allowed'],
    ['unary +', '+Price', 'the operator “+” is not allowed'],
    ['lists', '[Qty, Price]', 'brackets (“[…]”) do not name a column: write the header as it is (Quantity), or col("Unit Price") for a header with spaces or other characters'],
    ['a header in brackets, as spreadsheets write it', '[Qty] * Price', 'at character 1 (“[Qty] * Price”): brackets (“[…]”) do not name a column'],
    ['wrong number of arguments', 'round(Price, 2, 3)', 'at character 1 (“round(Price, 2, 3)”): round() takes 1 or 2 arguments (round(number, digits?)), not 3'],
    ['too few arguments', 'if(Qty > 1, 2)', 'if() takes 3 arguments (if(condition, then, else)), not 2'],
    ['unknown date format', 'date(Name, "DD/MM")', 'at character 12 (“"DD/MM")”): the second argument of date() is not a date format: The date format “DD/MM” must name a day, a month and a year.'],
    ['date format from a column', 'date(Name, Last)', 'the second argument of date() must be written as text in quotes (date(text, format?))'],
    ['unknown locale', 'number(Price, "fr")', 'the second argument of number() must be one of "auto", "en", "de", "ch"'],
    ['col() of a column', 'col(Name)', 'col() takes one header written as text, for example col("Order date")'],
    ['too deep', `${'upper('.repeat(MAX_EXPRESSION_DEPTH)}Name${')'.repeat(MAX_EXPRESSION_DEPTH)}`, `the expression nests deeper than ${MAX_EXPRESSION_DEPTH} levels; split it into simpler columns`],
    ['too deep: unary chain', `${'-'.repeat(MAX_EXPRESSION_LENGTH - 1)}1`, 'the expression nests deeper than'],
    ['too deep: long sum', Array.from({ length: 60 }, () => 'Qty').join(' + '), 'the expression nests deeper than'],
    ['too long', `Qty${' + Qty'.repeat(200)}`, `The mapping cannot be used: column “total”: the expression is 1203 characters long; the limit is ${MAX_EXPRESSION_LENGTH}.`],
  ])('%s', (_name, expression, message) => {
    const error = expressionError(expression);
    expect(error.code).toBe('validation_failed');
    expect(error.status).toBe(422);
    expect(error.message).toContain(message);
  });

  it('gives the position in the details', () => {
    expect(expressionError('Qty * eval("1")').details).toEqual([{ column: 'total', reason: expect.stringContaining('unknown function “eval”'), position: 6 }]);
  });

  it('parses hostile nesting within the length limit without running out of stack', () => {
    const parentheses = `${'('.repeat(495)}Qty${')'.repeat(495)}`;
    expect(compileMapping([{ target: 'out', expression: parentheses }], { headers })(baseRow, 2).values.out).toEqual(text('3'));
    expect(expressionError(`${'f('.repeat(330)}1${')'.repeat(330)}`).message).toContain('unknown function “f”');
    expect(expressionError(`${'Qty?'.repeat(160)}1${':2'.repeat(160)}`).message).toContain('nests deeper than');
  });

  it.each<[string, unknown, string]>([
    ['unknown transform', [{ target: 'city', source: 'Name', transforms: [{ op: 'trim' }, { op: 'uppercase' }] }], 'The mapping cannot be used: column “city”, step 2: op: must be one of: trim, upper, lower, date_parse, number_parse, cast, default, split, concat, replace, null_if, map, normalise_status.'],
    ['unknown date format', [{ target: 'day', source: 'Order date', transforms: [{ op: 'date_parse', format: 'DD/MM' }] }], 'column “day”, step 1: format: The date format “DD/MM” must name a day, a month and a year. Write it with YYYY (year), MM or MMM (month as a number or a name), DD (day) and, for a time, HH:mm or h:mm A; for example DD/MM/YYYY, MMM D, YYYY or D. MMMM YYYY..'],
    ['unknown locale', [{ target: 'amount', source: 'Price', transforms: [{ op: 'number_parse', locale: 'fr' }] }], 'column “amount”, step 1: locale: must be one of: auto, en, de, ch.'],
    ['unknown cast', [{ target: 'amount', source: 'Price', transforms: [{ op: 'cast', to: 'money' }] }], 'column “amount”, step 1: to: must be one of: text, integer, decimal, boolean, date.'],
    ['missing field', [{ target: 'last', source: 'Name', transforms: [{ op: 'split', separator: ' ' }] }], 'column “last”, step 1: index: Invalid input: expected number, received undefined.'],
    ['empty separator', [{ target: 'last', source: 'Name', transforms: [{ op: 'split', separator: '', index: 0 }] }], 'column “last”, step 1: separator: Too small'],
    ['misspelt field', [{ target: 'day', source: 'Order date', transforms: [{ op: 'date_parse', fromat: 'DD.MM.YYYY' }] }], 'column “day”, step 1: unknown field fromat.'],
    ['default of an object', [{ target: 'x', source: 'Name', transforms: [{ op: 'default', value: { a: 1 } }] }], 'column “x”, step 1: value: must be text, a number or true/false.'],
    ['transforms not a list', [{ target: 'x', source: 'Name', transforms: 'trim' }], 'column “x”: transforms: Invalid input: expected array, received string.'],
    ['unknown source column', [{ target: 'city', source: 'Stadt', transforms: [] }], 'The mapping cannot be used: column “city”: its source “Stadt” is not a column of the file; the file\'s columns are “Qty”,'],
    ['concat of an unknown column', [{ target: 'name', source: 'First', transforms: [{ op: 'concat', columns: ['Surname'] }] }], 'column “name”, step 1: “Surname” is not a column of the file;'],
    ['a target mapped twice', [{ target: 'city', source: 'Name' }, { target: 'city', source: 'Last' }], 'column “city”: is mapped more than once; keep one mapping per target column.'],
    ['a column without a target', [{ source: 'Name' }], 'column “#1”: target: Invalid input: expected string, received undefined.'],
    ['a target that is not a column name', [{ target: '__proto__', source: 'Name' }], 'column “__proto__”: target: must be a canonical column name (lower case, digits and _).'],
    ['a column that is not an object', ['Name'], 'column “#1”: Invalid input: expected object, received string.'],
    ['not a list', { city: 'Name' }, 'The mapping must be a list of 1 to 500 columns, each { target, source, transforms } or { target, expression }.'],
    ['an empty list', [], 'The mapping must be a list of 1 to 500 columns'],
  ])('%s', (_name, columns, message) => {
    const error = compileError(columns);
    expect(error.code).toBe('validation_failed');
    expect(error.message).toContain(message);
  });

  it('reports every problem of the mapping at once', () => {
    const error = compileError([
      { target: 'total', expression: 'Qty * Cost' },
      { target: 'city', source: 'Town' },
      { target: 'day', source: 'Order date', transforms: [{ op: 'date_parse', format: 'someday' }] },
    ]);
    expect(error.message).toMatch(/^The mapping has 3 problems: column “total”, at character 7 \(“Cost”\): unknown column “Cost”; .*; column “city”: its source “Town” is not a column of the file; .*; column “day”, step 1: format: The date format “someday” has “o”, which is not a part of a date\. .*\.$/);
    expect(error.details).toEqual([
      { column: 'total', reason: expect.stringContaining('unknown column “Cost”'), position: 6 },
      { column: 'city', reason: expect.stringContaining('its source “Town”') },
      { column: 'day', step: 1, reason: expect.stringContaining('format: The date format “someday” has “o”, which is not a part of a date') },
    ]);
  });
});
