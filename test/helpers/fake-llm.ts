import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';

/** What the fake answers to the next chat completion requests. */
export type FakeReply = { delayMs?: number } & (
  | { content: string; finishReason?: 'stop' | 'length' }
  | { refusal: string }
  | { status: number; message: string; type?: string; code?: string | null }
);

export interface RecordedRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: unknown;
}

export interface FakeLlm {
  /** The API root to give the client, like `https://api.openai.com/v1`. */
  baseURL: string;
  /** Every request received, answered or refused, in order. */
  requests: RecordedRequest[];
  /** Answer every later chat completion request with this. */
  reply(reply: FakeReply): void;
  close(): Promise<void>;
}

const messageSchema = z.looseObject({
  role: z.enum(['system', 'developer', 'user', 'assistant', 'tool']),
  content: z.union([z.string(), z.array(z.unknown())]).nullable(),
});

const responseFormatSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('text') }),
  z.object({ type: z.literal('json_object') }),
  z.object({
    type: z.literal('json_schema'),
    json_schema: z.object({
      name: z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/),
      description: z.string().optional(),
      schema: z.record(z.string(), z.unknown()).optional(),
      strict: z.boolean().nullable().optional(),
    }),
  }),
]);

const chatRequestSchema = z.looseObject({
  model: z.string().min(1),
  messages: z.array(messageSchema).min(1),
  response_format: responseFormatSchema.optional(),
});

type JsonSchema = Record<string, unknown>;

/**
 * OpenAI's strict mode accepts a subset of JSON Schema: the root is an object, and every object lists all
 * its properties as required and forbids others. Returns the first violation, worded as the API words it.
 */
function strictSchemaProblem(schema: JsonSchema, context: string[] = []): string | null {
  const where = `In context=(${context.map((part) => `'${part}'`).join(', ')})`;
  if (context.length === 0 && schema.type !== 'object') return `${where}, schema must be a JSON Schema of 'type: "object"', got 'type: "${String(schema.type)}"'.`;
  if (schema.type === 'object') {
    const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
    if (schema.additionalProperties !== false) return `${where}, 'additionalProperties' is required to be supplied and to be false.`;
    const required = Array.isArray(schema.required) ? (schema.required as string[]) : [];
    const missing = Object.keys(properties).filter((key) => !required.includes(key));
    if (missing.length) return `${where}, 'required' is required to be supplied and to be an array including every key in properties. Missing '${missing[0]}'.`;
    for (const [key, property] of Object.entries(properties)) {
      const problem = strictSchemaProblem(property, [...context, 'properties', key]);
      if (problem) return problem;
    }
  }
  if (schema.items && typeof schema.items === 'object') {
    const problem = strictSchemaProblem(schema.items as JsonSchema, [...context, 'items']);
    if (problem) return problem;
  }
  for (const [index, branch] of ((schema.anyOf ?? []) as JsonSchema[]).entries()) {
    const problem = strictSchemaProblem(branch, [...context, 'anyOf', String(index)]);
    if (problem) return problem;
  }
  for (const [name, definition] of Object.entries((schema.$defs ?? schema.definitions ?? {}) as Record<string, JsonSchema>)) {
    const problem = strictSchemaProblem(definition, [...context, '$defs', name]);
    if (problem) return problem;
  }
  return null;
}

function maskKey(key: string): string {
  return key.length > 8 ? `${key.slice(0, 3)}${'*'.repeat(key.length - 7)}${key.slice(-4)}` : '*'.repeat(key.length);
}

/**
 * A stand-in for an OpenAI-compatible chat completions endpoint on 127.0.0.1, following its contract:
 * `POST {baseURL}/chat/completions` with bearer auth, the request body checked (model, messages,
 * response_format, strict schemas), errors as `{ error: { message, type, param, code } }`, answers as
 * `chat.completion` objects. What it answers is scripted per test with `reply()`.
 */
