import { describe, expect, it } from 'vitest';
import { canonicalJson, eventHash } from '../../core/ingest/canonical.js';
import { checkTransaction } from '../../core/ingest/payload.js';
import { hourWeight, simulatorCatalog, simulatorStores, TrafficModel } from '../../core/ingest/traffic.js';

describe('canonical JSON (RFC 8785)', () => {
  it.each([
    ['{"b":1,"a":[1,2]}', '{"a":[1,2],"b":1}'],
    ['{"n":10.0}', '{"n":10}'],
    ['{"n":1e1}', '{"n":10}'],
    ['{"n":0.000001}', '{"n":0.000001}'],
    ['{"n":1e-7}', '{"n":1e-7}'],
    ['{"n":1e21}', '{"n":1e+21}'],
    ['{"n":-0}', '{"n":0}'],
    ['{"s":"\\u00e9\\n\\"","t":"€"}', '{"s":"é\\n\\"","t":"€"}'],
    // Keys sort by UTF-16 code units: "\u20ac" (€) before "\ud83d\ude00" (😀), though 😀 is the higher code point.
    ['{"😀":1,"€":2,"a":3}', '{"a":3,"€":2,"😀":1}'],
  ])('%s is written %s', (input, expected) => {
    expect(canonicalJson(JSON.parse(input))).toBe(expected);
  });

  it('hashes bodies that mean the same alike, and others not', () => {
    expect(eventHash(JSON.parse('{"qty":10,"x":"a"}')).equals(eventHash(JSON.parse('{"x":"a","qty":1e1}')))).toBe(true);
    expect(eventHash({ qty: 10 }).equals(eventHash({ qty: 10.5 }))).toBe(false);
  });
});

describe('the traffic model', () => {
  const model = new TrafficModel({ stores: simulatorStores(8), seed: 42 });

  it('sends valid transactions whose lines sum to the total, from the catalog, marked simulated', () => {
    for (let i = 0; i < 500; i += 1) {
      const payload = model.transactionAt(new Date(Date.UTC(2026, 11, 7, 12, i % 60)));
      expect(checkTransaction(payload)).toMatchObject({ ok: true });
      const cents = payload.items.reduce((sum, item) => sum + Math.round(item.line_amount * 100), 0);
      expect(cents).toBe(Math.round(payload.total_amount * 100));
      expect(payload.simulated).toBe(true);
      for (const item of payload.items) expect(simulatorCatalog.some((product) => product.id === item.product_id)).toBe(true);
    }
  });

  it('is busier at the rushes than at night, in every region', () => {
    for (const region of ['metro', 'suburban', 'campus', 'rural'] as const) {
      expect(hourWeight(region, 12.5)).toBeGreaterThan(2 * hourWeight(region, 15.5) * 0.6);
      expect(hourWeight(region, 8)).toBeGreaterThan(hourWeight(region, 3) * 10);
      expect(hourWeight(region, 18)).toBeGreaterThan(hourWeight(region, 22.5));
    }
    expect(model.rateAt(new Date(Date.UTC(2026, 11, 7, 12, 30)), 10)).toBeGreaterThan(model.rateAt(new Date(Date.UTC(2026, 11, 7, 3)), 10) * 10);
  });

  it('gives a day of history whose volume follows the average rate and the rushes', () => {
    const history = new TrafficModel({ stores: simulatorStores(4), seed: 1 });
    const from = new Date(Date.UTC(2026, 11, 6));
    const byHour = new Array(24).fill(0);
    let count = 0;
    for (const payload of history.between(from, new Date(from.getTime() + 86_400_000), 0.05)) {
      byHour[new Date(payload.ts).getUTCHours()] += 1;
      count += 1;
    }
    // 0.05 a second on average is 4,320 a day.
    expect(count).toBeGreaterThan(3800);
    expect(count).toBeLessThan(4900);
    expect(byHour[12]).toBeGreaterThan(byHour[15]);
    expect(byHour[8]).toBeGreaterThan(byHour[3] * 5);
  });

  it('baskets follow the segments: family baskets are the largest, student ones the smallest', () => {
    const campus = new TrafficModel({ stores: [{ code: 'C', region: 'campus', weight: 1 }], seed: 5 });
    const suburban = new TrafficModel({ stores: [{ code: 'S', region: 'suburban', weight: 1 }], seed: 5 });
    const mean = (m: TrafficModel) => {
      let lines = 0;
      for (let i = 0; i < 2000; i += 1) lines += m.transactionAt(new Date(Date.UTC(2026, 11, 7, 12))).items.length;
      return lines / 2000;
    };
    expect(mean(suburban)).toBeGreaterThan(mean(campus) + 1);
  });
});
