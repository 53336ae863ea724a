import { can } from './auth/permissions.js';
import type { Context } from './context.js';
import { listJobs } from './queue.js';
import { countRecords } from './records/service.js';

export interface HomeSummary {
  who: { email: string; role: string } | null;
  business: { name: string; timezone: string; currency: string } | null;
  /** Only what the caller may list appears here; each links to its screen. */
  tiles: { key: string; label: string; value: number; resourceId: string; query?: string }[];
}

/** What the admin's home page shows the signed-in person: where they are and what needs attention. */
export async function summariseHome(ctx: Context): Promise<HomeSummary> {
  const user = ctx.user.kind === 'user' ? ctx.user : null;
  const business = ctx.scope.kind === 'business' ? await ctx.db.prisma.business.findUnique({ where: { id: ctx.scope.businessId } }) : null;
  const tiles: HomeSummary['tiles'] = [];
  if (can(ctx.user, 'products', 'list')) tiles.push({ key: 'products', label: 'Active products', value: await countRecords(ctx, 'products', { active: true }), resourceId: 'Product' });
  if (can(ctx.user, 'shops', 'list')) tiles.push({ key: 'shops', label: 'Shops', value: await countRecords(ctx, 'shops'), resourceId: 'Shop' });
  if (can(ctx.user, 'businesses', 'list') && ctx.scope.kind === 'all') tiles.push({ key: 'businesses', label: 'Businesses', value: await countRecords(ctx, 'businesses'), resourceId: 'Business' });
  if (can(ctx.user, 'users', 'list')) tiles.push({ key: 'users', label: 'Users', value: await countRecords(ctx, 'users', { disabled: false }), resourceId: 'User' });
  if (can(ctx.user, 'jobs', 'list')) {
    const failed = await listJobs(ctx, { state: 'failed' }, { skip: 0, take: 1 });
    tiles.push({ key: 'failedJobs', label: 'Failed jobs', value: failed.total, resourceId: 'Job', query: '?filters.state=failed' });
  }
  return {
    who: user ? { email: user.email, role: user.role } : null,
    business: business ? { name: business.name, timezone: business.timezone, currency: business.currency } : null,
    tiles,
  };
}
