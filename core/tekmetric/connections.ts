import { z } from 'zod';
import { writeAudit } from '../auth/audit.js';
import { assertCan } from '../auth/permissions.js';
import type { Config } from '../config.js';
import { openSecret, sealSecret } from '../sealedSecrets.js';
import type { Context } from '../context.js';
import { sqlOf, withTransaction } from '../db/index.js';
import { AppError } from '../errors.js';
import { createTekmetricClient, TekmetricError, type TekmetricClient, type TekmetricCredentials } from './client.js';
import type { ShopRef } from './sync/rows.js';

/** A connection as the sync uses it. */
export interface TekmetricConnectionRow {
  id: string;
  name: string;
  baseUrl: string;
  clientId: string;
  clientSecretSealed: string | null;
  fromEnvironment: boolean;
  requestsPerMinute: number;
  syncIntervalMinutes: number;
  enabled: boolean;
}

const connectionColumns = `id, name, base_url AS "baseUrl", client_id AS "clientId", client_secret_sealed AS "clientSecretSealed", from_environment AS "fromEnvironment",
  requests_per_minute AS "requestsPerMinute", sync_interval_minutes AS "syncIntervalMinutes", enabled`;

/**
 * The connection the environment describes (TEKMETRIC_BASE_URL, _CLIENT_ID, _CLIENT_SECRET), recorded so
 * that shops, runs and the admin can name it; null when the environment names none. Its secret is never
 * stored: it is read from the environment each time.
 */
export async function ensureEnvironmentConnection(ctx: Context, config: Pick<Config, 'TEKMETRIC_BASE_URL' | 'TEKMETRIC_CLIENT_ID' | 'TEKMETRIC_CLIENT_SECRET' | 'TEKMETRIC_SYNC_INTERVAL_MINUTES'>, requestsPerMinute?: number): Promise<TekmetricConnectionRow | null> {
  const { TEKMETRIC_BASE_URL: baseUrl, TEKMETRIC_CLIENT_ID: clientId, TEKMETRIC_CLIENT_SECRET: secret } = config;
  if (!baseUrl && !clientId && !secret) return null;
  if (!baseUrl || !clientId || !secret) {
    const missing = [!baseUrl && 'TEKMETRIC_BASE_URL', !clientId && 'TEKMETRIC_CLIENT_ID', !secret && 'TEKMETRIC_CLIENT_SECRET'].filter(Boolean).join(', ');
    throw new AppError('bad_request', `The Tekmetric connection in the environment is incomplete: set ${missing} as well (or none of the three).`);
  }
  const rpm = requestsPerMinute ?? (/sandbox\.tekmetric\.com/.test(baseUrl) ? 300 : 600);
  const [row] = await sqlOf(ctx.db.pool)<TekmetricConnectionRow>(
    `INSERT INTO tekmetric_connections (name, base_url, client_id, from_environment, requests_per_minute, sync_interval_minutes)
     VALUES ($1, $2, $3, true, $4, $5)
     ON CONFLICT (base_url, client_id) DO UPDATE SET from_environment = true, requests_per_minute = EXCLUDED.requests_per_minute, sync_interval_minutes = EXCLUDED.sync_interval_minutes, updated_at = now()
     RETURNING ${connectionColumns}`,
    [`Environment (${new URL(baseUrl).host})`, baseUrl.replace(/\/+$/, ''), clientId, rpm, config.TEKMETRIC_SYNC_INTERVAL_MINUTES],
  );
  return row!;
}

export async function getConnection(ctx: Context, id: string): Promise<TekmetricConnectionRow> {
  const [row] = await sqlOf(ctx.db.pool)<TekmetricConnectionRow>(`SELECT ${connectionColumns} FROM tekmetric_connections WHERE id = $1`, [id]);
  if (!row) throw new AppError('not_found', `Tekmetric connection ${id} was not found.`);
  return row;
}

