/**
 * How a reviewed mapping turns a row of an uploaded file into canonical values. Transforms are data (JSON
 * checked by the schemas below) and computed columns are expressions parsed by jsep; one interpreter applies
 * both. Nothing here evaluates code or builds SQL: an expression can only name columns, literals, the
 * operators and the functions listed in this file. `compileTableMapping` takes a row on to the text its
 * canonical table stores, or the reasons it is rejected: what a preview shows and a load stores.
 */
import { Decimal } from 'decimal.js';
import jsep from 'jsep';
import { z } from 'zod';
import { AppError } from '../errors.js';
import { checkDateFormat, dateFormats, detectDateFormat, isCalendarDate, parseDateAs, type DateFormat } from '../files/dates.js';
import { parseBooleanWord } from '../files/booleans.js';
import { numberLocaleMarks, parseDecimal, parseDecimalIn, type NumberLocale } from '../files/numbers.js';
import { canonicalTables, requiredKeyColumns, storedTypeOf, type ColumnType } from './canonical.js';
import { normaliseOrderStatus } from './statuses.js';

// ─── Values ──────────────────────────────────────────────────────────────────────────────────────────────

/**
 * A typed value: decimals are exact decimal strings ("1234.50", never floats), dates are ISO days, null is
 * empty. Text is never empty: a blank cell, or a transform that leaves nothing, gives null.
 */
export type Value =
  | { type: 'text'; value: string }
  | { type: 'integer'; value: number }
  | { type: 'decimal'; value: string }
  | { type: 'date'; value: string }
  | { type: 'boolean'; value: boolean }
  | null;
type Present = Exclude<Value, null>;

/** A source row: header → cell text. */
export type SourceRow = Record<string, string>;

/** A value of one row that could not be read, computed or stored; the column's value is then null. */
export interface RowError {
  row: number;
  column: string;
  /** The value as it was read or computed; null when the column was empty and must not be. */
  value: string | null;
  reason: string;
}

export interface MappedRow {
  values: Record<string, Value>;
  errors: RowError[];
}

/** A validated mapping, ready to apply to every row of a file. */
export type CompiledMapping = (row: SourceRow, rowNumber: number) => MappedRow;

/** A value that cannot be used where it is: a row error of its column, never a crash. */
class ValueError extends Error {
  constructor(
    readonly value: string,
    message: string,
  ) {
    super(message);
  }
}

function text(value: string): Value {
  return value === '' ? null : { type: 'text', value };
}

function textOf(value: Present): string {
  return String(value.value);
}

const typeNames: Record<Present['type'], string> = { text: 'text', integer: 'whole number', decimal: 'decimal number', date: 'date', boolean: 'true/false value' };

function cell(row: SourceRow, header: string): Value {
  const value = Object.hasOwn(row, header) ? row[header]! : '';
  return value.trim() === '' ? null : { type: 'text', value };
}

/** Text operations leave numbers, dates and booleans alone: they have no case and no surrounding spaces. */
function mapText(value: Value, change: (text: string) => string): Value {
  return value?.type === 'text' ? text(change(value.value)) : value;
}

function joinTexts(values: Value[], separator: string): Value {
  const present = values.filter((value): value is Present => value !== null);
  return present.length ? text(present.map(textOf).join(separator)) : null;
}

// ─── Numbers ─────────────────────────────────────────────────────────────────────────────────────────────

/**
 * Exact arithmetic. Magnitudes past 10^30 overflow to Infinity, which is refused, so no value grows without
 * bound (and below 10^-40 they are 0).
 */
const Exact = Decimal.clone({ precision: 34, rounding: Decimal.ROUND_HALF_UP, maxE: 30, minE: -40 });

function decimalTextOf(value: Present, locale: NumberLocale): string {
  if (value.type === 'decimal') return value.value;
  if (value.type === 'integer') return String(value.value);
  if (value.type !== 'text') throw new ValueError(textOf(value), `a ${typeNames[value.type]} (${textOf(value)}) is not a number`);
  const parsed = parseDecimalIn(value.value, locale);
  if (parsed === null) {
    const how = locale === 'auto' ? '' : ` written like ${numberLocaleMarks[locale].example}`;
    throw new ValueError(value.value, `“${value.value}” is not a number${how}`);
  }
  return parsed;
}

function readNumber(value: Value, locale: NumberLocale): Value {
  return value === null ? null : { type: 'decimal', value: decimalTextOf(value, locale) };
}

/** A number for arithmetic; `whole` when it is written without a fraction, so whole numbers stay whole under + − ×. */
function numericOf(value: Present): { amount: Decimal; whole: boolean } {
  if (value.type === 'integer') return { amount: new Exact(value.value), whole: true };
  const digits = decimalTextOf(value, 'auto');
  return { amount: new Exact(digits), whole: value.type === 'text' && !digits.includes('.') };
}

function numberValue(amount: Decimal, whole: boolean, shown: string): Present {
  if (!amount.isFinite()) throw new ValueError(shown, `the result of ${shown} is too large`);
  if (whole && amount.isInteger() && Number.isSafeInteger(amount.toNumber())) return { type: 'integer', value: amount.toNumber() };
  return { type: 'decimal', value: amount.toFixed() };
}

function wholeNumberOf(value: Present): number {
  const { amount } = numericOf(value);
  if (!amount.isInteger()) throw new ValueError(textOf(value), `“${textOf(value)}” is not a whole number`);
  const number = amount.toNumber();
  if (!Number.isSafeInteger(number)) throw new ValueError(textOf(value), `“${textOf(value)}” is too large for a whole number`);
  return number;
}

