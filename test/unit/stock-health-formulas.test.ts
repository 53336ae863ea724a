import { describe, expect, it } from 'vitest';
import { averageDailySales, daysOfCover, defaultThresholds, reorderPoint, safetyStock, stockHealthOf, suggestedOrderQuantity, type StockPosition } from '../../core/pipelines/stock_health/formulas.js';

/**
 * Each expectation is worked by hand with the default thresholds (30-day window, critical < 7 days,
 * low < 14 days or at/below the reorder point, overstock > 90 days, z = 1.65, order cycle 14 days):
 *   d = sold / 30; cover = on hand / d; SS = ⌈1.65·√(d·L)⌉; ROP = ⌈d·L⌉ + SS;
 *   order = 0 if on hand + open PO > ROP, else ⌈max(ROP + ⌈14·d⌉ − on hand − open PO, MOQ) / pack⌉ · pack.
 */
const cases: { sku: string; position: StockPosition; expected: { avg: number; cover: number | null; safety: number; rop: number; order: number; status: string }; why: string }[] = [
  // d=2, L=8: dL=16, SS=⌈1.65·4⌉=⌈6.6⌉=7, ROP=23; target 23+28=51, pack 12 → 5 packs = 60
  { sku: 'A-STOCKOUT', position: { onHand: 0, soldLast30Days: 60, supplier: { leadTimeDays: 8, moq: 10, packSize: 12 }, openPoQty: 0 }, expected: { avg: 2, cover: 0, safety: 7, rop: 23, order: 60, status: 'stockout' }, why: 'nothing on hand, ordered in whole packs' },
  // d=3, L=12: dL=36, SS=⌈9.9⌉=10, ROP=46; cover 3.33; target 46+42=88, need 78
  { sku: 'B-CRITICAL', position: { onHand: 10, soldLast30Days: 90, supplier: { leadTimeDays: 12, moq: 1, packSize: 1 }, openPoQty: 0 }, expected: { avg: 3, cover: 10 / 3, safety: 10, rop: 46, order: 78, status: 'critical' }, why: 'under 7 days of cover' },
  // d=1, L=4: dL=4, SS=⌈3.3⌉=4, ROP=8; 5 on hand + 20 on order = 25 > 8
  { sku: 'C-CRITICAL-ON-ORDER', position: { onHand: 5, soldLast30Days: 30, supplier: { leadTimeDays: 4, moq: 1, packSize: 1 }, openPoQty: 20 }, expected: { avg: 1, cover: 5, safety: 4, rop: 8, order: 0, status: 'critical' }, why: 'critical, but an open PO already covers it' },
  // d=1.5, L=6: dL=9, SS=⌈4.95⌉=5, ROP=14; cover 8; target 14+⌈21⌉=35, need 23, MOQ 24 → 24 (4 packs of 6)
  { sku: 'D-LOW-MOQ', position: { onHand: 12, soldLast30Days: 45, supplier: { leadTimeDays: 6, moq: 24, packSize: 6 }, openPoQty: 0 }, expected: { avg: 1.5, cover: 8, safety: 5, rop: 14, order: 24, status: 'low' }, why: 'the MOQ lifts the order' },
  // d=2, L=25: dL=50, SS=⌈1.65·7.0711⌉=⌈11.667⌉=12, ROP=62; cover 20 but 40 ≤ 62; position 50; target 62+28=90, need 40
  { sku: 'E-LOW-ROP-PARTIAL-PO', position: { onHand: 40, soldLast30Days: 60, supplier: { leadTimeDays: 25, moq: 5, packSize: 1 }, openPoQty: 10 }, expected: { avg: 2, cover: 20, safety: 12, rop: 62, order: 40, status: 'low' }, why: 'at or below the reorder point, the open PO netted out' },
  // d=3, L=3: dL=9, SS=⌈4.95⌉=5, ROP=14; cover 33.3
  { sku: 'F-HEALTHY', position: { onHand: 100, soldLast30Days: 90, supplier: { leadTimeDays: 3, moq: 1, packSize: 1 }, openPoQty: 0 }, expected: { avg: 3, cover: 100 / 3, safety: 5, rop: 14, order: 0, status: 'healthy' }, why: 'between the thresholds' },
  // d=1, L=7: dL=7, SS=⌈1.65·2.6458⌉=⌈4.3655⌉=5, ROP=12; cover 500
  { sku: 'G-OVERSTOCK', position: { onHand: 500, soldLast30Days: 30, supplier: { leadTimeDays: 7, moq: 1, packSize: 1 }, openPoQty: 0 }, expected: { avg: 1, cover: 500, safety: 5, rop: 12, order: 0, status: 'overstock' }, why: 'over 90 days of cover' },
  { sku: 'H-DEAD-STOCK', position: { onHand: 10, soldLast30Days: 0, supplier: { leadTimeDays: 7, moq: 1, packSize: 1 }, openPoQty: 0 }, expected: { avg: 0, cover: null, safety: 0, rop: 0, order: 0, status: 'overstock' }, why: 'stock that does not sell' },
  { sku: 'I-STOCKOUT-NO-SALES', position: { onHand: 0, soldLast30Days: 0, supplier: { leadTimeDays: 7, moq: 6, packSize: 6 }, openPoQty: 0 }, expected: { avg: 0, cover: 0, safety: 0, rop: 0, order: 0, status: 'stockout' }, why: 'no demand, so no order, not even the MOQ' },
  { sku: 'J-NO-SUPPLIER', position: { onHand: 3, soldLast30Days: 30, supplier: null, openPoQty: 0 }, expected: { avg: 1, cover: 3, safety: 0, rop: 0, order: 0, status: 'critical' }, why: 'not in the supplier master: nothing to order from' },
  // d=0.5, L=2: dL=1, SS=⌈1.65⌉=2, ROP=3; cover 4; target 3+7=10, need 8, MOQ 10, pack 4 → 3 packs = 12
  { sku: 'K-PACK-ABOVE-MOQ', position: { onHand: 2, soldLast30Days: 15, supplier: { leadTimeDays: 2, moq: 10, packSize: 4 }, openPoQty: 0 }, expected: { avg: 0.5, cover: 4, safety: 2, rop: 3, order: 12, status: 'critical' }, why: 'a pack that does not divide the MOQ' },
  // ROP 8 as C; 6 + 2 on order = 8, at the reorder point: target 8+14=22, need 14
  { sku: 'L-PO-AT-ROP', position: { onHand: 6, soldLast30Days: 30, supplier: { leadTimeDays: 4, moq: 1, packSize: 1 }, openPoQty: 2 }, expected: { avg: 1, cover: 6, safety: 4, rop: 8, order: 14, status: 'critical' }, why: 'stock plus open PO exactly at the reorder point still orders' },
  // negative books count as nothing on hand: position 0, target 22, pack 10 → 30
  { sku: 'M-NEGATIVE', position: { onHand: -3, soldLast30Days: 30, supplier: { leadTimeDays: 4, moq: 1, packSize: 10 }, openPoQty: 0 }, expected: { avg: 1, cover: 0, safety: 4, rop: 8, order: 30, status: 'stockout' }, why: 'negative stock on hand' },
  // d=2, L=1: SS=⌈1.65·1.4142⌉=⌈2.333⌉=3, ROP=2+3=5; cover exactly 14 → not low
  { sku: 'N-BOUNDARY-14', position: { onHand: 28, soldLast30Days: 60, supplier: { leadTimeDays: 1, moq: 1, packSize: 1 }, openPoQty: 0 }, expected: { avg: 2, cover: 14, safety: 3, rop: 5, order: 0, status: 'healthy' }, why: 'exactly 14 days is healthy' },
  // d=1, L=1: SS=⌈1.65⌉=2, ROP=3; cover exactly 90 → not overstock
  { sku: 'O-BOUNDARY-90', position: { onHand: 90, soldLast30Days: 30, supplier: { leadTimeDays: 1, moq: 1, packSize: 1 }, openPoQty: 0 }, expected: { avg: 1, cover: 90, safety: 2, rop: 3, order: 0, status: 'healthy' }, why: 'exactly 90 days is healthy' },
];