/** The credentials of a connection: the environment's secret, or its own stored one opened (SECRETS_KEY). */
export function credentialsOf(connection: TekmetricConnectionRow, config: Pick<Config, 'TEKMETRIC_CLIENT_SECRET'>): TekmetricCredentials {
  if (connection.fromEnvironment) {
    if (!config.TEKMETRIC_CLIENT_SECRET) throw new AppError('bad_request', `Connection "${connection.name}" takes its secret from TEKMETRIC_CLIENT_SECRET, which is not set.`);
    return { baseUrl: connection.baseUrl, clientId: connection.clientId, clientSecret: config.TEKMETRIC_CLIENT_SECRET };
  }
  if (!connection.clientSecretSealed) throw new AppError('bad_request', `Connection "${connection.name}" has no client secret: enter it again.`);
  return { baseUrl: connection.baseUrl, clientId: connection.clientId, clientSecret: openSecret(connection.clientSecretSealed) };
}

export const connectionInput = z.object({
  name: z.string().trim().min(1).max(200),
  baseUrl: z
    .string()
    .url()
    .regex(/^https?:\/\//, 'must start with http:// or https://')
    .transform((url) => url.replace(/\/+$/, '')),
  clientId: z.string().trim().min(1).max(500),
  clientSecret: z.string().min(1).max(2000),
  requestsPerMinute: z.number().int().min(1).max(100_000).optional(),
  syncIntervalMinutes: z.number().int().min(1).max(1440).optional(),
});

export interface ScopeShop {
  shopId: number;
  name: string;
  /** The business the shop is linked to already (it keeps that link), or null. */
  linkedBusinessId: string | null;
}

/** Tekmetric refusing credentials, or unreachable, is bad input here, not the caller's own sign-in failing. */
function asBadInput(error: unknown): never {
  if (error instanceof TekmetricError && (error.failure === 'auth' || error.failure === 'not_found')) throw new AppError('bad_request', error.message);
  if (error instanceof TekmetricError) throw new AppError('bad_request', `Tekmetric could not be reached with these settings: ${error.message}`);
  throw error;
}

/**
 * "Test connection": a token for these credentials and the shops of its scope, each with the business it is
 * linked to already. Stores nothing (the secret stays in this request). Admins only.
 */
export async function testConnection(ctx: Context, input: Pick<z.input<typeof connectionInput>, 'baseUrl' | 'clientId' | 'clientSecret'>): Promise<ScopeShop[]> {
  assertCan(ctx.user, 'tekmetricConnections', 'new');
  const parsed = connectionInput.pick({ baseUrl: true, clientId: true, clientSecret: true }).safeParse(input);
  if (!parsed.success) throw new AppError('bad_request', `The connection is not valid: ${parsed.error.issues.map((i) => `${i.path.join('.')} ${i.message}`).join('; ')}.`);
  const data = parsed.data;
  const api = createTekmetricClient(data, { query: sqlOf(ctx.db.pool), requestsPerMinute: /sandbox\.tekmetric\.com/.test(data.baseUrl) ? 300 : 600, log: ctx.log });
  const shops = await api.shops().catch(asBadInput);
  const linked = await sqlOf(ctx.db.pool)<{ id: string; business_id: string }>(`SELECT id::text, business_id FROM tm_shops WHERE id = ANY ($1::bigint[])`, [shops.map((shop) => shop.id)]);
  const businessOf = new Map(linked.map((row) => [Number(row.id), row.business_id]));
  return shops.map((shop) => ({ shopId: shop.id, name: shop.name, linkedBusinessId: businessOf.get(shop.id) ?? null }));
}

/**
 * Stores a connection with its own credentials, the secret sealed (never stored or logged in clear), after
 * checking them against Tekmetric (a token), then links the shops of its scope. Admins only; audited without the secret.
 */
export async function createConnection(ctx: Context, input: z.input<typeof connectionInput>, options: LinkOptions = {}): Promise<{ connection: TekmetricConnectionRow; shops: LinkedShop[] }> {
  assertCan(ctx.user, 'tekmetricConnections', 'new');
  const parsed = connectionInput.safeParse(input);
  if (!parsed.success) throw new AppError('bad_request', `The connection is not valid: ${parsed.error.issues.map((i) => `${i.path.join('.')} ${i.message}`).join('; ')}.`);
  const data = parsed.data;
  const rpm = data.requestsPerMinute ?? (/sandbox\.tekmetric\.com/.test(data.baseUrl) ? 300 : 600);
  // Wrong credentials are refused before anything is stored.
  const api = createTekmetricClient({ baseUrl: data.baseUrl, clientId: data.clientId, clientSecret: data.clientSecret }, { query: sqlOf(ctx.db.pool), requestsPerMinute: rpm, log: ctx.log });
  await api.scopeShopIds().catch(asBadInput);
  const [row] = await sqlOf(ctx.db.pool)<TekmetricConnectionRow>(
    `INSERT INTO tekmetric_connections (name, base_url, client_id, client_secret_sealed, requests_per_minute, sync_interval_minutes)
     VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (base_url, client_id) DO UPDATE SET name = EXCLUDED.name, client_secret_sealed = EXCLUDED.client_secret_sealed, from_environment = false,
       requests_per_minute = EXCLUDED.requests_per_minute, sync_interval_minutes = EXCLUDED.sync_interval_minutes, updated_at = now()
     RETURNING ${connectionColumns}`,
    [data.name, data.baseUrl, data.clientId, sealSecret(data.clientSecret), rpm, data.syncIntervalMinutes ?? 15],
  );
  const shops = await linkShops(ctx, row!, api, options);
  const links = shops.map((shop) => ({ shopId: shop.shopId, businessId: shop.businessId, createdBusiness: shop.createdBusiness }));
  await writeAudit(ctx, { resource: 'tekmetricConnections', recordId: row!.id, action: 'create', after: { name: data.name, baseUrl: data.baseUrl, clientId: data.clientId, requestsPerMinute: rpm, shops: links } });
  return { connection: row!, shops };
}

/** A Tekmetric client for a connection, under the connection's plan limit shared through PostgreSQL. */
export function clientFor(ctx: Context, connection: TekmetricConnectionRow, config: Pick<Config, 'TEKMETRIC_CLIENT_SECRET'>, options: { signal?: AbortSignal; requestsPerMinute?: number } = {}): TekmetricClient {
  return createTekmetricClient(credentialsOf(connection, config), {
    query: sqlOf(ctx.db.pool),
    requestsPerMinute: options.requestsPerMinute ?? connection.requestsPerMinute,
    log: ctx.log,
    signal: options.signal,
  });
}

export interface LinkedShop extends ShopRef {
  name: string;
  backhouseShopId: string;
  createdBusiness: boolean;
}

export interface LinkOptions {
  /** The business every new shop is linked to (none: a new business per shop, named after it). */
  businessId?: string;
  /** Per Tekmetric shop id, the business that shop is linked to (the admin's form), before `businessId`. */
  businessFor?: Record<number, string>;
  timezone?: string;
}

/**
 * Every shop of the token's scope, linked to one of our businesses and shops: a shop already linked keeps
 * its link (its name and details refreshed); a new one is linked to its business in `businessFor`, else
 * `businessId`, else to a new business named after the shop (in the business's time zone). One transaction per shop.
 */
export async function linkShops(ctx: Context, connection: TekmetricConnectionRow, api: TekmetricClient, options: LinkOptions = {}): Promise<LinkedShop[]> {
  assertCan(ctx.user, 'tekmetricConnections', 'new');
  const shops = await api.shops();
  const linked: LinkedShop[] = [];
  for (const shop of shops) {
    linked.push(
      await withTransaction(ctx.db.pool, async (tx) => {
        const details = [shop.name, shop.nickname ?? null, shop.phone ?? null, shop.email ?? null, shop.website ?? null, shop.address ? JSON.stringify(shop.address) : null];
        const existing = await tx.query<{ business_id: string; backhouse_shop_id: string; timezone: string }>(
          `UPDATE tm_shops SET name = $2, nickname = $3, phone = $4, email = $5, website = $6, address = $7, connection_id = $8, deleted_at = NULL, updated_at = now()
           WHERE id = $1 RETURNING business_id, backhouse_shop_id, timezone`,
          [shop.id, ...details, connection.id],
        );
        if (existing.rows[0]) {
          const row = existing.rows[0];
          return { shopId: shop.id, businessId: row.business_id, timezone: row.timezone, name: shop.name, backhouseShopId: row.backhouse_shop_id, createdBusiness: false };
        }
        let businessId = options.businessFor?.[shop.id] ?? options.businessId;
        const createdBusiness = !businessId;
        if (!businessId) {
          const created = await tx.query<{ id: string }>(`INSERT INTO businesses (name, timezone) VALUES ($1, $2) RETURNING id`, [shop.nickname || shop.name, options.timezone ?? 'UTC']);
          businessId = created.rows[0]!.id;
        }
        const business = await tx.query<{ timezone: string }>(`SELECT timezone FROM businesses WHERE id = $1`, [businessId]);
        if (!business.rows[0]) throw new AppError('not_found', `Business ${businessId} was not found.`);
        const timezone = options.timezone ?? business.rows[0].timezone;
        const ours = await tx.query<{ id: string }>(
          `INSERT INTO shops (business_id, name, code) VALUES ($1, $2, $3)
           ON CONFLICT (business_id, name) DO UPDATE SET code = EXCLUDED.code, updated_at = now() RETURNING id`,
          [businessId, shop.name, `tekmetric:${shop.id}`],
        );
        await tx.query(
          `INSERT INTO tm_shops (id, business_id, backhouse_shop_id, connection_id, name, nickname, phone, email, website, address, timezone)
           VALUES ($1, $9, $10, $8, $2, $3, $4, $5, $6, $7, $11)`,
          [shop.id, ...details, connection.id, businessId, ours.rows[0]!.id, timezone],
        );
        return { shopId: shop.id, businessId, timezone, name: shop.name, backhouseShopId: ours.rows[0]!.id, createdBusiness };
      }),
    );
  }
  await ctx.db.pool.query(`UPDATE tekmetric_connections SET scope_shop_ids = $2, last_connected_at = now(), last_error = NULL, updated_at = now() WHERE id = $1`, [connection.id, shops.map((s) => s.id)]);
  return linked;
}

/** A linked Tekmetric shop as the sync names it, within the caller's scope. */
export async function shopRefOf(ctx: Context, tmShopId: number): Promise<ShopRef & { connectionId: string | null; backhouseShopId: string; name: string }> {
  const [row] = await sqlOf(ctx.db.pool)<{ business_id: string; timezone: string; connection_id: string | null; backhouse_shop_id: string; name: string }>(
    `SELECT business_id, timezone, connection_id, backhouse_shop_id, name FROM tm_shops WHERE id = $1`,
    [tmShopId],
  );
  const visible = row && (ctx.scope.kind === 'all' || (row.business_id === ctx.scope.businessId && (!ctx.scope.shopIds || ctx.scope.shopIds.includes(row.backhouse_shop_id))));
  if (!row || !visible) throw new AppError('not_found', `Tekmetric shop ${tmShopId} is not connected (or not yours). Connect it first: npm run tekmetric -- connect.`);
  return { shopId: tmShopId, businessId: row.business_id, timezone: row.timezone, connectionId: row.connection_id, backhouseShopId: row.backhouse_shop_id, name: row.name };
}
