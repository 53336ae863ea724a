import type { Context } from '../context.js';

/** The business's shops by their code (the files' `Store Code`), to tie snapshot rows to shops for scoping. */
export async function shopIdsByCode(ctx: Context, businessId: string): Promise<Map<string, string>> {
  const { rows } = await ctx.db.pool.query<{ code: string; id: string }>(`SELECT code, id FROM shops WHERE business_id = $1 AND code IS NOT NULL`, [businessId]);
  return new Map(rows.map((row) => [row.code, row.id]));
}
