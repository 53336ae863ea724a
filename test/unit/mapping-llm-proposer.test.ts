import OpenAI from 'openai';
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { canonicalTables } from '../../core/mapping/canonical.js';
import { llmProposer, proposerFromConfig, type LlmProposerOptions } from '../../core/mapping/llm-proposer.js';
import { deterministicProposer, type SourceColumn } from '../../core/mapping/propose.js';
import { loadConfig } from '../../core/config.js';
import { startFakeLlm, type FakeLlm, type FakeReply } from '../helpers/fake-llm.js';
import { freePort } from '../helpers/net.js';

const API_KEY = 'sk-test-7Qm2xVb9LrT4pZs8NwKd3HcY';
const MODEL = 'mapper-test-1';

/** A German ERP customer export: one column has many values, one has values longer than any sample may be. */
const columns: SourceColumn[] = [
  { header: 'Kundennummer', samples: ['K-10001', 'K-10002', 'K-10003', 'K-10004', 'K-10005', 'K-10006', 'K-10007', 'K-10008'] },
  { header: 'Kundenname', samples: ['Müller GmbH', 'Schmidt AG', 'Bäckerei Hof'] },
  { header: 'E-Mail', samples: ['info@mueller.de', 'kontakt@schmidt.de', 'hof@web.de'] },
  { header: 'Telefon', samples: ['+49 30 1234567', '+49 89 7654321', '030 2222222'] },
  { header: 'Ort', samples: ['Berlin', 'München', 'Hamburg'] },
  { header: 'Land', samples: ['DE', 'DE', 'AT', 'DE', 'DE'] },
  { header: 'Bemerkung', samples: ['Liefert nur dienstags, bitte vorher im Büro anrufen und nach Frau Weber fragen', '', 'Stammkunde seit 1998'] },
];

const validAnswer = {
  table: 'customers',
  table_confidence: 0.93,
  columns: [
    { source: 'Kundennummer', target: 'customer_ref', confidence: 0.97, reason: 'German for customer number' },
    { source: 'Kundenname', target: 'name', confidence: 0.95, reason: 'German for customer name' },
    { source: 'E-Mail', target: 'email', confidence: 0.99, reason: 'values are email addresses' },
    { source: 'Telefon', target: 'phone', confidence: 0.9, reason: 'German for phone' },
    { source: 'Ort', target: 'city', confidence: 0.88, reason: 'German for town' },
    { source: 'Bemerkung', target: null, confidence: 0.8, reason: 'a free-text remark' },
  ],
};

const json = (value: unknown): FakeReply => ({ content: JSON.stringify(value) });
const withColumns = (answerColumns: unknown[]) => ({ ...validAnswer, columns: answerColumns });

function captureLog() {
  const lines: string[] = [];
  const log = pino({ level: 'trace' }, { write: (line: string) => void lines.push(line) });
  return { log, lines };
}

let fake: FakeLlm;
beforeAll(async () => {
  fake = await startFakeLlm({ apiKey: API_KEY, models: [MODEL] });
});
afterAll(() => fake.close());
beforeEach(() => {
  fake.requests.length = 0;
});

function proposer(overrides: Partial<LlmProposerOptions> = {}) {
  return llmProposer({ baseURL: fake.baseURL, apiKey: API_KEY, model: MODEL, timeoutMs: 5000, maxSamples: 2, maxRetries: 0, ...overrides });
}

