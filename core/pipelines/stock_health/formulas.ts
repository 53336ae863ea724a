/**
 * Stock health of one SKU at one store: pure arithmetic, no I/O. Quantities are whole units; rates (sales
 * per day, days of cover) are plain numbers since they are not money. Money (stock value, order value) is
 * integer cents.
 *
 * Safety stock: the files give only a 30-day sales total, not daily sales, so the spread of demand cannot be
 * measured. Unit sales of a SKU at a store are modelled as a Poisson process, whose variance equals its mean:
 * over a lead time of L days at d units a day the demand has mean d·L and standard deviation √(d·L), so
 *   safety stock = z · √(d · L)
 * with z from the service level (1.65 ≈ 95% of lead times without a stockout). It grows with demand but less
 * than in proportion, as it should for slow movers, and is 0 for a SKU that does not sell or arrives at once.
 */

export type StockStatus = 'stockout' | 'critical' | 'low' | 'healthy' | 'overstock';

export const stockStatuses: readonly StockStatus[] = ['stockout', 'critical', 'low', 'healthy', 'overstock'];

export interface StockHealthThresholds {
  /** Days of sales the 30-day total is spread over. */
  salesWindowDays: number;
  /** Cover under this many days (stock left) is critical. */
  criticalDays: number;
  /** Cover under this many days, or stock at or below the reorder point, is low. */
  lowDays: number;
  /** Cover over this many days (or stock that does not sell at all) is overstock. */
  overstockDays: number;
  /** z of the service level in the safety-stock formula. */
  serviceLevelZ: number;
  /** An order brings stock up to the reorder point plus this many days of sales (the order cycle). */
  orderCycleDays: number;
}

export const defaultThresholds: StockHealthThresholds = {
  salesWindowDays: 30,
  criticalDays: 7,
  lowDays: 14,
  overstockDays: 90,
  serviceLevelZ: 1.65,
  orderCycleDays: 14,
};

export interface StockPosition {
  onHand: number;
  soldLast30Days: number;
  /** From the supplier master; null when the SKU is not in it (no lead time: nothing can be ordered). */
  supplier: { leadTimeDays: number; moq: number; packSize: number } | null;
  /** Ordered but not yet received, from open purchase orders. */
  openPoQty: number;
}

export interface StockHealth {
  avgDailySales: number;
  /** Days the stock on hand lasts at the average rate; null when nothing sells (it lasts for ever). */
  daysOfCover: number | null;
  safetyStock: number;
  reorderPoint: number;
  suggestedOrderQty: number;
  status: StockStatus;
}

export function averageDailySales(soldLast30Days: number, thresholds: StockHealthThresholds = defaultThresholds): number {
  return Math.max(soldLast30Days, 0) / thresholds.salesWindowDays;
}

export function daysOfCover(onHand: number, avgDailySales: number): number | null {
  if (onHand <= 0) return 0;
  return avgDailySales > 0 ? onHand / avgDailySales : null;
}

/** Whole units, rounded up: z · √(d · L). */
export function safetyStock(avgDailySales: number, leadTimeDays: number, thresholds: StockHealthThresholds = defaultThresholds): number {
  return ceilUnits(thresholds.serviceLevelZ * Math.sqrt(avgDailySales * leadTimeDays));
}

/** Demand during the lead time plus safety stock, in whole units rounded up. */
export function reorderPoint(avgDailySales: number, leadTimeDays: number, thresholds: StockHealthThresholds = defaultThresholds): number {
  return ceilUnits(avgDailySales * leadTimeDays) + safetyStock(avgDailySales, leadTimeDays, thresholds);
}

/**
 * What to order now. Nothing while stock on hand plus stock on order is above the reorder point; otherwise
 * enough to bring it to the reorder point plus an order cycle of sales, at least the MOQ, rounded up to
 * whole packs (so a pack that does not divide the MOQ gives the next whole pack above it).
 */
export function suggestedOrderQuantity(input: { onHand: number; openPoQty: number; reorderPoint: number; avgDailySales: number; moq: number; packSize: number }, thresholds: StockHealthThresholds = defaultThresholds): number {
  const position = Math.max(input.onHand, 0) + input.openPoQty;
  if (position > input.reorderPoint) return 0;
  const target = input.reorderPoint + ceilUnits(input.avgDailySales * thresholds.orderCycleDays);
  const need = target - position;
  if (need <= 0) return 0;
  const pack = Math.max(input.packSize, 1);
  return Math.ceil(Math.max(need, input.moq) / pack) * pack;
}

/**
 * The first that applies: nothing on hand is a stockout; under `criticalDays` of cover is critical; under
 * `lowDays` or at/below the reorder point is low; over `overstockDays`, or stock that does not sell, is
 * overstock; else healthy.
 */
export function stockStatus(input: { onHand: number; daysOfCover: number | null; reorderPoint: number }, thresholds: StockHealthThresholds = defaultThresholds): StockStatus {
  if (input.onHand <= 0) return 'stockout';
  if (input.daysOfCover === null) return 'overstock';
  if (input.daysOfCover < thresholds.criticalDays) return 'critical';
  if (input.daysOfCover < thresholds.lowDays || input.onHand <= input.reorderPoint) return 'low';
  if (input.daysOfCover > thresholds.overstockDays) return 'overstock';
  return 'healthy';
}

export function stockHealthOf(position: StockPosition, thresholds: StockHealthThresholds = defaultThresholds): StockHealth {
  const avg = averageDailySales(position.soldLast30Days, thresholds);
  const cover = daysOfCover(position.onHand, avg);
  const leadTime = position.supplier?.leadTimeDays ?? 0;
  const safety = position.supplier ? safetyStock(avg, leadTime, thresholds) : 0;
  const rop = position.supplier ? reorderPoint(avg, leadTime, thresholds) : 0;
  const suggested = position.supplier
    ? suggestedOrderQuantity({ onHand: position.onHand, openPoQty: position.openPoQty, reorderPoint: rop, avgDailySales: avg, moq: position.supplier.moq, packSize: position.supplier.packSize }, thresholds)
    : 0;
  return { avgDailySales: avg, daysOfCover: cover, safetyStock: safety, reorderPoint: rop, suggestedOrderQty: suggested, status: stockStatus({ onHand: position.onHand, daysOfCover: cover, reorderPoint: rop }, thresholds) };
}

/** Rounded up to a whole unit, without 2.0000000000000004 becoming 3. */
function ceilUnits(value: number): number {
  return Math.ceil(Number(value.toFixed(9)));
}
