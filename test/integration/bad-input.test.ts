import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminClient, apiClient, seedTenants, startTestApp, type Tenants, type TestApp } from '../helpers/app.js';

let app: TestApp;
let t: Tenants;
let api: Awaited<ReturnType<typeof apiClient>>;
let admin: Awaited<ReturnType<typeof adminClient>>;

beforeAll(async () => {
  app = await startTestApp();
  t = await seedTenants(app.system);
  api = await apiClient(app.url, t.users.admin.email);
  admin = await adminClient(app.url, t.users.admin.email);
});
afterAll(async () => app?.close());

/** A request as a client sends it: the path already percent-encoded, a JSON body for the API, a form for the admin. */
interface BadRequest {
  via: 'api' | 'admin';
  method: 'GET' | 'POST' | 'PATCH';
  path: string;
  body?: Record<string, unknown>;
  /** 400 for a query or body that does not fit; 422 where the records' contract says a field is invalid. */
  status: 400 | 422;
  /** What the message must name: the parameter or field and what is wrong with it. */
  says: RegExp;
}

const NUL = '\u0000';
const LONE_SURROGATE = '\ud800';
const pagedScreens = ['ProductCost', 'StagedSalesRow', 'StagedCostRow', 'Job', 'Product'];
const paging = [
  { query: 'page=1e300', says: /page.*whole number/i },
  { query: 'page=Infinity', says: /page.*whole number/i },
  { query: 'perPage=abc', says: /perPage.*whole number/i },
];

// Every case found by the probe (each a 500 with a request id), and their neighbours.
const cases: Record<string, BadRequest> = {
  ...Object.fromEntries(
    ['/api/products', '/api/jobs', '/api/audit-log'].flatMap((list) =>
      paging.map(({ query, says }) => [`REST ${list}?${query}`, { via: 'api', method: 'GET', path: `${list}?${query}`, status: 400, says }]),
    ),
  ),
  ...Object.fromEntries(
    pagedScreens.flatMap((screen) =>
      paging.map(({ query, says }) => [`admin ${screen} list ?${query}`, { via: 'admin', method: 'GET', path: `/admin/api/resources/${screen}/actions/list?${query}`, status: 400, says }]),
    ),
  ),
  'REST jobs filter with a NUL byte': { via: 'api', method: 'GET', path: '/api/jobs?queue=a%00b', status: 400, says: /queue.*NUL/ },
  'REST jobs filter with a lone surrogate': { via: 'api', method: 'GET', path: '/api/jobs?queue=%ED%A0%80', status: 400, says: /queue.*not valid UTF-8/ },
  'REST product name with a NUL byte': { via: 'api', method: 'POST', path: '/api/products', body: { name: `Bad${NUL}name`, sellingPriceCents: 100, businessId: '{businessA}' }, status: 400, says: /name.*NUL/ },
  'REST product name with a lone surrogate': { via: 'api', method: 'POST', path: '/api/products', body: { name: `Bad${LONE_SURROGATE}name`, sellingPriceCents: 100, businessId: '{businessA}' }, status: 400, says: /name.*surrogate/ },
  'REST product edit with a NUL byte': { via: 'api', method: 'PATCH', path: '/api/products/{productA}', body: { category: `x${NUL}` }, status: 400, says: /category.*NUL/ },
  'REST price in hexadecimal': { via: 'api', method: 'POST', path: '/api/products', body: { name: 'Hex price', sellingPriceCents: '0x10', businessId: '{businessA}' }, status: 400, says: /sellingPriceCents.*whole number/ },
  'REST price with an exponent': { via: 'api', method: 'POST', path: '/api/products', body: { name: 'Exp price', sellingPriceCents: '1e3', businessId: '{businessA}' }, status: 400, says: /sellingPriceCents.*whole number/ },
  'REST price with spaces around it': { via: 'api', method: 'POST', path: '/api/products', body: { name: 'Spaced price', sellingPriceCents: ' 16 ', businessId: '{businessA}' }, status: 400, says: /sellingPriceCents.*whole number/ },
  'REST price that is empty text': { via: 'api', method: 'POST', path: '/api/products', body: { name: 'Empty price', sellingPriceCents: '', businessId: '{businessA}' }, status: 400, says: /sellingPriceCents/ },
  'REST price that is true': { via: 'api', method: 'POST', path: '/api/products', body: { name: 'True price', sellingPriceCents: true, businessId: '{businessA}' }, status: 400, says: /sellingPriceCents/ },
  'admin list filter with a NUL byte': { via: 'admin', method: 'GET', path: '/admin/api/resources/Product/actions/list?filters.name=a%00b', status: 400, says: /filters\.name.*NUL/ },
  'admin list filter with a lone surrogate': { via: 'admin', method: 'GET', path: '/admin/api/resources/Product/actions/list?filters.name=%ED%A0%80', status: 400, says: /filters\.name.*not valid UTF-8/ },
  'admin staged rows filter with a NUL byte': { via: 'admin', method: 'GET', path: '/admin/api/resources/StagedSalesRow/actions/list?filters.productName=a%00b', status: 400, says: /filters\.productName.*NUL/ },
  'admin jobs filter with a NUL byte': { via: 'admin', method: 'GET', path: '/admin/api/resources/Job/actions/list?filters.queue=a%00b', status: 400, says: /filters\.queue.*NUL/ },
  'admin search with a NUL byte': { via: 'admin', method: 'GET', path: '/admin/api/resources/Product/search/a%00b', status: 400, says: /search.*NUL/ },
  'admin search with a lone surrogate': { via: 'admin', method: 'GET', path: '/admin/api/resources/Product/search/%ED%A0%80', status: 400, says: /not valid UTF-8/ },
  'admin search action with a page that is not a number': { via: 'admin', method: 'GET', path: '/admin/api/resources/Product/actions/search/Crois?page=Infinity', status: 400, says: /page.*whole number/i },
  'admin filter by a business that is no id': { via: 'admin', method: 'GET', path: '/admin/api/resources/Product/actions/list?filters.business=abc', status: 400, says: /filters\.business.*id/ },
  'admin filter by an unknown field': { via: 'admin', method: 'GET', path: '/admin/api/resources/Product/actions/list?filters.nope=1', status: 400, says: /filters\.nope.*no field/ },
  'admin browse filter by an unknown field': { via: 'admin', method: 'GET', path: '/admin/api/resources/ProductCost/actions/list?filters.nope=1', status: 400, says: /filters\.nope.*no field/ },
  'admin jobs filter by an unknown field': { via: 'admin', method: 'GET', path: '/admin/api/resources/Job/actions/list?filters.nope=1', status: 400, says: /filters\.nope.*no field/ },
};