describe('a valid answer', () => {
  it('is used: the model’s targets, confidences and reasons; columns it left out keep the deterministic choice', async () => {
    fake.reply(json(validAnswer));
    const baseline = await deterministicProposer.propose(columns);
    const result = await proposer().propose(columns);

    expect(result.fallback).toBeUndefined();
    expect(result.table).toBe('customers');
    expect(result.tableConfidence).toBe(0.93);
    const bySource = new Map(result.columns.map((column) => [column.source, column]));
    for (const answered of validAnswer.columns) {
      expect(bySource.get(answered.source)).toMatchObject({ target: answered.target, confidence: answered.confidence, reason: `model: ${answered.reason}` });
    }
    // "Land" was left out by the model: the deterministic proposer's column, unchanged.
    expect(bySource.get('Land')).toEqual(baseline.columns.find((column) => column.source === 'Land'));
    expect(bySource.get('Land')!.target).toBe('country');
    expect(result.columns.map((column) => column.source)).toEqual(columns.map((column) => column.header));
    expect(result.columns.map((column) => column.kind)).toEqual(baseline.columns.map((column) => column.kind));
    expect(result.alternatives).toEqual(baseline.alternatives);
  });

  it('may choose another table: left-out columns then keep the deterministic choice for that table, and the first guess becomes an alternative', async () => {
    fake.reply(json({ table: 'suppliers', table_confidence: 0.6, columns: [{ source: 'Kundenname', target: 'name', confidence: 0.7, reason: 'a company name' }] }));
    const baseline = await deterministicProposer.propose(columns);
    const forSuppliers = await deterministicProposer.propose(columns, { tableHint: 'suppliers' });
    const result = await proposer().propose(columns);

    expect(result.table).toBe('suppliers');
    expect(result.columns.find((column) => column.source === 'Kundenname')).toMatchObject({ target: 'name', reason: 'model: a company name' });
    for (const column of result.columns.filter((c) => c.source !== 'Kundenname')) {
      expect(column).toEqual(forSuppliers.columns.find((c) => c.source === column.source));
    }
    expect(result.alternatives[0]).toEqual({ table: baseline.table, score: baseline.tableConfidence });
    expect(result.alternatives.map((alternative) => alternative.table)).not.toContain('suppliers');
  });

  it('wins over a left-out column’s deterministic choice of the same target, which is then ignored', async () => {
    fake.reply(json(withColumns([{ source: 'Bemerkung', target: 'city', confidence: 0.4, reason: 'mentions places' }])));
    const result = await proposer().propose(columns);

    expect(result.columns.find((column) => column.source === 'Bemerkung')).toMatchObject({ target: 'city', confidence: 0.4 });
    expect(result.columns.find((column) => column.source === 'Ort')).toMatchObject({ target: null, confidence: 0, reason: 'ignore: the model gave city to "Bemerkung"' });
    const targets = result.columns.map((column) => column.target).filter((target) => target !== null);
    expect(new Set(targets).size).toBe(targets.length);
  });
});

describe('the request', () => {
  it('carries the key as bearer auth, the model, a strict JSON schema, the catalog, the starting point and at most MAX_SAMPLES truncated samples per column', async () => {
    fake.reply(json(validAnswer));
    const baseline = await deterministicProposer.propose(columns);
    await proposer({ maxSamples: 2 }).propose(columns);

    expect(fake.requests).toHaveLength(1);
    const [request] = fake.requests;
    expect(request!.method).toBe('POST');
    expect(request!.path).toBe('/v1/chat/completions');
    expect(request!.headers.authorization).toBe(`Bearer ${API_KEY}`);
    const body = request!.body as { model: string; messages: { role: string; content: string }[]; response_format: { type: string; json_schema: { name: string; strict: boolean; schema: any } } };
    expect(body.model).toBe(MODEL);
    expect(body.response_format.type).toBe('json_schema');
    expect(body.response_format.json_schema.strict).toBe(true);
    const schema = body.response_format.json_schema.schema;
    expect(schema.required).toEqual(['table', 'table_confidence', 'columns']);
    expect(schema.additionalProperties).toBe(false);
    expect(schema.properties.table.enum).toEqual(Object.keys(canonicalTables));
    expect(schema.properties.columns.items.required).toEqual(['source', 'target', 'confidence', 'reason']);

    const system = body.messages.find((message) => message.role === 'system')!.content;
    for (const table of Object.keys(canonicalTables)) expect(system).toContain(`- ${table}: `);
    expect(system).toContain('customer_ref (identifier or integer; headers like customer_id');

    const user = JSON.parse(body.messages.find((message) => message.role === 'user')!.content);
    expect(user.source_columns.map((column: { header: string }) => column.header)).toEqual(columns.map((column) => column.header));
    for (const column of user.source_columns as { samples: string[] }[]) {
      expect(column.samples.length).toBeLessThanOrEqual(2);
      for (const sample of column.samples) expect(sample.length).toBeLessThanOrEqual(41);
    }
    expect(user.source_columns[0].samples).toEqual(['K-10001', 'K-10002']);
    expect(user.source_columns[6].samples).toEqual(['Liefert nur dienstags, bitte vorher im B…', 'Stammkunde seit 1998']);
    expect(user.starting_point.table).toBe(baseline.table);
    expect(user.starting_point.columns).toEqual(baseline.columns.map(({ source, target, confidence, reason }) => ({ source, target, confidence, reason })));
  });

  it('sends headers only when MAX_SAMPLES is 0, and restricts the schema to the table the caller fixed', async () => {
    fake.reply(json({ table: 'customers', table_confidence: 1, columns: [] }));
    await proposer({ maxSamples: 0 }).propose(columns, { tableHint: 'customers' });

    const body = fake.requests[0]!.body as { messages: { role: string; content: string }[]; response_format: { json_schema: { schema: any } } };
    const user = JSON.parse(body.messages.find((message) => message.role === 'user')!.content);
    expect(user.table).toBe('customers');
    expect(user.source_columns.every((column: { samples: string[] }) => column.samples.length === 0)).toBe(true);
    expect(body.response_format.json_schema.schema.properties.table.enum).toEqual(['customers']);
  });
});

