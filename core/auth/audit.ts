import type { Prisma } from '@prisma/client';
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

type AuditWriter = Pick<Prisma.TransactionClient, 'auditLog'>;

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

/** Writes one audit row: who, when, what, before and after. Pass the transaction the change ran in. */
export async function writeAudit(ctx: Context, entry: AuditEntry, tx: AuditWriter = ctx.db.prisma): Promise<void> {
  const user = ctx.user;
  await tx.auditLog.create({
    data: {
      userId: user.kind === 'user' ? user.id : null,
      userEmail: user.kind === 'user' ? user.email : `system:${user.name}`,
      businessId: entry.businessId ?? null,
      resource: entry.resource,
      recordId: entry.recordId,
      action: entry.action,
      before: toAuditJson(entry.before),
      after: toAuditJson(entry.after),
      requestId: ctx.requestId ?? null,
    },
  });
}
