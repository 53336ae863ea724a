import { describe, expect, it } from 'vitest';
import { FakeDataset } from '../../core/demo/fake-tekmetric/dataset.js';

describe('the fake Tekmetric data set', () => {
  it('holds no repair order created, completed, posted or updated after its clock, whatever the time of day', () => {
    // Each hour of one day: the orders made in the last hours before the clock are the ones that could overshoot it.
    for (let hour = 0; hour < 24; hour += 1) {
      const now = new Date(Date.UTC(2026, 11, 7, hour, 30));
      const dataset = new FakeDataset({ seed: 31, shops: 2, repairOrdersPerShop: 160, days: 40, now });
      const instants = dataset.shops.flatMap((shop) => shop.repairOrders.flatMap((order) => [order.createdDate, order.completedDate, order.postedDate, order.updatedDate]));
      const late = instants.filter((instant): instant is string => instant !== null && Date.parse(instant) > now.getTime());
      expect(late, `clock at ${now.toISOString()}`).toEqual([]);
    }
  });
});
