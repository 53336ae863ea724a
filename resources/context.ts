import type { ActionContext, CurrentAdmin, PageContext } from 'adminjs';
import { ForbiddenError, NotFoundError, ValidationError } from 'adminjs';
import { can, type Action, type Resource } from '../core/auth/permissions.js';
import { roles, type UserPrincipal } from '../core/auth/principal.js';
import { contextFor, type Context } from '../core/context.js';
import type { Db } from '../core/db/index.js';
import { AppError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { listRecords } from '../core/records/service.js';

export interface AdminDeps {
  db: Db;
  log: Logger;
}

/** The session's admin user as a principal; anything that is not one is nobody. */
export function principalOf(currentAdmin: CurrentAdmin | undefined | null): UserPrincipal | null {
  const candidate = currentAdmin as Partial<UserPrincipal> | undefined | null;
  if (!candidate || candidate.kind !== 'user' || typeof candidate.id !== 'string' || !roles.includes(candidate.role as never)) return null;
  return candidate as UserPrincipal;
}

/** AdminJS access check from the permission matrix (a plain boolean, as AdminJS requires). */
export const allowed =
  (resource: Resource, action: Action) =>
  ({ currentAdmin }: { currentAdmin?: CurrentAdmin }): boolean =>
    can(principalOf(currentAdmin), resource, action);

/** The core context for an AdminJS call; no signed-in user means no access at all. */
export function coreContext(deps: AdminDeps, actionContext: Pick<ActionContext, 'currentAdmin'> | undefined): Context {
  const principal = principalOf(actionContext?.currentAdmin);
  if (!principal) throw new ForbiddenError('Sign in first.');
  return contextFor(principal, deps.db, deps.log);
}

/**
 * A custom page's caller, refused unless their role may do `action` on `resource` (AdminJS pages have no
 * access option of their own, so the page's handler asks).
 */
export function pageContext(deps: AdminDeps, page: PageContext | undefined, resource: Resource, action: Action, refusal: string): Context {
  const ctx = coreContext(deps, page);
  if (!can(ctx.user, resource, action)) throw new ForbiddenError(refusal);
  return ctx;
}

/** The businesses an admin picks from on a page; null for everyone else, who sees their own. */
export async function businessChoices(ctx: Context): Promise<{ id: string; name: string }[] | null> {
  if (ctx.scope.kind !== 'all') return null;
  const { rows } = await listRecords(ctx, 'businesses', { orderBy: { name: 'asc' }, take: 500 });
  return rows.map((business) => ({ id: business.id as string, name: business.name as string }));
}

/** Core errors as AdminJS shows them: field errors on the form, a notice otherwise. */
export function toAdminError(error: unknown): never {
  if (error instanceof AppError) {
    if (error.code === 'forbidden' || error.code === 'unauthenticated') throw new ForbiddenError(error.message);
    if (error.code === 'not_found') throw new NotFoundError(error.message, 'record');
    if (error.code === 'validation_failed' || error.code === 'bad_request' || error.code === 'conflict') {
      const details = Array.isArray(error.details) ? (error.details as { field?: string; reason?: string }[]) : [];
      const fieldOfConflict = (error.details as { field?: string } | undefined)?.field;
      const propertyErrors = Object.fromEntries(
        details.filter((d) => d.field).map((d) => [d.field!, { message: d.reason ?? error.message }]),
      );
      if (fieldOfConflict) propertyErrors[fieldOfConflict] = { message: error.message };
      throw new ValidationError(propertyErrors, { message: error.message });
    }
    throw new ValidationError({}, { message: error.message });
  }
  throw error;
}
