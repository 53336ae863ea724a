import { describe, expect, it } from 'vitest';
import { retryDelayMs } from '../../core/notify/deliver.js';
import { signatureHeader, verifySignature } from '../../core/notify/signature.js';

const settings = { retryBaseMs: 30_000, retryMaxMs: 3_600_000 };

describe('webhook retry backoff', () => {
  it.each([
    [1, 15_000, 30_000],
    [2, 30_000, 60_000],
    [3, 60_000, 120_000],
    [8, 1_800_000, 3_600_000],
    [20, 1_800_000, 3_600_000],
  ])('after attempt %i waits between %i and %i ms (doubling, capped, half of it random)', (attempts, low, high) => {
    expect(retryDelayMs(attempts, settings, 0)).toBe(low);
    expect(retryDelayMs(attempts, settings, 1)).toBe(high);
    const sampled = retryDelayMs(attempts, settings);
    expect(sampled).toBeGreaterThanOrEqual(low);
    expect(sampled).toBeLessThanOrEqual(high);
  });
});

describe('the signature receivers check', () => {
  it('is HMAC-SHA256 of "<t>.<body>" in hex, and the README’s steps verify it', () => {
    // Known answer: printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac whsec_test
    expect(signatureHeader('whsec_test', '{"a":1}', 1_700_000_000)).toBe('t=1700000000,v1=38877139021993b830af32feea6e18a8da83eb2f6e49ee50bd9e4cf4ca4d3789');
    expect(verifySignature('whsec_test', '{"a":1}', signatureHeader('whsec_test', '{"a":1}', 1_700_000_000), 300, 1_700_000_100_000)).toBe(true);
    expect(verifySignature('whsec_test', '{"a":1}', 't=1700000000,v1=zz', 300, 1_700_000_100_000)).toBe(false);
    expect(verifySignature('whsec_test', '{"a":1}', 'v1=0c03', 300, 1_700_000_100_000)).toBe(false);
  });
});
