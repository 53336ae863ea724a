import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { FakeDataset, type DatasetOptions, type FakeShop } from './dataset.js';

export { FakeDataset, recalculate, statuses, type AdvanceSummary, type FakeShop, type FakeTechnician } from './dataset.js';

/**
 * A stand-in for Tekmetric's partner API on 127.0.0.1, following ../shared/TEKMETRIC_API.md: the
 * client-credentials token (Basic auth, form body, `scope` listing the shop ids), bearer auth (401 with an
 * empty body on an unknown token), 403 for a shop outside the scope, Spring pages (`page` zero-based, `size`
 * at most 100, larger silently cut), the incremental filters, and the plan's rate limit answered with an
 * empty-body 429. Tests script failures (5xx, slow answers, revoked tokens) through the handle.
 */
export interface FakeTekmetricOptions extends DatasetOptions {
  clientId?: string;
  clientSecret?: string;
  /** The shop ids the credentials' token may read (default: every shop). */
  scopeShopIds?: number[];
  /** Enforce the plan's limit: a token bucket refilled at this rate per minute (default: no limit). */
  requestsPerMinute?: number;
  /** How many requests may come at once before the rate applies (default: one second's worth). */
  burst?: number;
  /** Answer this share of API requests (0-1) with a 5xx at random. */
  serverErrorRate?: number;
  port?: number;
}

export interface FakeTekmetricStats {
  /** Every request received, the refused ones too. */
  requests: number;
  /** Requests answered 429. */
  throttled: number;
  /** 5xx answers, injected or scripted. */
  serverErrors: number;
  tokensIssued: number;
  /** Requests per path pattern (`GET /api/v1/repair-orders`). */
  byRoute: Record<string, number>;
}

export interface FakeTekmetric {
  /** The base URL to give the client (no `/api/v1`). */
  url: string;
  clientId: string;
  clientSecret: string;
  /** The shops, with what the API does not say (time zone, technicians' pay, tax and labor rates). */
  shops: FakeShop[];
  data: FakeDataset;
  stats: FakeTekmetricStats;
  /** Changes the enforced limit (undefined: none). */
  setRequestsPerMinute(requestsPerMinute: number | undefined, burst?: number): void;
  /** Answers the next `count` API requests (not token requests) with `status` (default 503). */
  failNext(count: number, status?: number): void;
  /** Holds the next `count` API requests for `ms` before answering. */
  delayNext(count: number, ms: number): void;
  /** Forgets every token issued: the next API request with one gets a 401. */
  revokeTokens(): void;
  /** Lets `minutes` pass upstream (see `FakeDataset.advance`). */
  advance(minutes?: number): ReturnType<FakeDataset['advance']>;
  close(): Promise<void>;
}

const PREFIX = '/api/v1';

interface Bucket {
  tokens: number;
  at: number;
}

interface Filters {
  url: URL;
}

function isoBound(value: string | null, end: boolean): number | undefined {
  if (!value) return undefined;
  // A plain date covers the whole day (UTC): as an end bound, up to its last millisecond.
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) return Date.parse(`${value}T00:00:00Z`) + (end ? 86_400_000 - 1 : 0);
  const parsed = Date.parse(value);
  if (Number.isNaN(parsed)) throw new BadRequest(`Invalid date: ${value}`);
  return parsed;
}

class BadRequest extends Error {}

function within(value: string | null | undefined, start: number | undefined, end: number | undefined): boolean {
  if (start === undefined && end === undefined) return true;
  if (!value) return false;
  const at = Date.parse(value);
  return (start === undefined || at >= start) && (end === undefined || at <= end);
}

/** The date filters every incremental list takes; `deleted` filters return only deleted records. */
function dateFilter<T extends { updatedDate?: string | null; deletedDate?: string | null }>({ url }: Filters, deletable: boolean): (record: T) => boolean {
  const updatedStart = isoBound(url.searchParams.get('updatedDateStart'), false);
  const updatedEnd = isoBound(url.searchParams.get('updatedDateEnd'), true);
  const deletedStart = deletable ? isoBound(url.searchParams.get('deletedDateStart'), false) : undefined;
  const deletedEnd = deletable ? isoBound(url.searchParams.get('deletedDateEnd'), true) : undefined;
  const onlyDeleted = deletedStart !== undefined || deletedEnd !== undefined;
  return (record) => {
    if (onlyDeleted ? !record.deletedDate : deletable && record.deletedDate) return false;
    if (onlyDeleted && !within(record.deletedDate, deletedStart, deletedEnd)) return false;
    return within(record.updatedDate, updatedStart, updatedEnd);
  };
}

