import { createHash } from 'node:crypto';

/**
 * The JSON Canonicalization Scheme (RFC 8785) of a parsed JSON value: object members sorted by their names'
 * UTF-16 code units, no whitespace, strings as JSON.stringify writes them, numbers in ECMAScript's shortest
 * round-trip form (10, 10.0 and 1e1 all parse to the number 10 and are written "10"). Two bodies that mean
 * the same transaction therefore serialise, and hash, alike whatever their key order and number spelling.
 */
export function canonicalJson(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'string':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new RangeError('JSON has no infinite numbers or NaN');
      // -0 is written 0 by RFC 8785 (and by JSON.stringify).
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
      // Default string ordering compares UTF-16 code units, which is what RFC 8785 §3.2.3 asks for.
      const keys = Object.keys(value).filter((key) => (value as Record<string, unknown>)[key] !== undefined).sort();
      return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`).join(',')}}`;
    }
    default:
      throw new TypeError(`${typeof value} is not a JSON value`);
  }
}

/** SHA-256 of the canonical serialisation: the bronze event's identity (ingest_events.event_hash). */
export function eventHash(value: unknown): Buffer {
  return canonicalEvent(value).hash;
}

/** The canonical serialisation with its hash: bronze stores the one it hashed (jsonb keeps no key order anyway). */
export function canonicalEvent(value: unknown): { json: string; hash: Buffer } {
  const json = canonicalJson(value);
  return { json, hash: createHash('sha256').update(json, 'utf8').digest() };
}