export async function startFakeLlm(options: { apiKey: string; models: string[]; basePath?: string }): Promise<FakeLlm> {
  const basePath = options.basePath ?? '/v1';
  const requests: RecordedRequest[] = [];
  const pending = new Set<NodeJS.Timeout>();
  let scripted: FakeReply = { status: 500, message: 'The fake LLM has no reply scripted for this test.', type: 'server_error' };
  let served = 0;

  function send(res: http.ServerResponse, status: number, body: unknown) {
    res.writeHead(status, { 'content-type': 'application/json', 'x-request-id': `req_fake_${served}` });
    res.end(JSON.stringify(body));
  }
  function sendError(res: http.ServerResponse, status: number, message: string, type: string, code: string | null = null, param: string | null = null) {
    send(res, status, { error: { message, type, param, code } });
  }

  function answer(res: http.ServerResponse, model: string, promptChars: number, reply: FakeReply) {
    if ('status' in reply) return sendError(res, reply.status, reply.message, reply.type ?? 'server_error', reply.code ?? null);
    const message = 'refusal' in reply ? { role: 'assistant', content: null, refusal: reply.refusal, annotations: [] } : { role: 'assistant', content: reply.content, refusal: null, annotations: [] };
    const completionTokens = Math.ceil(('refusal' in reply ? reply.refusal : reply.content).length / 4);
    const promptTokens = Math.ceil(promptChars / 4);
    send(res, 200, {
      id: `chatcmpl-fake${served}`,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model,
      choices: [{ index: 0, message, logprobs: null, finish_reason: 'content' in reply ? (reply.finishReason ?? 'stop') : 'stop' }],
      usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens },
      service_tier: 'default',
      system_fingerprint: null,
    });
  }

  function handle(req: http.IncomingMessage, res: http.ServerResponse, raw: string) {
    served += 1;
    let body: unknown = raw;
    try {
      body = raw ? JSON.parse(raw) : undefined;
    } catch {
      // recorded as the raw text; refused below
    }
    const path = (req.url ?? '/').split('?')[0]!;
    requests.push({ method: req.method ?? '', path, headers: req.headers, body });

    if (req.method !== 'POST' || path !== `${basePath}/chat/completions`) {
      return sendError(res, 404, `Invalid URL (${req.method} ${path})`, 'invalid_request_error');
    }
    const authorization = req.headers.authorization;
    if (!authorization?.startsWith('Bearer ')) {
      return sendError(res, 401, "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).", 'invalid_request_error');
    }
    const key = authorization.slice('Bearer '.length);
    if (key !== options.apiKey) {
      return sendError(res, 401, `Incorrect API key provided: ${maskKey(key)}. You can find your API key at https://platform.openai.com/account/api-keys.`, 'invalid_request_error', 'invalid_api_key');
    }
    if (typeof body !== 'object' || body === null) {
      return sendError(res, 400, 'We could not parse the JSON body of your request.', 'invalid_request_error');
    }
    const parsed = chatRequestSchema.safeParse(body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      return sendError(res, 400, `Invalid '${issue.path.join('.')}': ${issue.message}`, 'invalid_request_error', 'invalid_value', String(issue.path[0] ?? ''));
    }
    const request = parsed.data;
    if (!options.models.includes(request.model)) {
      return sendError(res, 404, `The model \`${request.model}\` does not exist or you do not have access to it.`, 'invalid_request_error', 'model_not_found');
    }
    const format = request.response_format;
    if (format?.type === 'json_schema' && format.json_schema.strict) {
      const problem = format.json_schema.schema ? strictSchemaProblem(format.json_schema.schema) : 'a strict response format needs a schema.';
      if (problem) return sendError(res, 400, `Invalid schema for response_format '${format.json_schema.name}': ${problem}`, 'invalid_request_error', null, 'response_format');
    }

    const reply = scripted;
    const promptChars = request.messages.reduce((sum, message) => sum + JSON.stringify(message.content).length, 0);
    if (!reply.delayMs) return answer(res, request.model, promptChars, reply);
    const timer = setTimeout(() => {
      pending.delete(timer);
      if (!res.destroyed) answer(res, request.model, promptChars, reply);
    }, reply.delayMs);
    pending.add(timer);
    res.on('close', () => {
      clearTimeout(timer);
      pending.delete(timer);
    });
  }

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => handle(req, res, Buffer.concat(chunks).toString('utf8')));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    baseURL: `http://127.0.0.1:${port}${basePath}`,
    requests,
    reply(reply) {
      scripted = reply;
    },
    async close() {
      for (const timer of pending) clearTimeout(timer);
      pending.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
    },
  };
}
