import { assertCan, can } from '../auth/permissions.js';
import { scopeIncludes } from '../auth/scope.js';
import type { Context } from '../context.js';
import { notFound } from '../errors.js';
import { repairOrderFigures } from './metrics.js';

/**
 * A repair order as its page shows it: its jobs with their lines nested (parts, labor, fees, discounts), its
 * sublets and its own fees and discounts, and how its totals add up: per kind, our sum of the lines (over
 * authorized work, as the metrics count it) beside Tekmetric's own totals. Scoped to the reader's business
 * and shops; never customers' personal data (the customer is named by id only). Money in cents.
 */

export interface LineTotals {
  laborCents: number;
  partsCents: number;
  subletsCents: number;
  feesCents: number;
  discountsCents: number;
  taxesCents: number;
  totalCents: number;
}

export interface RepairOrderDetail {
  shopId: number;
  shopName: string;
  repairOrderId: number;
  repairOrderNumber: number | null;
  status: string;
  customerId: number | null;
  vehicle: string | null;
  technician: string | null;
  postedDate: string | null;
  completedDate: string | null;
  deletedAt: string | null;
  jobs: {
    id: number;
    name: string | null;
    authorized: boolean | null;
    technician: string | null;
    laborHours: number;
    subtotalCents: number;
    parts: { id: number; name: string | null; partNumber: string | null; quantity: number; costCents: number; retailCents: number; totalCents: number }[];
    labor: { id: number; name: string | null; hours: number; rateCents: number; totalCents: number; technician: string | null }[];
    fees: { id: number; name: string | null; totalCents: number }[];
    discounts: { id: number; name: string | null; totalCents: number }[];
  }[];
  sublets: { id: number; name: string | null; vendorName: string | null; authorized: boolean | null; priceCents: number; costCents: number }[];
  orderFees: { id: number; name: string | null; totalCents: number }[];
  orderDiscounts: { id: number; name: string | null; totalCents: number }[];
  ours: LineTotals;
  tekmetric: LineTotals;
  /** Our total minus Tekmetric's: 0 when the lines add up to what Tekmetric reports. */
  varianceCents: number;
  grossProfitCents: number;
  snapshots: { trigger: string; takenAt: string; totalSalesCents: number; grossProfitCents: number }[];
  /** Whether the reader may take a snapshot (ops and admins). */
  maySnapshot: boolean;
}

const n = (value: unknown) => Number(value ?? 0);

