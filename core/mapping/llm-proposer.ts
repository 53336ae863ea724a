import OpenAI from 'openai';
import { zodResponseFormat } from 'openai/helpers/zod';
import { z } from 'zod';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import { canonicalTables } from './canonical.js';
import { deterministicProposer, type MappingProposer, type ProposedColumn, type ProposedMapping, type SourceColumn } from './propose.js';

export interface LlmProposerOptions {
  /** An OpenAI-compatible API root, for example `https://api.openai.com/v1`. */
  baseURL: string;
  apiKey: string;
  model: string;
  timeoutMs: number;
  /** Sample values sent per column (0: headers only). */
  maxSamples: number;
  /** Retries of transient failures (connection errors, timeouts, 408, 409, 429, 5xx), done by the client. */
  maxRetries?: number;
  log?: Logger;
}

const SAMPLE_CHARS = 40;
const REASON_CHARS = 200;
const SYNONYMS_SHOWN = 4;

/**
 * The answer the model must give, restricted to the tables it may choose. Sent to the endpoint as a strict
 * JSON schema (every property required, no others) and used again to validate what comes back, since an
 * OpenAI-compatible server need not enforce the schema.
 */
function answerSchema(tables: string[]) {
  const columnNames = [...new Set(tables.flatMap((table) => canonicalTables[table]!.map((column) => column.name)))];
  return z.object({
    table: z.enum(tables).describe('the canonical table whose rows the file holds'),
    table_confidence: z.number().min(0).max(1),
    columns: z.array(
      z.object({
        source: z.string().describe('a source column header, exactly as given'),
        target: z.enum(columnNames).nullable().describe('a column of the chosen table, or null to ignore the source column'),
        confidence: z.number().min(0).max(1),
        reason: z.string().describe('why, in a few words'),
      }),
    ),
  });
}

type Answer = z.infer<ReturnType<typeof answerSchema>>;

/** Why a model's answer cannot be used; its message becomes the fallback reason. */
class UnusableAnswer extends Error {}

function describeCatalog(tables: string[]): string {
  return tables
    .map((table) => {
      const columns = canonicalTables[table]!.map((column) => `${column.name} (${column.kinds.join(' or ')}; headers like ${column.synonyms.slice(0, SYNONYMS_SHOWN).join(', ')})`);
      return `- ${table}: ${columns.join('; ')}`;
    })
    .join('\n');
}

/**
 * Sample values leave our premises for a third party's model and may hold personal data (names, emails,
 * phone numbers, addresses): send no more than `maxSamples` distinct non-empty values per column, each
 * cut to a few characters, enough to recognise a format but not to copy a customer list.
 */
function samplesToSend(samples: string[], maxSamples: number): string[] {
  const distinct = [...new Set(samples.map((sample) => sample.trim()).filter((sample) => sample !== ''))];
  return distinct.slice(0, maxSamples).map((sample) => (sample.length > SAMPLE_CHARS ? `${sample.slice(0, SAMPLE_CHARS)}…` : sample));
}

function buildMessages(columns: SourceColumn[], baseline: ProposedMapping, tables: string[], maxSamples: number, tableHint?: string) {
  const system = [
    'You map the columns of a spreadsheet export (an ERP, a webshop, an accounting tool; any language) onto one table of a canonical catalog.',
    'Choose the table whose rows the file holds. For each source column, give the catalog column of that table it fills, or null when none fits.',
    'Use each catalog column at most once. Confidence is between 0 and 1. Keep each reason to a few words.',
    'A starting point from a rule-based proposer is given; keep its choices where they are right and correct them where they are not.',
    '',
    'Catalog (table: column (value kinds; typical headers)):',
    describeCatalog(tables),
  ].join('\n');
  const request = {
    ...(tableHint ? { table: tableHint } : {}),
    source_columns: columns.map((column) => ({ header: column.header, samples: samplesToSend(column.samples, maxSamples) })),
    starting_point: {
      table: baseline.table,
      table_confidence: baseline.tableConfidence,
      columns: baseline.columns.map((column) => ({ source: column.source, target: column.target, confidence: column.confidence, reason: column.reason })),
      alternatives: baseline.alternatives,
    },
  };
  return [
    { role: 'system' as const, content: system },
    { role: 'user' as const, content: JSON.stringify(request) },
  ];
}