describe('an answer that cannot be used falls back to exactly the deterministic proposal, with the reason', () => {
  const cases: [name: string, reply: FakeReply, reason: RegExp][] = [
    ['invalid JSON', { content: '{"table": "customers", "columns": [' }, /^the answer is not JSON/],
    ['JSON that breaks the schema', json({ table: 'customers', columns: [{ source: 'Ort', target: 'city', confidence: 1.7, reason: 'town' }] }), /^the answer does not match the schema \(.*table_confidence.*columns\.0\.confidence/],
    ['a table the catalog does not have', json({ ...validAnswer, table: 'clients' }), /^the answer does not match the schema \(table: /],
    ['a target the catalog does not have', json(withColumns([{ source: 'E-Mail', target: 'email_address', confidence: 0.9, reason: 'emails' }])), /^the answer does not match the schema \(columns\.0\.target: /],
    ['a target of another table', json(withColumns([{ source: 'E-Mail', target: 'order_date', confidence: 0.9, reason: 'a date' }])), /^"order_date" \(for "E-Mail"\) is not a column of customers$/],
    ['the same target twice', json(withColumns([{ source: 'Kundenname', target: 'email', confidence: 0.5, reason: 'x' }, { source: 'E-Mail', target: 'email', confidence: 0.9, reason: 'y' }])), /^the answer maps both "Kundenname" and "E-Mail" to customers\.email$/],
    ['a column the file does not have', json(withColumns([{ source: 'Kundennr', target: 'customer_ref', confidence: 0.9, reason: 'x' }])), /^the answer names a column the file does not have: "Kundennr"$/],
    ['the same column twice', json(withColumns([{ source: 'Ort', target: 'city', confidence: 0.9, reason: 'x' }, { source: 'Ort', target: null, confidence: 0.1, reason: 'y' }])), /^the answer maps column "Ort" twice$/],
    ['a refusal', { refusal: "I'm sorry, I can't help with that." }, /^the model refused: I'm sorry/],
    ['an answer cut off at the token limit', { content: '{"table": "customers", "table_conf', finishReason: 'length' }, /^the answer was cut off/],
    ['HTTP 500', { status: 500, message: 'The server had an error while processing your request.', type: 'server_error' }, /^the endpoint answered HTTP 500 The server had an error/],
    ['HTTP 429', { status: 429, message: 'Rate limit reached for requests', type: 'requests', code: 'rate_limit_exceeded' }, /^the endpoint answered HTTP 429 Rate limit reached/],
    ['no answer within the timeout', { ...json(validAnswer), delayMs: 3000 }, /^no answer within 0\.3 s$/],
  ];

  it.each(cases)('%s', async (_name, reply, reason) => {
    fake.reply(reply);
    const { log, lines } = captureLog();
    const baseline = await deterministicProposer.propose(columns);
    const result = await proposer({ timeoutMs: 300, log }).propose(columns);

    expect(result).toEqual({ ...baseline, fallback: { reason: expect.stringMatching(reason) } });
    expect(fake.requests).toHaveLength(1);
    const warnings = lines.map((line) => JSON.parse(line)).filter((entry) => entry.level === 40);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ reason: result.fallback!.reason, model: MODEL, endpoint: new URL(fake.baseURL).host });
  });

  it('a wrong API key (401), an unknown model (404) and an endpoint that is down', async () => {
    fake.reply(json(validAnswer));
    const baseline = await deterministicProposer.propose(columns);
    const wrongKey = await proposer({ apiKey: 'sk-wrong-key-0000' }).propose(columns);
    expect(wrongKey).toEqual({ ...baseline, fallback: { reason: expect.stringMatching(/^the endpoint answered HTTP 401 Incorrect API key provided/) } });
    const unknownModel = await proposer({ model: 'no-such-model' }).propose(columns);
    expect(unknownModel.fallback?.reason).toMatch(/^the endpoint answered HTTP 404 The model `no-such-model` does not exist/);
    const down = await proposer({ baseURL: `http://127.0.0.1:${await freePort()}/v1` }).propose(columns);
    expect(down).toEqual({ ...baseline, fallback: { reason: expect.stringMatching(/^could not reach the endpoint \(connect ECONNREFUSED 127\.0\.0\.1:\d+\)$/) } });
  });

  it('two columns with one header cannot be told apart in an answer, so the model is not asked', async () => {
    fake.reply(json(validAnswer));
    const doubled = [...columns, { header: 'Ort', samples: ['Wien'] }];
    const result = await proposer().propose(doubled);
    expect(result).toEqual({ ...(await deterministicProposer.propose(doubled)), fallback: { reason: 'the file has more than one column named "Ort", which the model\'s answer could not tell apart' } });
    expect(fake.requests).toHaveLength(0);
  });
});

describe('the API key', () => {
  it('never appears in the logs, whether the answer is used, refused by the server or fails', async () => {
    const { log, lines } = captureLog();
    const replies: FakeReply[] = [json(validAnswer), { status: 500, message: 'boom', type: 'server_error' }, { content: 'not json' }];
    for (const reply of replies) {
      fake.reply(reply);
      await proposer({ log }).propose(columns);
    }
    await proposer({ log, apiKey: `${API_KEY}-revoked` }).propose(columns);
    expect(lines.length).toBe(4);
    expect(lines.join('\n')).toContain('the model proposed a mapping');
    expect(lines.join('\n')).toContain('HTTP 401 Incorrect API key provided');
    for (const line of lines) expect(line).not.toContain(API_KEY);
  });
});

describe('the fake endpoint', () => {
  it('refuses, as the real API does, a strict schema that does not list every property as required', async () => {
    const client = new OpenAI({ baseURL: fake.baseURL, apiKey: API_KEY, maxRetries: 0, logLevel: 'off' });
    const loose = { type: 'object', properties: { table: { type: 'string' }, note: { type: 'string' } }, required: ['table'], additionalProperties: false };
    const request = client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'hi' }], response_format: { type: 'json_schema', json_schema: { name: 'answer', strict: true, schema: loose } } });
    await expect(request).rejects.toMatchObject({ status: 400, message: expect.stringContaining("Missing 'note'") });
  });
});