describe('stock health of a SKU at a store', () => {
  it.each(cases)('$sku: $why', ({ position, expected }) => {
    const health = stockHealthOf(position);
    expect(health.avgDailySales).toBeCloseTo(expected.avg, 9);
    if (expected.cover === null) expect(health.daysOfCover).toBeNull();
    else expect(health.daysOfCover).toBeCloseTo(expected.cover, 9);
    expect(health.safetyStock).toBe(expected.safety);
    expect(health.reorderPoint).toBe(expected.rop);
    expect(health.suggestedOrderQty).toBe(expected.order);
    expect(health.status).toBe(expected.status);
  });

  it('covers every status, pack sizes, MOQs and open POs', () => {
    expect(new Set(cases.map((c) => c.expected.status))).toEqual(new Set(['stockout', 'critical', 'low', 'healthy', 'overstock']));
    expect(cases.some((c) => (c.position.supplier?.packSize ?? 1) > 1 && c.expected.order > 0)).toBe(true);
    expect(cases.some((c) => (c.position.supplier?.moq ?? 1) > 1 && c.expected.order > 0)).toBe(true);
    expect(cases.some((c) => c.position.openPoQty > 0 && c.expected.order > 0)).toBe(true);
  });

  it('follows the thresholds it is given', () => {
    const strict = { ...defaultThresholds, criticalDays: 20, lowDays: 40, overstockDays: 30 };
    expect(stockHealthOf({ onHand: 30, soldLast30Days: 60, supplier: { leadTimeDays: 1, moq: 1, packSize: 1 }, openPoQty: 0 }, strict).status).toBe('critical');
    expect(stockHealthOf({ onHand: 60, soldLast30Days: 60, supplier: { leadTimeDays: 1, moq: 1, packSize: 1 }, openPoQty: 0 }, strict).status).toBe('low');
    expect(stockHealthOf({ onHand: 62, soldLast30Days: 30, supplier: { leadTimeDays: 1, moq: 1, packSize: 1 }, openPoQty: 0 }, strict).status).toBe('overstock');
  });

  it('keeps the parts consistent', () => {
    expect(averageDailySales(45)).toBe(1.5);
    expect(daysOfCover(12, 1.5)).toBe(8);
    expect(safetyStock(1.5, 6)).toBe(5);
    expect(reorderPoint(1.5, 6)).toBe(14);
    // Rounding at a whole number must not add a unit: 0.1·30 is 3.0000000000000004 in floating point.
    expect(reorderPoint(0.1, 30, { ...defaultThresholds, serviceLevelZ: 0 })).toBe(3);
    expect(suggestedOrderQuantity({ onHand: 0, openPoQty: 0, reorderPoint: 0, avgDailySales: 0, moq: 50, packSize: 10 })).toBe(0);
  });
});
