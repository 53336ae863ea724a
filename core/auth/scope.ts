import type { Principal } from './principal.js';

/**
 * Which rows a principal may see. Admins and the system see every business; everyone else sees one
 * business, and where shops are assigned to them, only those shops' rows of shop-level data.
 */
export type Scope = { kind: 'all' } | { kind: 'business'; businessId: string; shopIds: string[] | null };

export function scopeOf(principal: Principal): Scope {
  if (principal.kind === 'system' || principal.role === 'admin') return { kind: 'all' };
  if (!principal.businessId) {
    // A non-admin without a business sees nothing: deny by default.
    return { kind: 'business', businessId: '00000000-0000-0000-0000-000000000000', shopIds: [] };
  }
  return {
    kind: 'business',
    businessId: principal.businessId,
    shopIds: principal.shopIds.length > 0 ? principal.shopIds : null,
  };
}

/** True when the scope lets its holder see rows of `businessId` (and of `shopId`, if given). */
export function scopeIncludes(scope: Scope, businessId: string | null, shopId?: string | null): boolean {
  if (scope.kind === 'all') return true;
  if (businessId !== scope.businessId) return false;
  if (shopId && scope.shopIds) return scope.shopIds.includes(shopId);
  return true;
}
