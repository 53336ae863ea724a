import { z } from 'zod';
import { textProblem } from '../input.js';

/** At most this many transactions in one POST /api/ingest/transactions:batch. */
export const MAX_BATCH_TRANSACTIONS = 1000;
/** At most this many line items in one transaction. */
export const MAX_ITEMS_PER_TRANSACTION = 1000;

/** Text PostgreSQL can store (no NUL, no lone surrogate), not blank, at most `max` characters. */
const text = (max: number) =>
  z
    .string({ error: (issue) => (issue.input === undefined ? 'is required' : 'must be text') })
    .trim()
    .min(1, 'must not be empty')
    .max(max, `must be at most ${max} characters`)
    .superRefine((value, check) => {
      const problem = textProblem(value);
      if (problem) check.addIssue({ code: 'custom', message: problem });
    });

/** A JSON number (amounts in the store's currency, as the devices send them). Signs are checked in silver, as data quality. */
const amount = z
  .number({ error: (issue) => (issue.input === undefined ? 'is required' : 'must be a number') })
  .refine((value) => Math.abs(value) < 1e12, 'must be less than 1,000,000,000,000 in size');

const item = z.looseObject({
  product_id: text(200),
  product_name: text(500),
  brand: text(200).nullish(),
  qty: z
    .number({ error: (issue) => (issue.input === undefined ? 'is required' : 'must be a number') })
    .positive('must be more than 0')
    .max(1e9, 'must be at most 1,000,000,000'),
  unit_price: amount,
  line_amount: amount,
});

/**
 * One point-of-sale transaction, as the seed document gives it. Unknown fields are kept (in the bronze
 * payload, and in its hash); `simulated` marks the simulator's traffic end to end.
 */
export const transactionPayload = z.looseObject({
  transaction_id: text(200),
  store_id: text(100),
  ts: z.iso.datetime({ offset: true, error: 'must be an ISO 8601 date and time with its zone, such as 2026-12-07T18:30:00Z' }),
  total_amount: amount,
  currency: z
    .string()
    .regex(/^[A-Z]{3}$/, 'must be an ISO 4217 currency code, such as USD')
    .optional(),
  simulated: z.boolean({ error: 'must be true or false' }).optional(),
  items: z
    .array(item, { error: (issue) => (issue.input === undefined ? 'is required' : 'must be a list of line items') })
    .min(1, 'must hold at least one line item')
    .max(MAX_ITEMS_PER_TRANSACTION, `must hold at most ${MAX_ITEMS_PER_TRANSACTION} line items`),
});

export type TransactionPayload = z.infer<typeof transactionPayload>;

/** One problem of a body, at its path as a person writes it: `items[2].qty`. */
export interface PayloadProblem {
  path: string;
  reason: string;
}

/** `['items', 2, 'qty']` as `items[2].qty`. */
export function pathText(path: readonly PropertyKey[]): string {
  return path.reduce<string>((text, part) => (typeof part === 'number' ? `${text}[${part}]` : text ? `${text}.${String(part)}` : String(part)), '');
}

export type Checked = { ok: true; payload: TransactionPayload } | { ok: false; problems: PayloadProblem[] };

/** Every problem of one transaction, each with its path (the body's, or `prefix` before it). */
export function checkTransaction(input: unknown, prefix: readonly PropertyKey[] = []): Checked {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    return { ok: false, problems: [{ path: pathText(prefix) || '(body)', reason: 'must be a JSON object with transaction_id, store_id, ts, total_amount and items' }] };
  }
  const result = transactionPayload.safeParse(input);
  const problems = result.success ? [] : result.error.issues.map((issue) => ({ path: pathText([...prefix, ...issue.path]) || '(body)', reason: issue.message }));
  // Fields the schema does not name are kept as they came: they too must be text PostgreSQL can store.
  const reported = new Set(problems.map((problem) => problem.path));
  problems.push(...unstorableText(input, [...prefix]).filter((problem) => !reported.has(problem.path)));
  if (result.success && problems.length === 0) return { ok: true, payload: result.data };
  return { ok: false, problems };
}

/**
 * Strings (values and field names) anywhere in `value` that PostgreSQL's jsonb cannot hold. Walks with one
 * path it pushes and pops, and writes a path out only for a problem: a clean body allocates nothing per field.
 */
function unstorableText(value: unknown, path: PropertyKey[], problems: PayloadProblem[] = []): PayloadProblem[] {
  if (typeof value === 'string') {
    const problem = textProblem(value);
    if (problem) problems.push({ path: pathText(path), reason: problem });
  } else if (Array.isArray(value)) {
    for (let index = 0; index < value.length; index++) {
      path.push(index);
      unstorableText(value[index], path, problems);
      path.pop();
    }
  } else if (value !== null && typeof value === 'object') {
    for (const key in value) {
      if (!Object.hasOwn(value, key)) continue;
      path.push(key);
      const problem = textProblem(key);
      if (problem) problems.push({ path: pathText(path), reason: `has a field name that ${problem}` });
      unstorableText((value as Record<string, unknown>)[key], path, problems);
      path.pop();
    }
  }
  return problems;
}
