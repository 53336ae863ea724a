import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIngestKey } from '../../core/ingest/keys.js';
import { startTestApp, type TestApp } from '../helpers/app.js';

/**
 * Bodies a till's flaky connection makes: cut off (Content-Length announces more than is sent, then the
 * client ends its side) and malformed JSON, to the single and the batch endpoint. Each is a 400 saying what
 * was wrong and what to do; nothing reaches bronze, and the next whole request is accepted.
 */
let app: TestApp;
let key: string;

beforeAll(async () => {
  app = await startTestApp({ INGEST_RATE_LIMIT_PER_SECOND: '1000', INGEST_RATE_LIMIT_BURST: '1000' });
  await app.system.db.prisma.business.create({ data: { name: 'Cut Retail' } });
  key = (await createIngestKey(app.system, { stores: ['STORE-001'] })).key;
}, 120_000);
afterAll(async () => app?.close());

const transaction = (id: string) => ({
  transaction_id: id,
  store_id: 'STORE-001',
  ts: '2026-12-07T18:30:00Z',
  total_amount: 5,
  items: [{ product_id: 'P-1', product_name: 'Croissant', qty: 2, unit_price: 2.5, line_amount: 5 }],
});

const events = async () => (await app.db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM ingest_events')).rows[0]!.n;

/**
 * Sends the head of a request and `sent` of a body whose Content-Length says `announced` bytes, then ends the
 * connection's sending side (FIN) and reads whatever the server answers before it closes.
 */
async function cutOff(pathname: string, sent: string, announced: number): Promise<{ status: number; body: Record<string, any> | null; raw: string }> {
  const { port } = new URL(app.url);
  const socket = net.connect(Number(port), '127.0.0.1');
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.on('error', () => undefined);
  socket.write(
    `POST /api/ingest/${pathname} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: Bearer ${key}\r\nContent-Type: application/json\r\nContent-Length: ${announced}\r\nConnection: close\r\n\r\n${sent}`,
  );
  socket.end();
  await closed;
  const raw = Buffer.concat(chunks).toString('utf8');
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(raw)?.[1] ?? 0);
  const text = raw.slice(raw.indexOf('\r\n\r\n') + 4);
  let body: Record<string, any> | null = null;
  try {
    body = JSON.parse(text) as Record<string, any>;
  } catch {
    body = null;
  }
  return { status, body, raw };
}

async function post(pathname: string, raw: string) {
  const response = await fetch(`${app.url}/api/ingest/${pathname}`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: raw });
  return { status: response.status, body: (await response.json()) as Record<string, any> };
}

describe('cut-off and malformed bodies to the ingest endpoints', () => {
  it.each([
    ['transactions', JSON.stringify(transaction('CUT-1'))],
    ['transactions:batch', JSON.stringify({ transactions: [transaction('CUT-2'), transaction('CUT-3')] })],
  ])('POST /api/ingest/%s cut off mid-body: 400 saying the body ended early, nothing stored', async (pathname, whole) => {
    const before = await events();
    const answer = await cutOff(pathname, whole.slice(0, Math.floor(whole.length / 2)), whole.length);
    expect(answer.status, answer.raw).toBe(400);
    expect(answer.body?.error, answer.raw).toMatchObject({ code: 'bad_request', message: expect.stringMatching(/ended before it was complete.*send it again/i) });
    expect(await events()).toBe(before);
    // The product keeps serving: the same transaction sent whole is accepted.
    const again = await post(pathname, whole);
    expect(again.status).toBeLessThan(300);
    expect(await events()).toBeGreaterThan(before);
  });

  it.each([
    ['transactions', '{"transaction_id": "BAD-1", "store_id": "STORE-001", '],
    ['transactions', '{"transaction_id": "BAD-1",, "store_id": "STORE-001"}'],
    ['transactions:batch', '{"transactions": [{"transaction_id": "BAD-2"}'],
    ['transactions:batch', "{'transactions': []}"],
  ])('POST /api/ingest/%s with malformed JSON %s: 400 naming the problem, nothing stored', async (pathname, raw) => {
    const before = await events();
    const answer = await post(pathname, raw);
    expect(answer.status).toBe(400);
    expect(answer.body.error).toMatchObject({ code: 'bad_request', message: expect.stringMatching(/^The request body is not valid JSON: .+/), details: [{ path: '(body)', reason: 'is not valid JSON' }] });
    expect(await events()).toBe(before);
  });
});
