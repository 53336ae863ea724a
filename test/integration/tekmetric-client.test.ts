import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { startFakeTekmetric, type FakeTekmetric, type FakeTekmetricOptions } from '../../core/demo/fake-tekmetric/index.js';
import { closeDb, connectDb, sqlOf } from '../../core/db/index.js';
import { tmCustomer, tmEmployee, tmRepairOrder } from '../../core/tekmetric/api-types.js';
import { createTekmetricClient, forgetTekmetricTokens, TekmetricError, type TekmetricClientOptions } from '../../core/tekmetric/client.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

let database: TestDatabase;
const fakes: FakeTekmetric[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
});
afterEach(async () => {
  await Promise.all(fakes.splice(0).map((fake) => fake.close()));
  forgetTekmetricTokens();
});
afterAll(async () => database?.drop());

async function fake(options: FakeTekmetricOptions = {}): Promise<FakeTekmetric> {
  const started = await startFakeTekmetric({ repairOrdersPerShop: 250, seed: 7, ...options });
  fakes.push(started);
  return started;
}

function clientOf(server: FakeTekmetric, options: Partial<TekmetricClientOptions> = {}, secret = server.clientSecret) {
  return createTekmetricClient({ baseUrl: server.url, clientId: server.clientId, clientSecret: secret }, { query: sqlOf(database.db.pool), requestsPerMinute: Infinity, backoffBaseMs: 20, ...options });
}