describe('proposerFromConfig', () => {
  it('is the deterministic proposer when no endpoint is configured', () => {
    expect(proposerFromConfig(loadConfig({}))).toBe(deterministicProposer);
  });

  it('refuses an endpoint without a key, naming the variable', () => {
    expect(() => proposerFromConfig(loadConfig({ MAPPING_LLM_BASE_URL: fake.baseURL }))).toThrow(/MAPPING_LLM_API_KEY/);
  });

  it('is the LLM proposer with the configured endpoint, key, model and sample limit', async () => {
    fake.reply(json(validAnswer));
    const config = loadConfig({ MAPPING_LLM_BASE_URL: fake.baseURL, MAPPING_LLM_API_KEY: API_KEY, MAPPING_LLM_MODEL: MODEL, MAPPING_LLM_MAX_SAMPLES: '1' });
    const result = await proposerFromConfig(config).propose(columns);

    expect(result.fallback).toBeUndefined();
    expect(result.columns[0]!.reason).toBe('model: German for customer number');
    const request = fake.requests[0]!;
    expect(request.headers.authorization).toBe(`Bearer ${API_KEY}`);
    const user = JSON.parse((request.body as { messages: { role: string; content: string }[] }).messages[1]!.content);
    expect(user.source_columns.every((column: { samples: string[] }) => column.samples.length <= 1)).toBe(true);
  });

  it('uses the configured timeout, retrying once before it falls back', async () => {
    fake.reply({ ...json(validAnswer), delayMs: 5000 });
    const config = loadConfig({ MAPPING_LLM_BASE_URL: fake.baseURL, MAPPING_LLM_API_KEY: API_KEY, MAPPING_LLM_MODEL: MODEL, MAPPING_LLM_TIMEOUT_SECONDS: '1' });
    const started = Date.now();
    const result = await proposerFromConfig(config).propose(columns);

    expect(result.fallback).toEqual({ reason: 'no answer within 1 s' });
    expect(fake.requests).toHaveLength(2);
    expect(Date.now() - started).toBeLessThan(4500);
  });
});
