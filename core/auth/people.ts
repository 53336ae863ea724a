import type { Context } from '../context.js';

/**
 * How people are named on screens that show who did something (a feed's uploader): their name, or their
 * email when they have none. Only the ids asked for, which come from records the caller may already see.
 */
export async function namesOfPeople(ctx: Context, userIds: readonly (string | null | undefined)[]): Promise<Map<string, string>> {
  const ids = [...new Set(userIds.filter((id): id is string => typeof id === 'string' && id.length > 0))];
  if (ids.length === 0) return new Map();
  const people = await ctx.db.prisma.user.findMany({ where: { id: { in: ids } }, select: { id: true, name: true, email: true } });
  return new Map(people.map((person) => [person.id, person.name ? `${person.name} (${person.email})` : person.email]));
}