function numbers(url: URL, name: string): number[] {
  return url.searchParams
    .getAll(name)
    .flatMap((value) => value.split(','))
    .filter((value) => value.trim() !== '')
    .map((value) => {
      const parsed = Number(value);
      if (!Number.isInteger(parsed)) throw new BadRequest(`Invalid value for ${name}: ${value}`);
      return parsed;
    });
}

function springPage<T>(url: URL, records: T[]): unknown {
  const pageParam = url.searchParams.get('page');
  const sizeParam = url.searchParams.get('size');
  const page = pageParam === null ? 0 : Number(pageParam);
  const askedSize = sizeParam === null ? 20 : Number(sizeParam);
  if (!Number.isInteger(page) || page < 0 || !Number.isInteger(askedSize) || askedSize < 1) throw new BadRequest('page must be a whole number from 0 and size from 1');
  const size = Math.min(askedSize, 100);
  const content = records.slice(page * size, page * size + size);
  const totalPages = Math.ceil(records.length / size);
  const sort = { sorted: false, unsorted: true, empty: true };
  return {
    content,
    pageable: { sort, pageNumber: page, pageSize: size, offset: page * size, paged: true, unpaged: false },
    totalPages,
    totalElements: records.length,
    last: page >= totalPages - 1,
    first: page === 0,
    number: page,
    size,
    numberOfElements: content.length,
    sort,
    empty: content.length === 0,
  };
}