// ─── Dates and booleans ──────────────────────────────────────────────────────────────────────────────────

type DateFormatChoice = DateFormat | 'auto';

/**
 * Reads dates in one format. With `auto` the format is the one detected from the sample rows the mapping
 * was compiled with (as the feeds do: one format per column, so "03/04/2025" means the same day on every
 * row); without samples, each value is read in the first format that fits it.
 */
class DateReader {
  private format: DateFormat | null;
  private samples: string[] | null = null;

  constructor(private readonly requested: DateFormatChoice) {
    this.format = requested === 'auto' ? null : requested;
  }

  startSampling(): void {
    if (this.requested === 'auto') this.samples = [];
  }

  finishSampling(): void {
    if (this.samples) this.format = detectDateFormat(this.samples);
    this.samples = null;
  }

  read(value: Value): Value {
    if (value === null || value.type === 'date') return value;
    const raw = textOf(value);
    this.samples?.push(raw);
    const format = this.format ?? detectDateFormat([raw]);
    const iso = format && parseDateAs(raw, format);
    if (iso) return { type: 'date', value: iso };
    if (!this.format) throw new ValueError(raw, `“${raw}” is not a date in any format we know (for example 2025-09-29, 29/09/2025, 29.09.2025)`);
    const detected = this.requested === 'auto' ? ', the format of this column' : '';
    throw new ValueError(raw, `“${raw}” is not a date in ${this.format}${detected}`);
  }
}

function booleanOf(value: Present): boolean {
  if (value.type === 'boolean') return value.value;
  const word = parseBooleanWord(textOf(value));
  if (word === null) throw new ValueError(textOf(value), `“${textOf(value)}” is not true or false (yes/no, true/false, 1/0, ja/nein, sí/no, oui/non)`);
  return word;
}

/** A condition: empty counts as false. */
function conditionOf(value: Value): boolean {
  return value !== null && booleanOf(value);
}

const booleanValue = (value: boolean): Value => ({ type: 'boolean', value });

// ─── Transform steps ─────────────────────────────────────────────────────────────────────────────────────

