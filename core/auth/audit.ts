import type { Prisma } from '@prisma/client';
import pg from 'pg';
import type { Context } from '../context.js';

export type AuditAction = 'create' | 'update' | 'delete' | 'login' | (string & {});

export interface AuditEntry {
  resource: string;
  recordId: string | null;
  action: AuditAction;
  businessId?: string | null;
  before?: unknown;
  after?: unknown;
}

/** Where audit rows are written: the Prisma transaction, or the pg connection in a transaction, the change ran in. */
type AuditWriter = Pick<Prisma.TransactionClient, 'auditLog'> | pg.ClientBase;

/** JSON-safe copy of a record for the log: dates as ISO strings, bigints as strings, secrets dropped. */
export function toAuditJson(value: unknown): Prisma.InputJsonValue | undefined {
  if (value === undefined || value === null) return undefined;
  return JSON.parse(
    JSON.stringify(value, (key, inner: unknown) => {
      if (key === 'passwordHash' || key === 'password') return undefined;
      if (typeof inner === 'bigint') return inner.toString();
      return inner;
    }),
  ) as Prisma.InputJsonValue;
}

/** A pg connection (pooled ones are clients too), not a Prisma transaction. */
const isPgConnection = (tx: AuditWriter): tx is pg.ClientBase => tx instanceof pg.Client;

/** Writes one audit row: who, when, what, before and after. Pass the transaction the change ran in. */
export async function writeAudit(ctx: Context, entry: AuditEntry, tx: AuditWriter = ctx.db.prisma): Promise<void> {
  await writeAudits(ctx, [entry], tx);
}

/** Writes audit rows in one statement (a commit creating many products), in the transaction the changes ran in. */
export async function writeAudits(ctx: Context, entries: AuditEntry[], tx: AuditWriter = ctx.db.prisma): Promise<void> {
  if (entries.length === 0) return;
  const user = ctx.user;
  const rows = entries.map((entry) => ({
    userId: user.kind === 'user' ? user.id : null,
    userEmail: user.kind === 'user' ? user.email : `system:${user.name}`,
    businessId: entry.businessId ?? null,
    resource: entry.resource,
    recordId: entry.recordId,
    action: entry.action,
    before: toAuditJson(entry.before),
    after: toAuditJson(entry.after),
    requestId: ctx.requestId ?? null,
  }));
  if (!isPgConnection(tx)) {
    await tx.auditLog.createMany({ data: rows });
    return;
  }
  await tx.query(
    `INSERT INTO audit_log (user_id, user_email, business_id, resource, record_id, action, before, after, request_id)
     SELECT "userId", "userEmail", "businessId", resource, "recordId", action, before, after, "requestId"
     FROM jsonb_to_recordset($1::jsonb) AS r("userId" uuid, "userEmail" text, "businessId" uuid, resource text, "recordId" text, action text, before jsonb, after jsonb, "requestId" text)`,
    [JSON.stringify(rows)],
  );
}