async function failureOf(promise: Promise<unknown>): Promise<TekmetricError> {
  const error = await promise.then(
    () => null,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(TekmetricError);
  return error as TekmetricError;
}

describe('Tekmetric client', () => {
  it('gets a token with Basic auth and a form body, reads the shops of its scope, and shares the token between clients', async () => {
    const server = await fake({ shops: 3, scopeShopIds: [6212, 6214] });
    const client = clientOf(server);
    expect(await client.scopeShopIds()).toEqual([6212, 6214]);
    expect((await client.shops()).map((shop) => [shop.id, shop.name])).toEqual([
      [6212, 'JJ Auto'],
      [6214, 'Lakeview Tire & Service'],
    ]);
    const second = clientOf(server);
    await second.get('/shops/6212', z.unknown());
    expect(server.stats.tokensIssued).toBe(1);

    // A shop outside the scope is a 403, typed as a scope failure; an unknown record a 404.
    const denied = await failureOf(client.get('/shops/6213', z.unknown()));
    expect(denied).toMatchObject({ failure: 'scope', upstreamStatus: 403, code: 'forbidden' });
    const missing = await failureOf(client.get('/repair-orders/1', tmRepairOrder));
    expect(missing).toMatchObject({ failure: 'not_found', upstreamStatus: 404, code: 'not_found' });

    const wrong = await failureOf(clientOf(server, {}, 'not-the-secret').shops());
    expect(wrong).toMatchObject({ failure: 'auth', upstreamStatus: 401 });
    expect(wrong.message).toContain('TEKMETRIC_CLIENT_SECRET');
  });

  it('pages through every page to the last one, 100 at a time', async () => {
    const server = await fake({ shops: 2 });
    const client = clientOf(server);
    const expected = server.shops[1]!.repairOrders.filter((order) => !order.deletedDate).map((order) => order.id);
    const seen: number[] = [];
    const pages: { page: number; items: number; totalPages: number }[] = [];
    for await (const page of client.pages('/repair-orders', { shop: 6213 }, tmRepairOrder)) {
      seen.push(...page.items.map((order) => order.id));
      pages.push({ page: page.page, items: page.items.length, totalPages: page.totalPages });
      expect(page.totalElements).toBe(expected.length);
    }
    expect(seen).toEqual(expected);
    const totalPages = Math.ceil(expected.length / 100);
    expect(pages.map((page) => page.page)).toEqual(Array.from({ length: totalPages }, (_, index) => index));
    expect(pages.at(-1)!.items).toBe(expected.length - (totalPages - 1) * 100);
    expect(server.stats.byRoute['GET /api/v1/repair-orders']).toBe(totalPages);

    // Filters are passed through: the deleted ones come from their own call (a deleted-date filter).
    const deleted: number[] = [];
    for await (const page of client.pages('/repair-orders', { shop: 6213, deletedDateStart: '2000-01-01', updatedDateStart: '2000-01-01' }, tmRepairOrder)) deleted.push(...page.items.map((order) => order.id));
    expect(deleted).toEqual(server.shops[1]!.repairOrders.filter((order) => order.deletedDate).map((order) => order.id));
    expect(deleted.length).toBeGreaterThan(0);

    // An empty list is one empty page.
    const empty = [];
    for await (const page of client.pages('/customers', { shop: 6212, updatedDateStart: '2999-01-01' }, tmCustomer)) empty.push(page);
    expect(empty).toEqual([{ items: [], page: 0, totalPages: 0, totalElements: 0 }]);
  });

  it('backs off on a 429 with an empty body and gets every answer', async () => {
    const server = await fake({ shops: 1, requestsPerMinute: 120, burst: 2 });
    const client = clientOf(server, { maxAttempts: 10 });
    const ids = server.shops[0]!.repairOrders.slice(0, 6).map((order) => order.id);
    const orders = await Promise.all(ids.map((id) => client.get(`/repair-orders/${id}`, tmRepairOrder)));
    expect(orders.map((order) => order.id)).toEqual(ids);
    expect(server.stats.throttled).toBeGreaterThan(0);
    expect(client.stats.throttled).toBe(server.stats.throttled);
    expect(client.stats.retries).toBeGreaterThanOrEqual(server.stats.throttled);
  });

  it('retries a 5xx, and after its attempts says the server failed', async () => {
    const server = await fake({ shops: 1 });
    const client = clientOf(server, { maxAttempts: 3 });
    const id = server.shops[0]!.repairOrders[0]!.id;
    await client.get(`/repair-orders/${id}`, tmRepairOrder); // the token first
    server.failNext(2, 502);
    expect((await client.get(`/repair-orders/${id}`, tmRepairOrder)).id).toBe(id);
    expect(client.stats.retries).toBe(2);

    server.failNext(3, 503);
    const failure = await failureOf(client.get(`/repair-orders/${id}`, tmRepairOrder));
    expect(failure).toMatchObject({ failure: 'server', upstreamStatus: 503, code: 'unavailable' });
    expect(server.stats.serverErrors).toBe(5);
  });

  it('on a 401 gets a new token and tries once more', async () => {
    const server = await fake({ shops: 1 });
    const client = clientOf(server);
    const id = server.shops[0]!.repairOrders[0]!.id;
    await client.get(`/repair-orders/${id}`, tmRepairOrder);
    server.revokeTokens();
    expect((await client.get(`/repair-orders/${id}`, tmRepairOrder)).id).toBe(id);
    expect(server.stats.tokensIssued).toBe(2);
    expect(server.stats.byRoute['GET /api/v1/repair-orders/{id}']).toBe(3);
    expect(client.stats.retries).toBe(0);
  });

  it('gives up on a request that takes too long, and retries it', async () => {
    const server = await fake({ shops: 1 });
    const client = clientOf(server, { timeoutMs: 300, maxAttempts: 2 });
    await client.shops();
    server.delayNext(1, 3000);
    expect((await client.get('/employees?shop=6212', z.unknown())) as object).toHaveProperty('content');
    expect(client.stats.retries).toBe(1);

    server.delayNext(2, 3000);
    const failure = await failureOf(client.get('/employees?shop=6212', z.unknown()));
    expect(failure).toMatchObject({ failure: 'timeout', code: 'unavailable' });
    expect(failure.message).toContain('300 ms');
  });

  it('keeps fields the contract does not list, and names the record and field of a listed one that is wrong', async () => {
    const server = await fake({ shops: 1 });
    const client = clientOf(server);
    const order = server.shops[0]!.repairOrders[3]!;
    Object.assign(order, { leadSource: { id: 4, name: 'Google' }, inspectionUrl: 'https://fake.tekmetric.local/inspection/1' });
    const read = await client.get(`/repair-orders/${order.id}`, tmRepairOrder);
    expect(read).toMatchObject({ id: order.id, totalSales: order.totalSales, estimateUrl: order.estimateUrl, leadSource: { id: 4, name: 'Google' }, inspectionUrl: 'https://fake.tekmetric.local/inspection/1' });
    expect(read.jobs).toHaveLength(order.jobs.length);

    const employee = server.shops[0]!.employees[0]!;
    Object.assign(employee, { createdDate: 'yesterday' });
    const failure = await failureOf(client.get(`/employees/${employee.id}`, tmEmployee));
    expect(failure.failure).toBe('invalid_response');
    expect(failure.message).toContain(`id ${employee.id}`);
    expect(failure.message).toContain('createdDate');
  });

  it('two clients with the same credentials, on two pools, share the limit: the fake enforcing it sends no 429', async () => {
    const server = await fake({ shops: 2, requestsPerMinute: 600, burst: 5 });
    const pools = [connectDb(database.url, 2), connectDb(database.url, 2)];
    try {
      const clients = pools.map((db) => createTekmetricClient({ baseUrl: server.url, clientId: server.clientId, clientSecret: server.clientSecret }, { query: sqlOf(db.pool), requestsPerMinute: 600, backoffBaseMs: 20 }));
      const work = clients.map(async (client, index) => {
        const ids = server.shops[index]!.repairOrders.slice(0, 20).map((order) => order.id);
        for (const id of ids) expect((await client.get(`/repair-orders/${id}`, tmRepairOrder)).id).toBe(id);
        return client.stats;
      });
      const stats = await Promise.all(work);
      expect(server.stats.throttled).toBe(0);
      expect(stats.map((one) => one.throttled)).toEqual([0, 0]);
      expect(server.stats.requests).toBe(41);
    } finally {
      await Promise.all(pools.map((db) => closeDb(db)));
    }
  });
});
