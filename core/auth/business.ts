import type { Business } from '@prisma/client';
import { z } from 'zod';
import type { Context } from '../context.js';
import { AppError } from '../errors.js';

/**
 * The business a caller acts on or reads: a scoped user's own (naming another is refused with
 * `refused`); a caller who sees every business (an admin, the system) must name one (`missing` says
 * how), and it must exist.
 */
export async function callerBusiness(ctx: Context, requested: string | null | undefined, say: { refused: string; missing: string }): Promise<Business> {
  let businessId: string;
  if (ctx.scope.kind === 'business') {
    if (requested && requested !== ctx.scope.businessId) throw new AppError('forbidden', say.refused);
    businessId = ctx.scope.businessId;
  } else {
    if (!requested) throw new AppError('bad_request', say.missing);
    businessId = requested;
  }
  const business = z.string().uuid().safeParse(businessId).success ? await ctx.db.prisma.business.findUnique({ where: { id: businessId } }) : null;
  if (!business) throw new AppError('not_found', `Business ${businessId} was not found.`);
  return business;
}