const fill = (text: string) => text.replace('{businessA}', t.businessA).replace('{productA}', t.productA);

describe('bad input is a 4xx that says what is wrong, never a 500', () => {
  it.each(Object.entries(cases))('%s', async (_name, request) => {
    const body = request.body && Object.fromEntries(Object.entries(request.body).map(([key, value]) => [key, typeof value === 'string' ? fill(value) : value]));
    const res =
      request.via === 'api'
        ? await api.call(request.method, fill(request.path), body)
        : await admin.call(request.method, fill(request.path), body as Record<string, string> | undefined);
    expect({ status: res.status, body: res.body }).toMatchObject({ status: request.status, body: { error: { code: request.status === 400 ? 'bad_request' : 'validation_failed', message: expect.stringMatching(request.says) } } });
  });

  it('the admin\'s product form with a NUL byte in the name shows it on the field, as forms show errors, and stores nothing', async () => {
    const res = await admin.call('POST', '/admin/api/resources/Product/actions/new', { name: `Bad${NUL}form`, sellingPriceCents: '100', business: t.businessA });
    expect(res.status).toBe(200);
    expect(res.body!.notice).toMatchObject({ type: 'error', message: expect.stringMatching(/name holds a NUL character/) });
    expect(res.body!.record.errors.name.message).toMatch(/NUL character/);
  });

  it('nothing was written by the refused requests', async () => {
    expect(await app.db.prisma.product.count({ where: { name: { in: ['Hex price', 'Exp price', 'Spaced price', 'Empty price', 'True price'] } } })).toBe(0);
    expect(await app.db.prisma.product.count({ where: { name: { startsWith: 'Bad' } } })).toBe(0);
    expect((await app.db.prisma.product.findUniqueOrThrow({ where: { id: t.productA } })).category).toBeNull();
  });

  it('the right values still go through: decimal digits for a price, pages past the end, filters that fit', async () => {
    const created = await api.call('POST', '/api/products', { name: 'Digits price', sellingPriceCents: '1250', costPriceCents: 400, businessId: t.businessA });
    expect(created.status).toBe(201);
    expect(created.body!.data.sellingPriceCents).toBe(1250);
    const pastTheEnd = await api.call('GET', '/api/products?page=1000000&perPage=500');
    expect(pastTheEnd).toMatchObject({ status: 200, body: { data: [], meta: { page: 1000000, perPage: 500 } } });
    for (const screen of pagedScreens) {
      expect((await admin.call('GET', `/admin/api/resources/${screen}/actions/list?page=3&perPage=20`)).status).toBe(200);
    }
    const filtered = await admin.call('GET', `/admin/api/resources/Product/actions/list?filters.business=${t.businessA}&filters.name=Crois`);
    expect(filtered.status).toBe(200);
    expect(filtered.body!.records.map((r: { params: { name: string } }) => r.params.name)).toEqual(['Croissant']);
    expect((await admin.call('GET', '/admin/api/resources/Product/search/Crois')).status).toBe(200);
  });
});
