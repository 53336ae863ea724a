import { describe, expect, it } from 'vitest';
import { normaliseOrderStatus, orderStatuses } from '../../core/mapping/statuses.js';
import { compileTableMapping } from '../../core/mapping/transforms.js';

describe('order statuses in other spellings and languages', () => {
  it.each([
    ['Cancelled', 'cancelled'],
    ['canceled', 'cancelled'],
    ['VOIDED', 'cancelled'],
    ['storniert', 'cancelled'],
    ['Annulée', 'cancelled'],
    ['anulado', 'cancelled'],
    ['Geannuleerd', 'cancelled'],
    ['Refunded', 'refunded'],
    ['Rückerstattet', 'refunded'],
    ['remboursé', 'refunded'],
    ['Reembolsado', 'refunded'],
    ['terugbetaald', 'refunded'],
    ['On-Hold', 'on_hold'],
    ['on_hold', 'on_hold'],
    ['  In   Bearbeitung ', 'processing'],
    ['Versandt', 'shipped'],
    ['expédiée', 'shipped'],
    ['fulfilled', 'completed'],
    ['Abgeschlossen', 'completed'],
    ['entregado', 'completed'],
    ['bezahlt', 'paid'],
    ['Payée', 'paid'],
    ['pending', 'pending'],
    ['Ausstehend', 'pending'],
    ['fehlgeschlagen', 'failed'],
  ])('%s is %s', (written, status) => {
    expect(normaliseOrderStatus(written)).toBe(status);
  });

  it('every product status is its own spelling, and words it does not know are not guessed', () => {
    for (const status of orderStatuses) expect(normaliseOrderStatus(status)).toBe(status);
    expect(normaliseOrderStatus('Partially refunded')).toBeNull();
    expect(normaliseOrderStatus('awaiting fulfillment by partner')).toBeNull();
    expect(normaliseOrderStatus('')).toBeNull();
  });

  it('the normalise_status transform writes the product status and keeps unknown words as written', () => {
    const compiled = compileTableMapping('orders', [
      { target: 'order_ref', source: 'Order', transforms: [] },
      { target: 'status', source: 'Status', transforms: [{ op: 'trim' }, { op: 'normalise_status' }] },
    ], { headers: ['Order', 'Status'] });
    if (!compiled.ok) throw new Error(JSON.stringify(compiled));
    const status = (written: string) => compiled.mapRow({ Order: 'A-1', Status: written }, 2).values.status;
    expect(status(' Storniert ')).toBe('cancelled');
    expect(status('Teilweise erstattet')).toBe('Teilweise erstattet');
    expect(status('')).toBeNull();
  });
});
