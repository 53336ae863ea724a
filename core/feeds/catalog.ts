import { z } from 'zod';
import { writeAudit } from '../auth/audit.js';
import { callerBusiness } from '../auth/business.js';
import { assertCan } from '../auth/permissions.js';
import type { Context } from '../context.js';
import { AppError, notFound } from '../errors.js';
import { comparableName, ProductMatcher, type MatchCandidate } from './matching.js';

/**
 * A business's catalog as feeds match names against it: its products and the aliases people chose for the
 * names their files write. The preview and the commit match with the same matcher, so a name maps to the
 * same product in both.
 */
export async function loadMatcher(ctx: Context, businessId: string, threshold: number): Promise<ProductMatcher> {
  const [catalog, aliases] = await Promise.all([
    ctx.db.prisma.product.findMany({ where: { businessId }, select: { id: true, name: true } }),
    ctx.db.prisma.productAlias.findMany({ where: { businessId }, select: { alias: true, productId: true } }),
  ]);
  return new ProductMatcher(catalog, threshold, aliases);
}

const catalogBusiness = (ctx: Context, requested: string | undefined) =>
  callerBusiness(ctx, requested, {
    refused: 'You can only use your own business’s catalog.',
    missing: 'Say which business’s catalog: business_id is required for admins.',
  });

export const catalogSearchInput = z.object({
  business_id: z.string().uuid().optional(),
  q: z.string().trim().min(1, 'type part of a product’s name').max(200),
  limit: z.coerce.number().int().min(1).max(50).default(10),
});

/** Products of the caller's business for a name typed on the upload page: every word typed in the name first, then the most similar. */
export async function searchCatalog(ctx: Context, input: z.infer<typeof catalogSearchInput>): Promise<{ success: true; products: MatchCandidate[] }> {
  assertCan(ctx.user, 'products', 'list');
  const business = await catalogBusiness(ctx, input.business_id);
  const matcher = await loadMatcher(ctx, business.id, 1);
  return { success: true, products: matcher.search(input.q, input.limit) };
}

export interface ProductAliasView {
  id: string;
  business_id: string;
  alias: string;
  product_id: string;
  product_name: string;
  created_at: string;
}

export const productAliasInput = z.object({
  business_id: z.string().uuid().optional(),
  alias: z.string().trim().min(1).max(200),
  product_id: z.string().uuid('must be the id of a product of your catalog'),
});

type AliasRow = { id: string; businessId: string; alias: string; productId: string; createdAt: Date; product: { name: string } };

function viewOf(row: AliasRow): ProductAliasView {
  return { id: row.id, business_id: row.businessId, alias: row.alias, product_id: row.productId, product_name: row.product.name, created_at: row.createdAt.toISOString() };
}

/**
 * Remembers that a name files write means a product of the catalog: later files' names are matched to it
 * before any fuzzy match, in their preview and their commit. Mapping a name again moves it to the new
 * product. A name that is a product's own name needs no alias (it matches that product) and is refused.
 */
export async function mapNameToProduct(ctx: Context, input: z.infer<typeof productAliasInput>): Promise<ProductAliasView> {
  assertCan(ctx.user, 'products', 'edit');
  const business = await catalogBusiness(ctx, input.business_id);
  const product = await ctx.db.prisma.product.findFirst({ where: { id: input.product_id, businessId: business.id } });
  if (!product) throw notFound(`Product ${input.product_id} of ${business.name}`);
  const aliasKey = comparableName(input.alias);
  if (!aliasKey) throw new AppError('validation_failed', `“${input.alias}” has no letters or digits to match a file's names by.`);
  const named = await ctx.db.prisma.product.findFirst({ where: { businessId: business.id, name: { equals: input.alias, mode: 'insensitive' } } });
  if (named) {
    throw new AppError('validation_failed', `“${input.alias}” is the name of the product “${named.name}” in your catalog, so files that write it are matched to that product already. Rename that product first to map this name to another one.`);
  }
  const row = await ctx.db.prisma.$transaction(async (tx) => {
    const before = await tx.productAlias.findUnique({ where: { businessId_aliasKey: { businessId: business.id, aliasKey } } });
    const saved = before
      ? await tx.productAlias.update({ where: { id: before.id }, data: { alias: input.alias, productId: product.id }, include: { product: { select: { name: true } } } })
      : await tx.productAlias.create({
          data: { businessId: business.id, alias: input.alias, aliasKey, productId: product.id, createdBy: ctx.user.kind === 'user' ? ctx.user.id : null },
          include: { product: { select: { name: true } } },
        });
    await writeAudit(
      ctx,
      {
        resource: 'productAliases',
        recordId: saved.id,
        action: before ? 'update' : 'create',
        businessId: business.id,
        before: before ? { alias: before.alias, productId: before.productId } : undefined,
        after: { alias: saved.alias, productId: saved.productId, productName: saved.product.name },
      },
      tx,
    );
    return saved;
  });
  return viewOf(row);
}

/** The aliases of the caller's business, by alias. */
export async function listProductAliases(ctx: Context, input: { business_id?: string }): Promise<ProductAliasView[]> {
  assertCan(ctx.user, 'products', 'list');
  const business = await catalogBusiness(ctx, input.business_id);
  const rows = await ctx.db.prisma.productAlias.findMany({ where: { businessId: business.id }, include: { product: { select: { name: true } } }, orderBy: { alias: 'asc' } });
  return rows.map(viewOf);
}

/** Forgets an alias: files writing that name are matched as before it was made. */
export async function deleteProductAlias(ctx: Context, id: string): Promise<void> {
  assertCan(ctx.user, 'products', 'edit');
  const missing = notFound(`Product alias ${id}`);
  if (!z.uuid().safeParse(id).success) throw missing;
  const row = await ctx.db.prisma.productAlias.findUnique({ where: { id } });
  if (!row || (ctx.scope.kind === 'business' && ctx.scope.businessId !== row.businessId)) throw missing;
  await ctx.db.prisma.$transaction(async (tx) => {
    await tx.productAlias.delete({ where: { id } });
    await writeAudit(ctx, { resource: 'productAliases', recordId: id, action: 'delete', businessId: row.businessId, before: { alias: row.alias, productId: row.productId } }, tx);
  });
}
