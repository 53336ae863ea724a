import { describe, expect, it } from 'vitest';
import { BinaryCopyData, COPY_BINARY_HEADER, COPY_BINARY_TRAILER } from '../../core/db/copy.js';

/** A one-column binary COPY of these values (null: SQL NULL), as PostgreSQL sends it. */
function binaryCopy(values: (Buffer | null)[]): Buffer {
  const rows = values.map((value) => {
    const head = Buffer.alloc(6);
    head.writeInt16BE(1, 0);
    head.writeInt32BE(value === null ? -1 : value.length, 2);
    return value === null ? head : Buffer.concat([head, value]);
  });
  return Buffer.concat([COPY_BINARY_HEADER, ...rows, COPY_BINARY_TRAILER]);
}

function readInPieces(copy: Buffer, sizes: (index: number) => number) {
  const reader = new BinaryCopyData();
  const data: Buffer[] = [];
  for (let at = 0, index = 0; at < copy.length; index++) {
    const size = sizes(index);
    data.push(...reader.take(copy.subarray(at, at + size)));
    at += size;
  }
  return { data: Buffer.concat(data), rows: reader.rows };
}

describe('binary COPY data', () => {
  const values: (Buffer | null)[] = [Buffer.from('first chunk'), Buffer.alloc(0), null, Buffer.alloc(40_000, 7), Buffer.from([0xff, 0xff, 0, 1])];
  const expected = Buffer.concat(values.filter((value): value is Buffer => value !== null));

  it.each([
    ['whole', () => Number.MAX_SAFE_INTEGER],
    ['byte by byte', () => 1],
    ['in pieces of 5', () => 5],
    ['in pieces of 7 and 6 by turns', (index: number) => (index % 2 === 0 ? 7 : 6)],
    ['in pieces splitting the header and each row head', (index: number) => [3, 17, 2, 4, 1][index % 5]!],
  ])('drops the framing and counts the rows, read %s', (_name, sizes) => {
    expect(readInPieces(binaryCopy(values), sizes)).toEqual({ data: expected, rows: values.length });
  });

  it('reads a COPY of no rows', () => {
    expect(readInPieces(binaryCopy([]), () => 1)).toEqual({ data: Buffer.alloc(0), rows: 0 });
  });

  it('refuses what is not a one-column binary COPY', () => {
    expect(() => new BinaryCopyData().take(Buffer.from('product_name,quantity\nCroissant,1\n'))).toThrow(/Unexpected header/);
    const twoColumns = Buffer.concat([COPY_BINARY_HEADER, Buffer.from([0, 2, 0, 0, 0, 1, 65])]);
    expect(() => new BinaryCopyData().take(twoColumns)).toThrow(/one field per row/);
  });
});