export async function repairOrderDetail(ctx: Context, shopId: number, repairOrderId: number): Promise<RepairOrderDetail> {
  assertCan(ctx.user, 'tekmetric', 'show');
  const pool = ctx.db.pool;
  const { rows } = await pool.query(
    `SELECT ro.*, s.name AS shop_name, s.backhouse_shop_id, st.name AS status_name,
            nullif(concat_ws(' ', v.year::text, v.make, v.model), '') AS vehicle,
            nullif(concat_ws(' ', e.first_name, e.last_name), '') AS technician,
            ro.posted_date::text AS posted_day, ro.completed_date::text AS completed_day
       FROM tm_repair_orders ro JOIN tm_shops s ON s.id = ro.shop_id
       LEFT JOIN tm_repair_order_statuses st ON st.id = ro.status_id
       LEFT JOIN tm_vehicles v ON v.shop_id = ro.shop_id AND v.id = ro.vehicle_id
       LEFT JOIN tm_employees e ON e.shop_id = ro.shop_id AND e.id = ro.technician_id
      WHERE ro.shop_id = $1 AND ro.id = $2`,
    [shopId, repairOrderId],
  );
  const ro = rows[0];
  // Out of scope reads as absent: nothing is learnt of other shops' repair orders.
  if (!ro || !scopeIncludes(ctx.scope, ro.business_id, ro.backhouse_shop_id)) throw notFound(`Repair order ${repairOrderId} of Tekmetric shop ${shopId}`);
  const of = (table: string, columns: string) => pool.query(`SELECT ${columns} FROM ${table} WHERE shop_id = $1 AND repair_order_id = $2 ORDER BY id`, [shopId, repairOrderId]).then((r) => r.rows);
  const technicianName = `(SELECT nullif(concat_ws(' ', e.first_name, e.last_name), '') FROM tm_employees e WHERE e.shop_id = x.shop_id AND e.id = x.technician_id)`;
  const [jobs, parts, labor, fees, discounts, sublets, snapshots, [figures]] = await Promise.all([
    of('tm_jobs x', `id, name, authorized, labor_hours, subtotal_cents, ${technicianName} AS technician`),
    of('tm_job_parts', 'id, job_id, name, part_number, quantity, cost_cents, retail_cents, round(quantity * retail_cents) AS total'),
    of('tm_job_labor x', `id, job_id, name, hours, rate_cents, round(hours * rate_cents) AS total, ${technicianName} AS technician`),
    of('tm_fees', 'id, job_id, name, total_cents'),
    of('tm_discounts', 'id, job_id, name, total_cents'),
    of('tm_sublets', 'id, name, vendor_name, authorized, price_cents, cost_cents'),
    pool.query(`SELECT trigger, taken_at, total_sales_cents, gross_profit_cents FROM tm_ro_snapshots WHERE shop_id = $1 AND repair_order_id = $2 ORDER BY taken_at DESC LIMIT 20`, [shopId, repairOrderId]).then((r) => r.rows),
    repairOrderFigures(pool, shopId, [repairOrderId]),
  ]);
  const forJob = <T extends { job_id: string | null }>(list: T[], jobId: unknown) => list.filter((line) => line.job_id !== null && String(line.job_id) === String(jobId));
  const money = (line: { id: unknown; name: string | null; total_cents: unknown }) => ({ id: n(line.id), name: line.name, totalCents: n(line.total_cents) });
  const f = figures!;
  const ours: LineTotals = {
    laborCents: n(f.labor_sales),
    partsCents: n(f.parts_sales),
    subletsCents: n(f.sublet_sales),
    feesCents: n(f.fees),
    discountsCents: n(f.discounts),
    taxesCents: n(f.taxes),
    totalCents: n(f.labor_sales) + n(f.parts_sales) + n(f.sublet_sales) + n(f.fees) - n(f.discounts) + n(f.taxes),
  };
  const tekmetric: LineTotals = {
    laborCents: n(ro.labor_sales_cents),
    partsCents: n(ro.parts_sales_cents),
    subletsCents: n(ro.sublet_sales_cents),
    feesCents: n(ro.fee_total_cents),
    discountsCents: n(ro.discount_total_cents),
    taxesCents: n(ro.taxes_cents),
    totalCents: n(ro.total_sales_cents),
  };
  return {
    shopId,
    shopName: ro.shop_name,
    repairOrderId,
    repairOrderNumber: ro.repair_order_number,
    status: ro.status_name ?? String(ro.status_id),
    customerId: ro.customer_id === null ? null : n(ro.customer_id),
    vehicle: ro.vehicle,
    technician: ro.technician,
    postedDate: ro.posted_day,
    completedDate: ro.completed_day,
    deletedAt: ro.deleted_at ? new Date(ro.deleted_at).toISOString() : null,
    jobs: jobs.map((job) => ({
      id: n(job.id),
      name: job.name,
      authorized: job.authorized,
      technician: job.technician,
      laborHours: n(job.labor_hours),
      subtotalCents: n(job.subtotal_cents),
      parts: forJob(parts, job.id).map((p) => ({ id: n(p.id), name: p.name, partNumber: p.part_number, quantity: n(p.quantity), costCents: n(p.cost_cents), retailCents: n(p.retail_cents), totalCents: n(p.total) })),
      labor: forJob(labor, job.id).map((l) => ({ id: n(l.id), name: l.name, hours: n(l.hours), rateCents: n(l.rate_cents), totalCents: n(l.total), technician: l.technician })),
      fees: forJob(fees, job.id).map(money),
      discounts: forJob(discounts, job.id).map(money),
    })),
    sublets: sublets.map((s) => ({ id: n(s.id), name: s.name, vendorName: s.vendor_name, authorized: s.authorized, priceCents: n(s.price_cents), costCents: n(s.cost_cents) })),
    orderFees: fees.filter((fee) => fee.job_id === null).map(money),
    orderDiscounts: discounts.filter((discount) => discount.job_id === null).map(money),
    ours,
    tekmetric,
    varianceCents: ours.totalCents - tekmetric.totalCents,
    grossProfitCents: ours.totalCents - ours.taxesCents - n(f.parts_cost) - n(f.labor_cost) - n(f.sublet_cost),
    snapshots: snapshots.map((s) => ({ trigger: s.trigger, takenAt: new Date(s.taken_at).toISOString(), totalSalesCents: n(s.total_sales_cents), grossProfitCents: n(s.gross_profit_cents) })),
    maySnapshot: can(ctx.user, 'tekmetric', 'edit'),
  };
}