export async function startFakeTekmetric(options: FakeTekmetricOptions = {}): Promise<FakeTekmetric> {
  const data = new FakeDataset(options);
  const clientId = options.clientId ?? `fake-client-${randomUUID().slice(0, 8)}`;
  const clientSecret = options.clientSecret ?? randomUUID();
  const scope = options.scopeShopIds ?? data.shops.map((shop) => shop.shop.id);
  const validTokens = new Set<string>();
  const stats: FakeTekmetricStats = { requests: 0, throttled: 0, serverErrors: 0, tokensIssued: 0, byRoute: {} };
  let limit = options.requestsPerMinute ? { perMs: options.requestsPerMinute / 60_000, burst: options.burst ?? Math.max(1, options.requestsPerMinute / 60) } : undefined;
  const buckets = new Map<string, Bucket>();
  let failures: { count: number; status: number } = { count: 0, status: 503 };
  let delays: { count: number; ms: number } = { count: 0, ms: 0 };
  const sockets = new Set<import('node:net').Socket>();

  /** Takes one token of the caller's bucket, or answers that the plan's rate is spent. */
  function withinRate(caller: string): boolean {
    if (!limit) return true;
    const now = performance.now();
    const bucket = buckets.get(caller) ?? { tokens: limit.burst, at: now };
    bucket.tokens = Math.min(limit.burst, bucket.tokens + (now - bucket.at) * limit.perMs);
    bucket.at = now;
    buckets.set(caller, bucket);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  function send(res: http.ServerResponse, status: number, body?: unknown): void {
    if (body === undefined) {
      res.writeHead(status, { 'content-length': '0' });
      res.end();
      return;
    }
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json;charset=UTF-8', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }

  const accessDenied = { type: 'ERROR', message: 'Access Denied', data: null, details: {} };
  const notFound = (what: string) => ({ type: 'ERROR', message: `${what} not found`, data: null, details: {} });

  function readBody(req: http.IncomingMessage): Promise<string> {
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      req.on('error', reject);
    });
  }

  async function token(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const body = await readBody(req);
    const header = req.headers.authorization ?? '';
    const [id, secret] = header.startsWith('Basic ') ? Buffer.from(header.slice(6), 'base64').toString('utf8').split(':') : [];
    if (id !== clientId || secret !== clientSecret) return send(res, 401, { error: 'invalid_client', error_description: 'Bad client credentials' });
    if (!withinRate(clientId)) {
      stats.throttled += 1;
      return send(res, 429);
    }
    if (!/application\/x-www-form-urlencoded/.test(req.headers['content-type'] ?? '') || new URLSearchParams(body).get('grant_type') !== 'client_credentials') {
      return send(res, 400, { error: 'unsupported_grant_type', error_description: 'grant_type must be client_credentials, form-encoded' });
    }
    const accessToken = randomUUID();
    validTokens.add(accessToken);
    stats.tokensIssued += 1;
    send(res, 200, { access_token: accessToken, token_type: 'bearer', scope: scope.join(' ') });
  }

  /** The shops a list may cover: the `shop` asked for (which must be in scope), else every shop in scope. */
  function shopsFor(url: URL): FakeShop[] | 'denied' {
    const asked = numbers(url, 'shop');
    if (asked.some((id) => !scope.includes(id))) return 'denied';
    const ids = asked.length ? asked : scope;
    return data.shops.filter((shop) => ids.includes(shop.shop.id));
  }

  function api(method: string, url: URL, res: http.ServerResponse): void {
    const path = url.pathname.slice(PREFIX.length).replace(/\/+$/, '');
    const [, resource, idText, extra] = path.split('/');
    const id = idText === undefined ? undefined : Number(idText);
    if (method !== 'GET' || extra !== undefined || (idText !== undefined && !Number.isInteger(id))) return send(res, 404, notFound('Resource'));
    const inScope = (shopId: number | null | undefined) => shopId !== null && shopId !== undefined && scope.includes(shopId);
    const list = (records: unknown[]) => send(res, 200, springPage(url, records));

    switch (resource) {
      case 'shops': {
        if (id === undefined) return send(res, 200, data.shops.filter((shop) => scope.includes(shop.shop.id)).map((shop) => shop.shop));
        const shop = data.shop(id);
        if (!shop) return send(res, 404, notFound('Shop'));
        return inScope(id) ? send(res, 200, shop.shop) : send(res, 403, accessDenied);
      }
      case 'employees': {
        if (id !== undefined) {
          const shop = data.shops.find((one) => one.employees.some((employee) => employee.id === id));
          if (!shop) return send(res, 404, notFound('Employee'));
          return inScope(shop.shop.id) ? send(res, 200, shop.employees.find((employee) => employee.id === id)) : send(res, 403, accessDenied);
        }
        const shops = shopsFor(url);
        if (shops === 'denied') return send(res, 403, accessDenied);
        const keep = dateFilter({ url }, false);
        return list(shops.flatMap((shop) => shop.employees).filter(keep));
      }
      case 'customers': {
        if (id !== undefined) {
          const found = data.findCustomer(id);
          if (!found) return send(res, 404, notFound('Customer'));
          return inScope(found.shop.shop.id) ? send(res, 200, found.customer) : send(res, 403, accessDenied);
        }
        const shops = shopsFor(url);
        if (shops === 'denied') return send(res, 403, accessDenied);
        const keep = dateFilter({ url }, true);
        return list(shops.flatMap((shop) => shop.customers).filter(keep));
      }
      case 'vehicles': {
        if (id !== undefined) {
          const found = data.findVehicle(id);
          if (!found) return send(res, 404, notFound('Vehicle'));
          return inScope(found.shop.shop.id) ? send(res, 200, found.vehicle) : send(res, 403, accessDenied);
        }
        const shops = shopsFor(url);
        if (shops === 'denied') return send(res, 403, accessDenied);
        const keep = dateFilter({ url }, true);
        const customerIds = numbers(url, 'customerId');
        return list(shops.flatMap((shop) => shop.vehicles).filter((vehicle) => keep(vehicle) && (!customerIds.length || customerIds.includes(vehicle.customerId))));
      }
      case 'repair-orders': {
        if (id !== undefined) {
          const found = data.findRepairOrder(id);
          if (!found) return send(res, 404, notFound('Repair order'));
          return inScope(found.shop.shop.id) ? send(res, 200, found.order) : send(res, 403, accessDenied);
        }
        const shops = shopsFor(url);
        if (shops === 'denied') return send(res, 403, accessDenied);
        const keep = dateFilter({ url }, true);
        const createdStart = isoBound(url.searchParams.get('start'), false);
        const createdEnd = isoBound(url.searchParams.get('end'), true);
        const postedStart = isoBound(url.searchParams.get('postedDateStart'), false);
        const postedEnd = isoBound(url.searchParams.get('postedDateEnd'), true);
        const statusIds = numbers(url, 'repairOrderStatusId');
        const customerIds = numbers(url, 'customerId');
        const vehicleIds = numbers(url, 'vehicleId');
        return list(
          shops
            .flatMap((shop) => shop.repairOrders)
            .filter(
              (order) =>
                keep(order) &&
                within(order.createdDate, createdStart, createdEnd) &&
                within(order.postedDate, postedStart, postedEnd) &&
                (!statusIds.length || statusIds.includes(order.repairOrderStatus.id)) &&
                (!customerIds.length || customerIds.includes(order.customerId)) &&
                (!vehicleIds.length || vehicleIds.includes(order.vehicleId)),
            ),
        );
      }
      case 'jobs': {
        if (id !== undefined) {
          const found = data.findJob(id);
          if (!found) return send(res, 404, notFound('Job'));
          return inScope(found.shop.shop.id) ? send(res, 200, found.job) : send(res, 403, accessDenied);
        }
        const shops = shopsFor(url);
        if (shops === 'denied') return send(res, 403, accessDenied);
        const keep = dateFilter({ url }, false);
        const orderIds = numbers(url, 'repairOrderId');
        return list(
          shops
            .flatMap((shop) => shop.repairOrders)
            .filter((order) => !order.deletedDate && (!orderIds.length || orderIds.includes(order.id)))
            .flatMap((order) => order.jobs)
            .filter(keep),
        );
      }
      case 'appointments': {
        if (id !== undefined) {
          const shop = data.shops.find((one) => one.appointments.some((appointment) => appointment.id === id));
          if (!shop) return send(res, 404, notFound('Appointment'));
          return inScope(shop.shop.id) ? send(res, 200, shop.appointments.find((appointment) => appointment.id === id)) : send(res, 403, accessDenied);
        }
        const shops = shopsFor(url);
        if (shops === 'denied') return send(res, 403, accessDenied);
        const keep = dateFilter({ url }, true);
        return list(shops.flatMap((shop) => shop.appointments).filter(keep));
      }
      default:
        return send(res, 404, notFound('Resource'));
    }
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    stats.requests += 1;
    const url = new URL(req.url ?? '/', 'http://fake.tekmetric.local');
    const route = `${req.method} ${url.pathname.replace(/\/\d+(?=\/|$)/g, '/{id}')}`;
    stats.byRoute[route] = (stats.byRoute[route] ?? 0) + 1;
    if (!url.pathname.startsWith(`${PREFIX}/`)) return send(res, 404, notFound('Resource'));
    if (url.pathname === `${PREFIX}/oauth/token` && req.method === 'POST') return token(req, res);

    const header = req.headers.authorization ?? '';
    const bearer = header.startsWith('Bearer ') ? header.slice(7) : '';
    if (!validTokens.has(bearer)) return send(res, 401);
    if (!withinRate(clientId)) {
      stats.throttled += 1;
      return send(res, 429);
    }
    if (delays.count > 0) {
      delays.count -= 1;
      await new Promise((resolve) => setTimeout(resolve, delays.ms));
      if (res.destroyed) return;
    }
    if (failures.count > 0 || (options.serverErrorRate && Math.random() < options.serverErrorRate)) {
      const status = failures.count > 0 ? failures.status : 503;
      if (failures.count > 0) failures.count -= 1;
      stats.serverErrors += 1;
      return send(res, status, status === 503 ? undefined : { type: 'ERROR', message: 'Internal Server Error', data: null, details: {} });
    }
    try {
      api(req.method ?? 'GET', url, res);
    } catch (error) {
      if (error instanceof BadRequest) return send(res, 400, { type: 'ERROR', message: error.message, data: null, details: {} });
      throw error;
    }
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch((error: Error) => {
      stats.serverErrors += 1;
      if (!res.headersSent) send(res, 500, { type: 'ERROR', message: error.message, data: null, details: {} });
      else res.destroy();
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    clientId,
    clientSecret,
    shops: data.shops,
    data,
    stats,
    setRequestsPerMinute(requestsPerMinute, burst) {
      limit = requestsPerMinute ? { perMs: requestsPerMinute / 60_000, burst: burst ?? Math.max(1, requestsPerMinute / 60) } : undefined;
      buckets.clear();
    },
    failNext(count, status = 503) {
      failures = { count, status };
    },
    delayNext(count, ms) {
      delays = { count, ms };
    },
    revokeTokens() {
      validTokens.clear();
    },
    advance(minutes) {
      return data.advance(minutes);
    },
    close() {
      return new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      });
    },
  };
}