const castTypes = ['text', 'integer', 'decimal', 'boolean', 'date'] as const;
const numberLocales = ['auto', 'en', 'de', 'ch'] as const;
/** The formats a screen offers for dates; any other pattern `checkDateFormat` accepts may be typed. */
const dateFormatChoices = ['auto', ...dateFormats];
/** A date format as a mapping stores it: `auto` (detected from the file's first rows) or a format `checkDateFormat` accepts. */
const dateFormatField = z
  .string()
  .trim()
  .min(1)
  .max(80)
  .superRefine((value, ctx) => {
    const problem = dateFormatProblem(value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

/** What is wrong with a date format a mapping names; null when it can be used. */
function dateFormatProblem(format: string): string | null {
  if (format === 'auto') return null;
  try {
    checkDateFormat(format);
    return null;
  } catch (error) {
    if (error instanceof AppError) return error.message;
    throw error;
  }
}
const shortText = z.string().max(1000);

const transformOptions = [
  z.strictObject({ op: z.literal('trim') }),
  z.strictObject({ op: z.literal('upper') }),
  z.strictObject({ op: z.literal('lower') }),
  z.strictObject({ op: z.literal('date_parse'), format: dateFormatField.default('auto') }),
  z.strictObject({ op: z.literal('number_parse'), locale: z.enum(numberLocales, { error: `must be one of: ${numberLocales.join(', ')}` }).default('auto') }),
  z.strictObject({ op: z.literal('cast'), to: z.enum(castTypes, { error: `must be one of: ${castTypes.join(', ')}` }) }),
  z.strictObject({ op: z.literal('default'), value: z.union([shortText, z.number().min(-1e15).max(1e15), z.boolean()], { error: 'must be text, a number or true/false' }) }),
  z.strictObject({ op: z.literal('split'), separator: shortText.min(1), index: z.number().int().min(-1000).max(1000) }),
  z.strictObject({ op: z.literal('concat'), columns: z.array(z.string().min(1)).min(1).max(50), separator: shortText.default('') }),
  z.strictObject({ op: z.literal('replace'), find: shortText.min(1), with: shortText }),
  /** Texts that mean "no value", such as "N/A" or "-", compared exactly. */
  z.strictObject({ op: z.literal('null_if'), values: z.array(shortText).min(1).max(100) }),
  /** Replaces whole values ("Y" → "yes", "bezahlt" → "paid"), compared exactly; others are kept or refused. */
  z.strictObject({ op: z.literal('map'), values: z.record(shortText, shortText), otherwise: z.enum(['keep', 'reject']).default('keep') }),
  /** An order status in another spelling or language ("storniert", "Voided") as the product's own; unknown words are kept. */
  z.strictObject({ op: z.literal('normalise_status') }),
] as const;
const transformOps = transformOptions.map((option) => option.shape.op.value);

/** The steps and their choices, for a screen that builds transforms. */
/** Computed columns as the page shows them by way of example (over the headers Quantity, Unit Price and Code). */
export const expressionExamples = ['Quantity * col("Unit Price")', 'upper(trim(Code))'] as const;

export const transformChoices = { ops: transformOps, dateFormats: dateFormatChoices, numberLocales, castTypes, expressionExamples } as const;

/** One transform step, as stored in a mapping. */
export const transformSchema = z.discriminatedUnion('op', transformOptions, {
  error: (issue) => (issue.code === 'invalid_union' ? `must be one of: ${transformOps.join(', ')}` : undefined),
});
export type Transform = z.output<typeof transformSchema>;

type Step = (value: Value, row: SourceRow) => Value;

interface CompileContext {
  headers: ReadonlySet<string>;
  dateReaders: DateReader[];
}

function newDateReader(context: CompileContext, format: DateFormatChoice): DateReader {
  const reader = new DateReader(format);
  context.dateReaders.push(reader);
  return reader;
}

function cast(value: Value, to: Exclude<(typeof castTypes)[number], 'date'>): Value {
  if (value === null) return null;
  switch (to) {
    case 'text':
      return text(textOf(value));
    case 'integer':
      return { type: 'integer', value: wholeNumberOf(value) };
    case 'decimal':
      return readNumber(value, 'auto');
    case 'boolean':
      return booleanValue(booleanOf(value));
  }
}

function constant(value: string | number | boolean): Value {
  if (typeof value === 'string') return text(value);
  if (typeof value === 'boolean') return booleanValue(value);
  return numberValue(new Exact(value), Number.isInteger(value), String(value));
}

/** A step as a function; problems with its columns are thrown as `MappingProblem`s. */
function compileStep(transform: Transform, context: CompileContext): Step {
  switch (transform.op) {
    case 'trim':
      return (value) => mapText(value, (s) => s.trim());
    case 'upper':
      return (value) => mapText(value, (s) => s.toUpperCase());
    case 'lower':
      return (value) => mapText(value, (s) => s.toLowerCase());
    case 'date_parse': {
      const dates = newDateReader(context, transform.format);
      return (value) => dates.read(value);
    }
    case 'number_parse':
      return (value) => readNumber(value, transform.locale);
    case 'cast': {
      const { to } = transform;
      if (to !== 'date') return (value) => cast(value, to);
      const dates = newDateReader(context, 'auto');
      return (value) => dates.read(value);
    }
    case 'default': {
      const fallback = constant(transform.value);
      return (value) => value ?? fallback;
    }
    case 'split':
      return (value) => {
        if (value === null) return null;
        const parts = textOf(value).split(transform.separator);
        const part = parts[transform.index < 0 ? parts.length + transform.index : transform.index];
        return part === undefined ? null : text(part);
      };
    case 'concat': {
      const unknown = transform.columns.filter((column) => !context.headers.has(column));
      if (unknown.length) throw new MappingProblem(`${unknown.map((c) => `“${c}”`).join(', ')} ${unknown.length > 1 ? 'are not columns' : 'is not a column'} of the file; ${listColumns(context.headers)}`);
      return (value, row) => joinTexts([value, ...transform.columns.map((column) => cell(row, column))], transform.separator);
    }
    case 'replace':
      return (value) => (value === null ? null : text(textOf(value).split(transform.find).join(transform.with)));
    case 'null_if': {
      const meaningNone = new Set(transform.values);
      return (value) => (value !== null && meaningNone.has(textOf(value)) ? null : value);
    }
    case 'map': {
      const replacements = new Map(Object.entries(transform.values));
      return (value) => {
        if (value === null) return null;
        const replacement = replacements.get(textOf(value));
        if (replacement !== undefined) return text(replacement);
        if (transform.otherwise === 'keep') return value;
        throw new ValueError(textOf(value), `“${textOf(value)}” is none of the mapped values (${[...replacements.keys()].slice(0, 10).join(', ')})`);
      };
    }
    case 'normalise_status':
      return (value) => (value?.type === 'text' ? text(normaliseOrderStatus(value.value) ?? value.value) : value);
  }
}

// ─── Expressions ─────────────────────────────────────────────────────────────────────────────────────────

export const MAX_EXPRESSION_LENGTH = 1000;
export const MAX_EXPRESSION_DEPTH = 40;

type Evaluate = (row: SourceRow) => Value;

const binaryOperators = new Set(['+', '-', '*', '/', '==', '!=', '===', '!==', '<', '>', '<=', '>=', '&&', '||']);

// jsep's typings leave out its parser class, which its README documents; these are the members used here.
interface JsepParser {
  index: number;
  gobbleSpaces(): void;
  gobbleToken(): jsep.Expression | false;
  gobbleBinaryOp(): string | false;
  parse(): jsep.Expression;
}
const { Jsep } = jsep as unknown as { Jsep: new (expression: string) => JsepParser };

/** jsep's parser, noting where each token starts and refusing operators outside the whitelist where they stand. */
class PositionedParser extends Jsep {
  readonly starts = new Map<jsep.Expression, number>();

  override gobbleToken(): jsep.Expression | false {
    this.gobbleSpaces();
    const start = this.index;
    const node = super.gobbleToken();
    if (node && !this.starts.has(node)) this.starts.set(node, start);
    return node;
  }

  override gobbleBinaryOp(): string | false {
    const operator = super.gobbleBinaryOp();
    if (operator && !binaryOperators.has(operator)) throw new MappingProblem(`the operator “${operator}” is not allowed`, this.index - operator.length);
    return operator;
  }
}

/** What is wrong with a mapping column, and where in its expression when that is known. */
class MappingProblem extends Error {
  constructor(
    message: string,
    readonly position: number | null = null,
  ) {
    super(message);
  }
}

interface FunctionSpec {
  signature: string;
  arity: [min: number, max: number];
  /** A second argument written as text, checked once: what is wrong with it, or null. */
  option?: { check(value: string): string | null; default: string };
  build(args: Evaluate[], option: string, context: CompileContext): Evaluate;
}

const single = (change: (value: Value) => Value) => (args: Evaluate[]) => {
  const [argument] = args as [Evaluate];
  return (row: SourceRow) => change(argument(row));
};

/** A count argument (digits, characters): whole and within bounds. */
function countOf(value: Value, what: string, max: number): number {
  const count = value === null ? null : wholeNumberOf(value);
  if (count === null || count < 0 || count > max) throw new ValueError(value === null ? '' : textOf(value), `${what} must be a whole number from 0 to ${max}`);
  return count;
}

function sliceText(args: Evaluate[], take: (characters: string[], count: number) => string[]): Evaluate {
  const [subject, length] = args as [Evaluate, Evaluate];
  return (row) => {
    const value = subject(row);
    if (value === null) return null;
    return text(take([...textOf(value)], countOf(length(row), 'the length', 100_000)).join(''));
  };
}

const functions = new Map<string, FunctionSpec>([
  ['upper', { signature: 'upper(text)', arity: [1, 1], build: single((v) => mapText(v, (s) => s.toUpperCase())) }],
  ['lower', { signature: 'lower(text)', arity: [1, 1], build: single((v) => mapText(v, (s) => s.toLowerCase())) }],
  ['trim', { signature: 'trim(text)', arity: [1, 1], build: single((v) => mapText(v, (s) => s.trim())) }],
  ['len', { signature: 'len(text)', arity: [1, 1], build: single((v) => ({ type: 'integer', value: v === null ? 0 : [...textOf(v)].length })) }],
  ['left', { signature: 'left(text, count)', arity: [2, 2], build: (args) => sliceText(args, (characters, count) => characters.slice(0, count)) }],
  ['right', { signature: 'right(text, count)', arity: [2, 2], build: (args) => sliceText(args, (characters, count) => (count === 0 ? [] : characters.slice(-count))) }],
  ['concat', { signature: 'concat(value, …)', arity: [1, 50], build: (args) => (row) => joinTexts(args.map((argument) => argument(row)), '') }],
  [
    'coalesce',
    {
      signature: 'coalesce(value, …)',
      arity: [1, 50],
      build: (args) => (row) => {
        for (const argument of args) {
          const value = argument(row);
          if (value !== null) return value;
        }
        return null;
      },
    },
  ],
  [
    'if',
    {
      signature: 'if(condition, then, else)',
      arity: [3, 3],
      build: (args) => {
        const [condition, then, otherwise] = args as [Evaluate, Evaluate, Evaluate];
        return (row) => (conditionOf(condition(row)) ? then(row) : otherwise(row));
      },
    },
  ],
  [
    'abs',
    {
      signature: 'abs(number)',
      arity: [1, 1],
      build: single((v) => {
        if (v === null) return null;
        const { amount, whole } = numericOf(v);
        return numberValue(amount.abs(), whole, textOf(v));
      }),
    },
  ],
  [
    'round',
    {
      signature: 'round(number, digits?)',
      arity: [1, 2],
      build: (args) => {
        const [subject, digits] = args as [Evaluate, Evaluate | undefined];
        return (row) => {
          const value = subject(row);
          if (value === null) return null;
          const places = digits ? countOf(digits(row), 'the number of digits', 10) : 0;
          const rounded = numericOf(value).amount.toDecimalPlaces(places, Decimal.ROUND_HALF_UP);
          return places === 0 ? numberValue(rounded, true, textOf(value)) : { type: 'decimal', value: rounded.toFixed(places) };
        };
      },
    },
  ],
  [
    'date',
    {
      signature: 'date(text, format?)',
      arity: [1, 2],
      option: { check: (format) => (dateFormatProblem(format) === null ? null : `is not a date format: ${dateFormatProblem(format)}`), default: 'auto' },
      build: (args, format, context) => {
        const dates = newDateReader(context, format as DateFormatChoice);
        return single((v) => dates.read(v))(args);
      },
    },
  ],
  [
    'number',
    {
      signature: 'number(text, locale?)',
      arity: [1, 2],
      option: { check: (locale) => ((numberLocales as readonly string[]).includes(locale) ? null : `must be one of ${numberLocales.map((v) => `"${v}"`).join(', ')}`), default: 'auto' },
      build: (args, locale) => single((v) => readNumber(v, locale as NumberLocale))(args),
    },
  ],
]);

const memberAccessRefused = 'member access (“.” or “[…]”) is not allowed; name a column, or write col("Header") for a header with dots or spaces';
const functionList = [...functions.values()].map((spec) => spec.signature).join(', ');

function listColumns(headers: ReadonlySet<string>): string {
  const names = [...headers];
  const shown = names.slice(0, 30).map((name) => `“${name}”`).join(', ');
  return names.length ? `the file's columns are ${shown}${names.length > 30 ? ` and ${names.length - 30} more` : ''}` : 'the file has no columns';
}

function arithmetic(operator: string, left: Present, right: Present): Value {
  const a = numericOf(left);
  const b = numericOf(right);
  const shown = `${textOf(left)} ${operator} ${textOf(right)}`;
  switch (operator) {
    case '+':
      return numberValue(a.amount.plus(b.amount), a.whole && b.whole, shown);
    case '-':
      return numberValue(a.amount.minus(b.amount), a.whole && b.whole, shown);
    case '*':
      return numberValue(a.amount.times(b.amount), a.whole && b.whole, shown);
    default:
      if (b.amount.isZero()) throw new ValueError(shown, `division by zero (${shown})`);
      return numberValue(a.amount.dividedBy(b.amount), false, shown);
  }
}

// Reads each side of a comparison with a date on its own (a literal such as "2025-01-01", or a cell).
const anyDate = new DateReader('auto');

/**
 * How two values compare: as days when either is a date; as numbers when ordering (cells are text, and
 * "19.99" < "3" as text) or when either is a number; as true/false when either is one; else as text, for
 * equality only.
 */
function compare(left: Present, right: Present, ordering: boolean): number {
  if (left.type === 'date' || right.type === 'date') {
    const [a, b] = [textOf(anyDate.read(left)!), textOf(anyDate.read(right)!)];
    return a < b ? -1 : a > b ? 1 : 0;
  }
  if (ordering || left.type === 'integer' || left.type === 'decimal' || right.type === 'integer' || right.type === 'decimal') {
    return numericOf(left).amount.comparedTo(numericOf(right).amount);
  }
  if (left.type === 'boolean' || right.type === 'boolean') return booleanOf(left) === booleanOf(right) ? 0 : 1;
  return textOf(left) === textOf(right) ? 0 : 1;
}

function comparison(operator: string, left: Value, right: Value): Value {
  if (operator === '==' || operator === '===' || operator === '!=' || operator === '!==') {
    const equal = left === null || right === null ? left === right : compare(left, right, false) === 0;
    return booleanValue(operator.startsWith('=') ? equal : !equal);
  }
  if (left === null || right === null) return null;
  const order = compare(left, right, true);
  return booleanValue(operator === '<' ? order < 0 : operator === '>' ? order > 0 : operator === '<=' ? order <= 0 : order >= 0);
}

/** Turns a parsed expression into a function of the row, checking every node against the whitelist once. */
class ExpressionCompiler {
  constructor(
    private readonly starts: ReadonlyMap<jsep.Expression, number>,
    private readonly context: CompileContext,
  ) {}

  compile(node: jsep.Expression, depth: number): Evaluate {
    if (depth > MAX_EXPRESSION_DEPTH) throw this.problem(node, `the expression nests deeper than ${MAX_EXPRESSION_DEPTH} levels; split it into simpler columns`);
    const expression = node as jsep.CoreExpression;
    switch (expression.type) {
      case 'Literal':
        return this.literal(expression);
      case 'Identifier':
        return this.column(expression.name, expression);
      case 'CallExpression':
        return this.call(expression, depth);
      case 'UnaryExpression': {
        const argument = this.compile(expression.argument, depth + 1);
        if (expression.operator === '-') {
          return (row) => {
            const value = argument(row);
            if (value === null) return null;
            const { amount, whole } = numericOf(value);
            return numberValue(amount.negated(), whole, `-${textOf(value)}`);
          };
        }
        if (expression.operator === '!') return (row) => booleanValue(!conditionOf(argument(row)));
        throw this.problem(expression, `the operator “${expression.operator}” is not allowed`);
      }
      case 'BinaryExpression': {
        const left = this.compile(expression.left, depth + 1);
        const right = this.compile(expression.right, depth + 1);
        const operator = expression.operator;
        if (operator === '&&') return (row) => booleanValue(conditionOf(left(row)) && conditionOf(right(row)));
        if (operator === '||') return (row) => booleanValue(conditionOf(left(row)) || conditionOf(right(row)));
        if (['+', '-', '*', '/'].includes(operator)) {
          return (row) => {
            const a = left(row);
            const b = right(row);
            return a === null || b === null ? null : arithmetic(operator, a, b);
          };
        }
        return (row) => comparison(operator, left(row), right(row));
      }
      case 'ConditionalExpression': {
        const test = this.compile(expression.test, depth + 1);
        const consequent = this.compile(expression.consequent, depth + 1);
        const alternate = this.compile(expression.alternate, depth + 1);
        return (row) => (conditionOf(test(row)) ? consequent(row) : alternate(row));
      }
      case 'MemberExpression':
        throw this.problem(expression, memberAccessRefused);
      case 'ThisExpression':
        throw this.problem(expression, '“this” is not allowed; name a column instead');
      case 'ArrayExpression':
        throw this.problem(expression, 'brackets (“[…]”) do not name a column: write the header as it is (Quantity), or col("Unit Price") for a header with spaces or other characters');
      case 'Compound':
        throw this.problem(expression.body[1] ?? expression, expression.body.length ? 'only one expression is allowed; join the parts with an operator or a function' : 'the expression is empty');
      case 'SequenceExpression':
        throw this.problem(expression.expressions[1] ?? expression, 'only one expression is allowed; commas separate the arguments of a function');
      default:
        throw this.problem(node, `“${node.type}” is not allowed`);
    }
  }

  private literal(node: jsep.Literal): Evaluate {
    const { value } = node;
    if (typeof value === 'number') {
      const amount = new Exact(node.raw);
      if (!amount.isFinite()) throw this.problem(node, `the number ${node.raw} is too large`);
      const constant = numberValue(amount, /^\d+$/.test(node.raw), node.raw);
      return () => constant;
    }
    const constant = typeof value === 'string' ? text(value) : typeof value === 'boolean' ? booleanValue(value) : null;
    return () => constant;
  }

  private column(header: string, node: jsep.Expression): Evaluate {
    if (!this.context.headers.has(header)) {
      const alike = [...this.context.headers].find((name) => name.toLowerCase() === header.toLowerCase());
      const hint = alike ? `: the file has “${alike}” (names are case-sensitive)` : `; ${listColumns(this.context.headers)} (write col("Header") for a header with spaces or other characters)`;
      throw this.problem(node, `unknown column “${header}”${hint}`);
    }
    return (row) => cell(row, header);
  }

  private call(node: jsep.CallExpression, depth: number): Evaluate {
    if (node.callee.type === 'MemberExpression') throw this.problem(node, memberAccessRefused);
    if (node.callee.type !== 'Identifier') throw this.problem(node, `only the functions ${functionList} and col("Header") can be called`);
    const name = (node.callee as jsep.Identifier).name;
    const nodeArguments = node.arguments;
    if (name === 'col') {
      const [header] = nodeArguments;
      if (nodeArguments.length !== 1 || header?.type !== 'Literal' || typeof header.value !== 'string') throw this.problem(node, 'col() takes one header written as text, for example col("Order date")');
      return this.column(header.value, node);
    }
    const spec = functions.get(name);
    if (!spec) throw this.problem(node, `unknown function “${name}”; the functions are ${functionList} and col("Header")`);
    const [min, max] = spec.arity;
    if (nodeArguments.length < min || nodeArguments.length > max) {
      const expected = min === max ? `${min}` : max >= 50 ? `at least ${min}` : `${min} or ${max}`;
      throw this.problem(node, `${name}() takes ${expected} argument${max === 1 ? '' : 's'} (${spec.signature}), not ${nodeArguments.length}`);
    }
    let option = spec.option?.default ?? '';
    const optionNode = nodeArguments[1];
    if (spec.option && optionNode) {
      if (optionNode.type !== 'Literal' || typeof optionNode.value !== 'string') throw this.problem(optionNode, `the second argument of ${name}() must be written as text in quotes (${spec.signature})`);
      const problem = spec.option.check(optionNode.value);
      if (problem) throw this.problem(optionNode, `the second argument of ${name}() ${problem}`);
      option = optionNode.value;
    }
    const args = (spec.option ? nodeArguments.slice(0, 1) : nodeArguments).map((argument) => this.compile(argument, depth + 1));
    return spec.build(args, option, this.context);
  }

  private problem(node: jsep.Expression, message: string): MappingProblem {
    return new MappingProblem(message, this.positionOf(node));
  }

  /** Where a node starts: its own token, or the first token of its left-most part. */
  private positionOf(node: jsep.Expression): number | null {
    const start = this.starts.get(node);
    if (start !== undefined) return start;
    const expression = node as jsep.CoreExpression;
    const first =
      expression.type === 'BinaryExpression' ? expression.left
      : expression.type === 'ConditionalExpression' ? expression.test
      : expression.type === 'Compound' ? expression.body[0]
      : expression.type === 'SequenceExpression' ? expression.expressions[0]
      : undefined;
    return first ? this.positionOf(first) : null;
  }
}

function compileExpression(source: string, context: CompileContext): Evaluate {
  if (source.length > MAX_EXPRESSION_LENGTH) throw new MappingProblem(`the expression is ${source.length} characters long; the limit is ${MAX_EXPRESSION_LENGTH}`);
  const parser = new PositionedParser(source);
  let root: jsep.Expression;
  try {
    root = parser.parse();
  } catch (error) {
    const { index, description } = error as { index?: unknown; description?: unknown };
    if (error instanceof MappingProblem || typeof index !== 'number' || typeof description !== 'string') throw error;
    throw new MappingProblem(`syntax error: ${description}`, index);
  }
  return new ExpressionCompiler(parser.starts, context).compile(root, 1);
}

// ─── Column mappings ─────────────────────────────────────────────────────────────────────────────────────

// Targets are canonical column names, which also keeps names such as "__proto__" out of the row objects.
const targetSchema = z.string().regex(/^[a-z][a-z0-9_]{0,62}$/, 'must be a canonical column name (lower case, digits and _)');

const mappedColumnSchema = z.strictObject({
  target: targetSchema,
  source: z.string().min(1).nullable(),
  transforms: z.array(transformSchema).max(20).default([]),
});

const computedColumnSchema = z.strictObject({
  target: targetSchema,
  expression: z.string(),
});

/** One target column: read from a source column through transform steps, or computed from an expression. */
const columnMappingSchema = z.union([mappedColumnSchema, computedColumnSchema]);
export type ColumnMapping = z.output<typeof columnMappingSchema>;

/** One problem of a mapping, as listed in the `details` of the error `compileMapping` throws (and `compileTableMapping` returns). */
export interface MappingIssue {
  column: string;
  reason: string;
  step?: number;
  position?: number;
}

function describeIssue(issue: MappingIssue, expression: string | undefined): string {
  let where = '';
  if (issue.position !== undefined && expression !== undefined) {
    const excerpt = expression.slice(issue.position, issue.position + 24);
    where = issue.position >= expression.length ? ', at the end of the expression' : `, at character ${issue.position + 1} (“${excerpt}${issue.position + 24 < expression.length ? '…' : ''}”)`;
  }
  const step = issue.step === undefined ? '' : `, step ${issue.step}`;
  return `column “${issue.column}”${step}${where}: ${issue.reason}`;
}

function invalidMapping(issues: MappingIssue[], expressions: Map<string, string>): AppError {
  const described = issues.map((issue) => describeIssue(issue, expressions.get(issue.column)));
  const message =
    described.length === 1
      ? `The mapping cannot be used: ${described[0]}.`
      : `The mapping has ${described.length} problems: ${described.slice(0, 5).join('; ')}${described.length > 5 ? `; and ${described.length - 5} more` : ''}.`;
  return new AppError('validation_failed', message, issues);
}

/** Checks one column's JSON with the branch its keys choose, so a message names the field that is wrong. */
function parseColumn(input: unknown, index: number): { column?: ColumnMapping; issues: MappingIssue[] } {
  const record = typeof input === 'object' && input !== null ? (input as Record<string, unknown>) : {};
  const name = typeof record.target === 'string' && record.target ? record.target : `#${index + 1}`;
  const schema = 'expression' in record ? computedColumnSchema : mappedColumnSchema;
  const parsed = schema.safeParse(input);
  if (parsed.success) return { column: parsed.data, issues: [] };
  return {
    issues: parsed.error.issues.map((issue) => {
      const [first, stepIndex, ...field] = issue.path;
      const inStep = first === 'transforms' && typeof stepIndex === 'number';
      const path = (inStep ? field : issue.path).join('.');
      const reason = issue.code === 'unrecognized_keys' ? `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.join(', ')}` : `${path ? `${path}: ` : ''}${issue.message}`;
      return { column: name, reason, ...(inStep ? { step: stepIndex + 1 } : {}) };
    }),
  };
}

const columnsSchema = z.array(z.unknown()).min(1).max(500);

/** How many of a file's first rows settle each `auto` date column's format: a preview and a load read the same. */
export const DATE_SAMPLE_ROWS = 50;

/** A validated mapping (the columns as checked, and the function that maps each row), or the error listing every problem of it. */
type MappingCompilation = { ok: true; columns: ColumnMapping[]; apply: CompiledMapping } | { ok: false; error: AppError };

/**
 * Validates a mapping once, against the file's headers, and returns the function that maps each row.
 * Problems (bad JSON, unknown columns or functions, syntax errors, limits) are all reported together in
 * one `validation_failed` error. `samples` (the file's first rows; at most DATE_SAMPLE_ROWS are read)
 * settle the format of each `auto` date per column, so the preview and the whole load read "03/04/2025" alike.
 */
export function compileMapping(columns: unknown, source: { headers: readonly string[]; samples?: readonly SourceRow[] }): CompiledMapping {
  const compiled = compileColumns(columns, source, () => []);
  if (!compiled.ok) throw compiled.error;
  return compiled.apply;
}

/** `compileMapping`, with the problems `moreIssues` finds in the columns (as given) listed after the compiler's own. */
function compileColumns(columns: unknown, source: { headers: readonly string[]; samples?: readonly SourceRow[] }, moreIssues: (columns: readonly unknown[]) => MappingIssue[]): MappingCompilation {
  const list = columnsSchema.safeParse(columns);
  if (!list.success) return { ok: false, error: new AppError('validation_failed', 'The mapping must be a list of 1 to 500 columns, each { target, source, transforms } or { target, expression }.', list.error.issues) };
  const context: CompileContext = { headers: new Set(source.headers), dateReaders: [] };
  const issues: MappingIssue[] = [];
  const expressions = new Map<string, string>();
  const parsedColumns: ColumnMapping[] = [];
  const compiled: { target: string; evaluate: (row: SourceRow) => Value }[] = [];
  const seen = new Set<string>();

  list.data.forEach((input, index) => {
    const parsed = parseColumn(input, index);
    issues.push(...parsed.issues);
    const column = parsed.column;
    if (!column) return;
    parsedColumns.push(column);
    if (seen.has(column.target)) issues.push({ column: column.target, reason: 'is mapped more than once; keep one mapping per target column' });
    seen.add(column.target);
    if ('expression' in column) {
      expressions.set(column.target, column.expression);
      try {
        compiled.push({ target: column.target, evaluate: compileExpression(column.expression, context) });
      } catch (error) {
        if (!(error instanceof MappingProblem)) throw error;
        issues.push({ column: column.target, reason: error.message, ...(error.position === null ? {} : { position: error.position }) });
      }
      return;
    }
    const { source: header, transforms } = column;
    if (header !== null && !context.headers.has(header)) issues.push({ column: column.target, reason: `its source “${header}” is not a column of the file; ${listColumns(context.headers)}` });
    const steps: Step[] = [];
    transforms.forEach((transform, stepIndex) => {
      try {
        steps.push(compileStep(transform, context));
      } catch (error) {
        if (!(error instanceof MappingProblem)) throw error;
        issues.push({ column: column.target, step: stepIndex + 1, reason: error.message });
      }
    });
    compiled.push({
      target: column.target,
      evaluate: (row) => {
        let value = header === null ? null : cell(row, header);
        steps.forEach((step, stepIndex) => {
          try {
            value = step(value, row);
          } catch (error) {
            if (!(error instanceof ValueError)) throw error;
            const from = header === null ? '' : `, column “${header}”`;
            throw new ValueError(error.value, `${error.message} (step ${stepIndex + 1}: ${transforms[stepIndex]!.op}${from})`);
          }
        });
        return value;
      },
    });
  });
  issues.push(...moreIssues(list.data));
  if (issues.length) return { ok: false, error: invalidMapping(issues, expressions) };

  const apply: CompiledMapping = (row, rowNumber) => {
    const values: Record<string, Value> = {};
    const errors: RowError[] = [];
    for (const { target, evaluate } of compiled) {
      try {
        values[target] = evaluate(row);
      } catch (error) {
        if (!(error instanceof ValueError)) throw error;
        values[target] = null;
        errors.push({ row: rowNumber, column: target, value: error.value, reason: error.message });
      }
    }
    return { values, errors };
  };

  const samples = source.samples?.slice(0, DATE_SAMPLE_ROWS) ?? [];
  if (samples.length) {
    for (const reader of context.dateReaders) reader.startSampling();
    samples.forEach((row, index) => apply(row, index + 1));
    for (const reader of context.dateReaders) reader.finishSampling();
  }
  return { ok: true, columns: parsedColumns, apply };
}

// ─── Rows of a canonical table ───────────────────────────────────────────────────────────────────────────

/** A source row as a row of its canonical table: each mapped column's text as PostgreSQL stores it (null: empty). */
export interface CanonicalRow {
  values: Record<string, string | null>;
  /** Every reason the load rejects the row; empty when it loads. */
  rejects: RowError[];
}

/** A mapping onto one canonical table (the columns as checked, and the function that maps each row), or the error listing every problem of it. */
export type TableMappingCompilation = { ok: true; columns: ColumnMapping[]; mapRow: (row: SourceRow, rowNumber: number) => CanonicalRow } | { ok: false; error: AppError };

/** Problems a mapping onto a canonical table can have whatever its transforms: unknown targets, no input, a natural key left out. */
function catalogIssues(table: string, columns: readonly unknown[]): MappingIssue[] {
  const names = canonicalTables[table]!.map((column) => column.name);
  const issues: MappingIssue[] = [];
  const targets = new Set<string>();
  for (const input of columns) {
    if (typeof input !== 'object' || input === null) continue;
    const { target, source, expression } = input as Record<string, unknown>;
    if (typeof target !== 'string') continue;
    targets.add(target);
    if (!names.includes(target)) issues.push({ column: target, reason: `is not a column of ${table}; its columns are ${names.join(', ')}` });
    if ((source === null || source === undefined) && expression === undefined) {
      issues.push({ column: target, reason: 'has neither a source column nor an expression; for a fixed value write an expression such as "EUR"' });
    }
  }
  for (const key of requiredKeyColumns(table)) {
    if (!targets.has(key)) issues.push({ column: key, reason: `is part of the natural key of ${table} and must be mapped (rows are matched on it when loaded again)` });
  }
  return issues;
}

/**
 * The text PostgreSQL stores for a value in a column of that type, or the reason the column refuses it.
 * Transforms usually produce the right type already; text is accepted where it reads unambiguously.
 */
function columnText(value: Present, type: ColumnType): { text: string } | { refused: string } {
  const shown = textOf(value);
  switch (type.kind) {
    case 'text':
      // U+FFFD is what a program writes for a character it could not read: stored, the letter would be lost unseen.
      if (shown.includes('\uFFFD')) return { refused: `“${shown}” has a character that was lost before this file was written (shown as �); correct the text in the file` };
      return { text: shown };
    case 'date':
      if (value.type === 'date' || (value.type === 'text' && isCalendarDate(value.value.trim()))) return { text: shown.trim() };
      return { refused: `“${shown}” is not a date (add a date_parse transform to read it)` };
    case 'boolean': {
      if (value.type === 'boolean') return { text: String(value.value) };
      const word = parseBooleanWord(shown);
      if (word === null) return { refused: `“${shown}” is not true or false (add a cast to boolean, or a map transform)` };
      return { text: String(word) };
    }
    case 'numeric': {
      const digits = value.type === 'integer' || value.type === 'decimal' ? shown : value.type === 'text' ? parseDecimal(value.value) : null;
      if (digits === null) return { refused: `“${shown}” is not a number (add a number_parse transform to read it)` };
      const rounded = new Decimal(digits).toDecimalPlaces(type.scale, Decimal.ROUND_HALF_UP);
      if (rounded.abs().gte(new Decimal(10).pow(type.precision - type.scale))) return { refused: `${shown} is too large (at most ${type.precision - type.scale} digits before the decimal point)` };
      return { text: rounded.toFixed(type.scale) };
    }
  }
}

/**
 * Compiles a mapping onto a canonical table: the one way a row of a file becomes a row of the table, so a
 * preview shows exactly what a load stores and rejects. Besides the compiler's checks, every target must
 * be a column of the table, every column needs an input, and the table's natural key must be mapped. A
 * row is rejected when a value cannot be read, when its column's type refuses it, or when a natural-key
 * column the row must fill is empty.
 */
export function compileTableMapping(table: string, columns: unknown, source: { headers: readonly string[]; samples?: readonly SourceRow[] }): TableMappingCompilation {
  const catalog = canonicalTables[table];
  if (!catalog) throw new Error(`“${table}” is not a canonical table`);
  const compiled = compileColumns(columns, source, (list) => catalogIssues(table, list));
  if (!compiled.ok) return compiled;
  const requiredKey = requiredKeyColumns(table);
  const targets = compiled.columns.map((column) => ({
    name: column.target,
    type: storedTypeOf(catalog.find((entry) => entry.name === column.target)!),
    required: requiredKey.includes(column.target),
  }));
  const mapRow = (row: SourceRow, rowNumber: number): CanonicalRow => {
    const mapped = compiled.apply(row, rowNumber);
    const rejects = [...mapped.errors];
    const values: Record<string, string | null> = {};
    for (const target of targets) {
      const value = mapped.values[target.name] ?? null;
      values[target.name] = null;
      if (value === null) {
        if (target.required && !mapped.errors.some((error) => error.column === target.name)) {
          rejects.push({ row: rowNumber, column: target.name, value: null, reason: `is empty, but ${target.name} is part of the natural key of ${table}; a row without it cannot be loaded` });
        }
        continue;
      }
      const stored = columnText(value, target.type);
      if ('refused' in stored) rejects.push({ row: rowNumber, column: target.name, value: textOf(value), reason: stored.refused });
      else values[target.name] = stored.text;
    }
    return { values, rejects };
  };
  return { ok: true, columns: compiled.columns, mapRow };
}