function readAnswer(completion: OpenAI.Chat.Completions.ChatCompletion, schema: ReturnType<typeof answerSchema>): Answer {
  const choice = completion.choices?.[0];
  if (!choice) throw new UnusableAnswer('the endpoint answered without a choice');
  if (choice.message.refusal) throw new UnusableAnswer(`the model refused: ${choice.message.refusal}`);
  if (choice.finish_reason === 'length') throw new UnusableAnswer("the answer was cut off at the model's token limit");
  const content = choice.message.content;
  if (!content) throw new UnusableAnswer('the answer was empty');
  let json: unknown;
  try {
    json = JSON.parse(content);
  } catch (error) {
    throw new UnusableAnswer(`the answer is not JSON (${(error as Error).message})`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.slice(0, 3).map((issue) => `${issue.path.join('.') || 'answer'}: ${issue.message}`);
    throw new UnusableAnswer(`the answer does not match the schema (${problems.join('; ')})`);
  }
  return parsed.data;
}

/** What the schema cannot say: sources the file has, each once, and targets of the chosen table, each once. */
function checkAgainstCatalog(answer: Answer, columns: SourceColumn[]): void {
  const headers = new Set(columns.map((column) => column.header));
  const tableColumns = new Set(canonicalTables[answer.table]!.map((column) => column.name));
  const seenSources = new Set<string>();
  const sourceByTarget = new Map<string, string>();
  for (const column of answer.columns) {
    if (!headers.has(column.source)) throw new UnusableAnswer(`the answer names a column the file does not have: "${column.source}"`);
    if (seenSources.has(column.source)) throw new UnusableAnswer(`the answer maps column "${column.source}" twice`);
    seenSources.add(column.source);
    if (column.target === null) continue;
    if (!tableColumns.has(column.target)) throw new UnusableAnswer(`"${column.target}" (for "${column.source}") is not a column of ${answer.table}`);
    const other = sourceByTarget.get(column.target);
    if (other !== undefined) throw new UnusableAnswer(`the answer maps both "${other}" and "${column.source}" to ${answer.table}.${column.target}`);
    sourceByTarget.set(column.target, column.source);
  }
}

/**
 * The model's choices over the deterministic proposal for the model's table: columns the model left out keep
 * the deterministic choice, unless the model gave that target to another column.
 */
function mergeAnswer(answer: Answer, forTable: ProposedMapping, ranking: ProposedMapping): ProposedMapping {
  const bySource = new Map(answer.columns.map((column) => [column.source, column]));
  const modelTargets = new Map(answer.columns.filter((column) => column.target !== null).map((column) => [column.target!, column.source]));
  const columns = forTable.columns.map((base): ProposedColumn => {
    const chosen = bySource.get(base.source);
    if (chosen) return { source: base.source, kind: base.kind, target: chosen.target, confidence: chosen.confidence, reason: `model: ${chosen.reason.trim().slice(0, REASON_CHARS)}` };
    const takenBy = base.target === null ? undefined : modelTargets.get(base.target);
    if (takenBy !== undefined) return { ...base, target: null, confidence: 0, reason: `ignore: the model gave ${base.target} to "${takenBy}"` };
    return base;
  });
  const ranked = [{ table: ranking.table, score: ranking.tableConfidence }, ...ranking.alternatives];
  return {
    table: answer.table,
    tableConfidence: answer.table_confidence,
    columns,
    alternatives: ranked.filter((alternative) => alternative.table !== answer.table).slice(0, 3),
  };
}

/** The deepest cause says what went wrong on the wire (`connect ECONNREFUSED …`), not `fetch failed`. */
function rootCause(error: Error): string {
  let cause = error;
  while (cause.cause instanceof Error) cause = cause.cause;
  return cause.message;
}

function describeFailure(error: unknown, timeoutMs: number): string {
  if (error instanceof UnusableAnswer) return error.message;
  if (error instanceof OpenAI.APIConnectionTimeoutError) return `no answer within ${timeoutMs / 1000} s`;
  if (error instanceof OpenAI.APIConnectionError) return `could not reach the endpoint (${rootCause(error)})`;
  if (error instanceof OpenAI.APIError) return `the endpoint answered HTTP ${error.message}`;
  return error instanceof Error ? error.message : String(error);
}

/**
 * A proposer that asks a chat model (any OpenAI-compatible endpoint) with a strict JSON schema for its answer,
 * giving it the catalog, the columns with a few samples, and the deterministic proposal as a starting point.
 * Whatever goes wrong (HTTP error, timeout, refusal, invalid JSON, schema mismatch, unknown or doubled
 * targets) yields the deterministic proposal, marked with `fallback.reason` and logged.
 */
export function llmProposer(options: LlmProposerOptions): MappingProposer {
  const client = new OpenAI({
    baseURL: options.baseURL,
    apiKey: options.apiKey,
    timeout: options.timeoutMs,
    maxRetries: options.maxRetries ?? 1,
    // Failures reach our log as fallback reasons; the client's own console output would bypass it.
    logLevel: 'off',
  });
  const endpoint = new URL(options.baseURL).host;

  async function ask(columns: SourceColumn[], baseline: ProposedMapping, tables: string[], tableHint?: string): Promise<Answer> {
    // The answer names columns by header, so two columns with one header could not be told apart.
    const headers = columns.map((column) => column.header);
    const repeated = headers.find((header, index) => headers.indexOf(header) !== index);
    if (repeated !== undefined) throw new UnusableAnswer(`the file has more than one column named "${repeated}", which the model's answer could not tell apart`);
    const schema = answerSchema(tables);
    const completion = await client.chat.completions.create({
      model: options.model,
      messages: buildMessages(columns, baseline, tables, options.maxSamples, tableHint),
      response_format: zodResponseFormat(schema, 'canonical_mapping'),
    });
    const answer = readAnswer(completion, schema);
    checkAgainstCatalog(answer, columns);
    return answer;
  }

  return {
    async propose(columns, proposeOptions = {}) {
      const baseline = await deterministicProposer.propose(columns, proposeOptions);
      const tables = proposeOptions.tableHint ? [proposeOptions.tableHint] : Object.keys(canonicalTables);
      const started = Date.now();
      let answer: Answer;
      try {
        answer = await ask(columns, baseline, tables, proposeOptions.tableHint);
      } catch (error) {
        const reason = describeFailure(error, options.timeoutMs);
        options.log?.warn({ endpoint, model: options.model, reason }, 'the model could not propose a mapping: using the deterministic proposal');
        return { ...baseline, fallback: { reason } };
      }
      options.log?.debug({ endpoint, model: options.model, table: answer.table, ms: Date.now() - started }, 'the model proposed a mapping');
      const forTable = answer.table === baseline.table ? baseline : await deterministicProposer.propose(columns, { ...proposeOptions, tableHint: answer.table });
      return mergeAnswer(answer, forTable, baseline);
    },
  };
}

/** The LLM proposer when `MAPPING_LLM_BASE_URL` is set, else the deterministic one. */
export function proposerFromConfig(config: Config, log?: Logger): MappingProposer {
  if (!config.MAPPING_LLM_BASE_URL) return deterministicProposer;
  if (!config.MAPPING_LLM_API_KEY) {
    throw new Error('MAPPING_LLM_BASE_URL is set but MAPPING_LLM_API_KEY is not: set the key (any value for a local server that needs none), or unset MAPPING_LLM_BASE_URL to propose mappings offline.');
  }
  return llmProposer({
    baseURL: config.MAPPING_LLM_BASE_URL,
    apiKey: config.MAPPING_LLM_API_KEY,
    model: config.MAPPING_LLM_MODEL,
    timeoutMs: config.MAPPING_LLM_TIMEOUT_SECONDS * 1000,
    maxSamples: config.MAPPING_LLM_MAX_SAMPLES,
    log,
  });
}
