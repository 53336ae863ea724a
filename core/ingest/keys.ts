import { createHash, randomBytes } from 'node:crypto';
import type pg from 'pg';
import { writeAudit } from '../auth/audit.js';
import { assertCan } from '../auth/permissions.js';
import type { Context } from '../context.js';
import { withTransaction, type SqlQuery } from '../db/index.js';
import { AppError, notFound } from '../errors.js';
import { checkRateLimit, takeOf, takeTokenStatement, type RateLimit, type Take } from '../ratelimit/index.js';

/**
 * API keys that point-of-sale devices ingest with. A key is 256 random bits, shown once when it is made;
 * only its SHA-256 is kept. A slow password hash (argon2) would add nothing against guessing a random
 * 256-bit key and would cost every ingest request tens of milliseconds. A key is good for ingesting for its
 * stores and nothing else: no other endpoint reads ingest_api_keys, and its text is no session or token.
 */
const KEY_MARK = 'bhk_';
/** How much of a key lists show, so a person can tell keys apart: the mark and 8 characters. */
const PREFIX_LENGTH = KEY_MARK.length + 8;

export function hashIngestKey(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}

function newKey(): { key: string; prefix: string; hash: Buffer } {
  const key = `${KEY_MARK}${randomBytes(32).toString('base64url')}`;
  return { key, prefix: key.slice(0, PREFIX_LENGTH), hash: hashIngestKey(key) };
}

/** What a valid key may do: ingest for these stores (code → shop id) of its business. */
export interface IngestGrant {
  keyId: string;
  businessId: string;
  shopIdByCode: Map<string, string>;
}

/** A key's grant by its hash: the key and its stores' codes (revoked keys find nothing). */
const grantByHash = `SELECT k.id, k.business_id, array_agg(s.code) FILTER (WHERE s.id IS NOT NULL) AS codes, array_agg(s.id) FILTER (WHERE s.id IS NOT NULL) AS shop_ids
       FROM ingest_api_keys k
       LEFT JOIN shops s ON s.id = ANY (k.shop_ids) AND s.business_id = k.business_id AND s.code IS NOT NULL
      WHERE k.key_hash = $1 AND k.revoked_at IS NULL
      GROUP BY k.id`;

interface GrantRow {
  id: string;
  business_id: string;
  codes: (string | null)[] | null;
  shop_ids: string[];
}

function grantOf(row: GrantRow): IngestGrant {
  const shopIdByCode = new Map<string, string>();
  (row.codes ?? []).forEach((code, index) => code && shopIdByCode.set(code, row.shop_ids[index]!));
  return { keyId: row.id, businessId: row.business_id, shopIdByCode };
}

const wellFormed = (presented: string) => presented.startsWith(KEY_MARK) && presented.length <= 200;

/** The grant of a presented key, or null for a key that is unknown or revoked. One indexed read. */
export async function authenticateIngestKey(query: SqlQuery, presented: string): Promise<IngestGrant | null> {
  if (!wellFormed(presented)) return null;
  const [row] = await query<GrantRow>(grantByHash, [hashIngestKey(presented)]);
  return row ? grantOf(row) : null;
}

/**
 * What an ingest request does first, in ONE statement: finds the presented key's grant and, for a valid key
 * only, takes a token from its rate (`takeToken`'s upsert). Null for a key that is unknown or revoked (which
 * takes nothing). Its bucket is `ingest:<key id>`, shared by every process serving the key.
 */
export async function authenticateIngestRequest(query: SqlQuery, presented: string, limit: Omit<RateLimit, 'key'>): Promise<{ grant: IngestGrant; take: Take } | null> {
  checkRateLimit(limit, 1);
  if (!wellFormed(presented)) return null;
  const [row] = await query<GrantRow & { tokens: number; last_granted: boolean }>(
    `WITH found AS (${grantByHash}),
          taken AS (${takeTokenStatement(`SELECT 'ingest:' || id AS key FROM found`, { perSecond: '$2', burst: '$3', cost: '1' })})
     SELECT found.*, taken.tokens, taken.last_granted FROM found CROSS JOIN taken`,
    [hashIngestKey(presented), limit.perSecond, limit.burst],
  );
  return row ? { grant: grantOf(row), take: takeOf(limit, row) } : null;
}

/**
 * The business a command acts on: the one given, or the only one there is. With several and none given,
 * the error lists them so the caller can pick.
 */
export async function resolveBusiness(ctx: Context, businessId?: string): Promise<{ id: string; name: string }> {
  if (businessId) {
    const business = await ctx.db.prisma.business.findUnique({ where: { id: businessId }, select: { id: true, name: true } }).catch(() => null);
    if (!business) throw new AppError('not_found', `There is no business ${businessId}.`);
    return business;
  }
  const businesses = await ctx.db.prisma.business.findMany({ select: { id: true, name: true }, orderBy: { name: 'asc' }, take: 51 });
  if (businesses.length === 1) return businesses[0]!;
  if (businesses.length === 0) throw new AppError('bad_request', 'There is no business yet: create one first.');
  const listed = businesses.slice(0, 50).map((business) => `  ${business.id}  ${business.name}`).join('\n');
  throw new AppError('bad_request', `There are several businesses; say which one with --business ID:\n${listed}${businesses.length > 50 ? '\n  …' : ''}`, {
    businesses: businesses.slice(0, 50),
  });
}

export interface CreateIngestKeyInput {
  businessId?: string;
  /** The store codes (what devices send as store_id) the key may ingest for; stores are created when new. */
  stores: string[];
  name?: string;
}

export interface IngestKeyRow {
  id: string;
  businessId: string;
  businessName: string;
  name: string;
  keyPrefix: string;
  stores: string[];
  createdAt: Date;
  createdBy: string | null;
  revokedAt: Date | null;
  lastUsedAt: Date | null;
  requestsLastMinute: number;
  requestsLastHour: number;
}

/** Makes a key for stores of one business (the stores created when new). The key is in the answer, and nowhere else, ever. */
export async function createIngestKey(ctx: Context, input: CreateIngestKeyInput): Promise<{ key: string; record: IngestKeyRow }> {
  assertCan(ctx.user, 'ingestKeys', 'new');
  const codes = [...new Set(input.stores.map((store) => store.trim()).filter(Boolean))];
  if (codes.length === 0) throw new AppError('bad_request', 'Name at least one store (its code, which devices send as store_id), such as STORE-001.');
  const tooLong = codes.find((code) => code.length > 100);
  if (tooLong) throw new AppError('bad_request', `The store code "${tooLong.slice(0, 20)}…" is longer than 100 characters.`);
  const business = await resolveBusiness(ctx, input.businessId);
  const name = input.name?.trim() || `${codes.join(', ')} device`;
  const { key, prefix, hash } = newKey();
  const id = await withTransaction(ctx.db.pool, async (client) => {
    const shopIds = await ensureStores(client, business.id, codes);
    const inserted = await client.query<{ id: string }>(
      `INSERT INTO ingest_api_keys (business_id, name, key_prefix, key_hash, shop_ids, created_by) VALUES ($1, $2, $3, $4, $5::uuid[], $6) RETURNING id`,
      [business.id, name, prefix, hash, shopIds, ctx.user.kind === 'user' ? ctx.user.id : null],
    );
    const keyId = inserted.rows[0]!.id;
    await writeAudit(ctx, { resource: 'ingestKeys', recordId: keyId, action: 'create', businessId: business.id, after: { name, keyPrefix: prefix, stores: codes } }, client);
    return keyId;
  });
  const [record] = await listIngestKeys(ctx, { ids: [id] });
  return { key, record: record! };
}

/** The shops with these codes in the business, created (named after their code) where there is none. */
async function ensureStores(client: pg.ClientBase, businessId: string, codes: string[]): Promise<string[]> {
  await client.query(
    `INSERT INTO shops (business_id, name, code)
     SELECT $1, wanted.code, wanted.code FROM unnest($2::text[]) AS wanted(code)
      WHERE NOT EXISTS (SELECT 1 FROM shops s WHERE s.business_id = $1 AND s.code = wanted.code)
     ON CONFLICT DO NOTHING`,
    [businessId, codes],
  );
  const found = await client.query<{ id: string; code: string }>(`SELECT id, code FROM shops WHERE business_id = $1 AND code = ANY ($2::text[])`, [businessId, codes]);
  const missing = codes.filter((code) => !found.rows.some((row) => row.code === code));
  if (missing.length > 0) {
    // Only a shop already named like the code (but with another code, or none) stops the insert.
    throw new AppError('conflict', `A shop named ${missing.map((code) => `"${code}"`).join(', ')} exists with another store code: give that shop the code in the admin, or use its code.`);
  }
  return found.rows.map((row) => row.id);
}

/** Keys with their stores, last use and request rates; admins only. */
export async function listIngestKeys(ctx: Context, filter: { businessId?: string; ids?: string[]; includeRevoked?: boolean } = {}): Promise<IngestKeyRow[]> {
  assertCan(ctx.user, 'ingestKeys', 'list');
  const { rows } = await ctx.db.pool.query<{
    id: string;
    business_id: string;
    business_name: string;
    name: string;
    key_prefix: string;
    stores: string[] | null;
    created_at: Date;
    created_by: string | null;
    revoked_at: Date | null;
    last_used_at: Date | null;
    last_minute: number;
    last_hour: number;
  }>(
    `SELECT k.id, k.business_id, b.name AS business_name, k.name, k.key_prefix, k.created_at, u.email AS created_by, k.revoked_at, k.last_used_at,
            (SELECT array_agg(s.code ORDER BY s.code) FROM shops s WHERE s.id = ANY (k.shop_ids)) AS stores,
            coalesce((SELECT sum(requests) FROM ingest_api_key_usage g WHERE g.api_key_id = k.id AND g.minute >= date_trunc('minute', now() - interval '1 minute')), 0)::int AS last_minute,
            coalesce((SELECT sum(requests) FROM ingest_api_key_usage g WHERE g.api_key_id = k.id AND g.minute >= date_trunc('minute', now() - interval '1 hour')), 0)::int AS last_hour
       FROM ingest_api_keys k
       JOIN businesses b ON b.id = k.business_id
       LEFT JOIN users u ON u.id = k.created_by
      WHERE ($1::uuid IS NULL OR k.business_id = $1)
        AND ($2::uuid[] IS NULL OR k.id = ANY ($2::uuid[]))
        AND ($3::boolean OR k.revoked_at IS NULL OR $2::uuid[] IS NOT NULL)
      ORDER BY k.revoked_at IS NOT NULL, k.created_at DESC`,
    [filter.businessId ?? null, filter.ids ?? null, filter.includeRevoked ?? true],
  );
  return rows.map((row) => ({
    id: row.id,
    businessId: row.business_id,
    businessName: row.business_name,
    name: row.name,
    keyPrefix: row.key_prefix,
    stores: row.stores ?? [],
    createdAt: row.created_at,
    createdBy: row.created_by,
    revokedAt: row.revoked_at,
    lastUsedAt: row.last_used_at,
    requestsLastMinute: row.last_minute,
    requestsLastHour: row.last_hour,
  }));
}

/** Revokes a key at once, for every process (each request reads the key). Revoking a revoked key changes nothing. */
export async function revokeIngestKey(ctx: Context, id: string): Promise<IngestKeyRow> {
  assertCan(ctx.user, 'ingestKeys', 'delete');
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id)) throw new AppError('bad_request', `"${id}" is not a key id (a UUID, as the list shows).`);
  await withTransaction(ctx.db.pool, async (client) => {
    const existing = await client.query<{ business_id: string; revoked_at: Date | null; name: string }>('SELECT business_id, revoked_at, name FROM ingest_api_keys WHERE id = $1 FOR UPDATE', [id]);
    const key = existing.rows[0];
    if (!key) throw notFound(`The ingest API key ${id}`);
    if (key.revoked_at) return;
    const revoked = await client.query<{ revoked_at: Date }>('UPDATE ingest_api_keys SET revoked_at = now() WHERE id = $1 RETURNING revoked_at', [id]);
    await writeAudit(ctx, { resource: 'ingestKeys', recordId: id, action: 'revoke', businessId: key.business_id, before: { revokedAt: null }, after: { revokedAt: revoked.rows[0]!.revoked_at } }, client);
  });
  const [record] = await listIngestKeys(ctx, { ids: [id] });
  return record!;
}

/**
 * Counts each key's requests in memory and adds them to ingest_api_key_usage (and last_used_at) every few
 * seconds in one statement, so that an ingest request writes nothing for its bookkeeping.
 */
export class IngestKeyUsage {
  private counts = new Map<string, { minute: number; requests: number; lastUsed: number }[]>();
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly pool: pg.Pool,
    private readonly onError: (error: unknown) => void,
    private readonly intervalMs = 2000,
  ) {}

  record(keyId: string, at = Date.now()): void {
    const minute = Math.floor(at / 60_000) * 60_000;
    const buckets = this.counts.get(keyId) ?? [];
    const last = buckets[buckets.length - 1];
    if (last && last.minute === minute) {
      last.requests += 1;
      last.lastUsed = at;
    } else buckets.push({ minute, requests: 1, lastUsed: at });
    this.counts.set(keyId, buckets);
    if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = null;
        void this.flush();
      }, this.intervalMs);
      this.timer.unref();
    }
  }

  /** Adds what was counted since the last flush. */
  flush(): Promise<void> {
    const taken = this.counts;
    this.counts = new Map();
    const rows = [...taken].flatMap(([keyId, buckets]) => buckets.map((bucket) => ({ keyId, ...bucket })));
    this.flushing = this.flushing.then(async () => {
      if (rows.length === 0) return;
      await this.pool
        .query(
          `WITH counted AS (
             SELECT * FROM unnest($1::uuid[], $2::float8[], $3::int[], $4::float8[]) AS c(api_key_id, minute, requests, last_used)
           ), added AS (
             INSERT INTO ingest_api_key_usage AS u (api_key_id, minute, requests)
             SELECT api_key_id, to_timestamp(minute / 1000), requests FROM counted
             ON CONFLICT (api_key_id, minute) DO UPDATE SET requests = u.requests + EXCLUDED.requests
           ), touched AS (
             UPDATE ingest_api_keys k SET last_used_at = greatest(k.last_used_at, c.last_used)
               FROM (SELECT api_key_id, to_timestamp(max(last_used) / 1000) AS last_used FROM counted GROUP BY api_key_id) c
              WHERE k.id = c.api_key_id
           )
           DELETE FROM ingest_api_key_usage WHERE minute < now() - interval '1 day'`,
          [rows.map((row) => row.keyId), rows.map((row) => row.minute), rows.map((row) => row.requests), rows.map((row) => row.lastUsed)],
        )
        .catch(this.onError);
    });
    return this.flushing;
  }

  /** Stops the timer and writes what is left (at shutdown). */
  async close(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.flush();
  }
}
