import { normaliseHeader } from '../files/headers.js';
import { detectDateFormat } from '../files/dates.js';
import { EMAIL } from './sniff.js';

/** The kinds of personal data a column can hold. */
export const piiKinds = ['email', 'phone', 'card', 'iban', 'address'] as const;
export type PiiKind = (typeof piiKinds)[number];

/** Share of a column's non-empty samples that must look like one kind for the column to be flagged. */
const VALUE_SHARE = 0.5;

const IBAN = /^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$/;
const INTERNATIONAL_PHONE = /^(\+|00)\d[\d\s().\-/]{5,}$/;
const GROUPED_PHONE = /^\(?\d{2,5}\)?[\s.\-/]\d{2,5}([\s.\-/]\d{2,5}){0,3}$/;
const STREET_WORDS = 'street|st|road|rd|avenue|ave|lane|ln|drive|dr|boulevard|blvd|way|close|court|ct|place|pl|square|sq|terrace|crescent|highway|hwy';
const NUMBER_THEN_STREET = new RegExp(`^\\d{1,5}[a-z]?,?\\s+(\\S+\\s+){0,4}(${STREET_WORDS})\\b\\.?`, 'i');
const STREET_THEN_NUMBER = /(stra(ss|ß)e|str\.|weg|gasse|platz|allee|ring|rue|avenue|calle|avenida|via|plaza|boulevard)\b.*\d/i;
const STREET_NAMED_FIRST = /^(rue|calle|avenida|via|plaza|avenue|boulevard|place)\s+\S+.*\d|\d.*\b(rue|calle|avenida|via)\s+\S+/i;

/** Normalised header words that say what a column holds, whatever its values look like. */
const headerWords: [PiiKind, RegExp][] = [
  ['email', /(^|_)(e_?mail|mail|courriel|correo)(_|$)/],
  ['iban', /(^|_)(iban|bank_account|account_iban|bankverbindung)(_|$)/],
  ['card', /(^|_)(card|card_number|cc|cc_number|credit_card|pan|kreditkarte|tarjeta|carte)(_|$)/],
  ['phone', /(^|_)(phone|telephone|tel|mobile|mobil|handy|telefon|telefono|fax|cell)(_|$)/],
  ['address', /(^|_)(address|addr|street|strasse|adresse|direccion|anschrift|address_line_?\d?|shipping_address|billing_address)(_|$)/],
];

/** Card-like: 13 to 19 digits (spaces or dashes allowed between groups) passing the Luhn check. */
export function isCardNumber(value: string): boolean {
  if (!/^\d[\d -]{11,22}\d$/.test(value)) return false;
  const digits = value.replace(/[ -]/g, '');
  if (digits.length < 13 || digits.length > 19 || /^(\d)\1+$/.test(digits)) return false;
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let digit = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
  }
  return sum % 10 === 0;
}

/** IBAN-like: country, check digits and account, with a valid ISO 13616 mod-97 check. */
export function isIban(value: string): boolean {
  const compact = value.replace(/\s+/g, '').toUpperCase();
  if (!IBAN.test(compact)) return false;
  const rearranged = compact.slice(4) + compact.slice(0, 4);
  let remainder = 0;
  for (const char of rearranged) {
    const code = /\d/.test(char) ? char : String(char.charCodeAt(0) - 55);
    for (const digit of code) remainder = (remainder * 10 + Number(digit)) % 97;
  }
  return remainder === 1;
}

/** A phone number written as one: an international prefix, or digit groups with separators; never a date. */
export function isPhoneNumber(value: string): boolean {
  const digits = value.replace(/\D/g, '').length;
  if (digits < 7 || digits > 15) return false;
  if (!INTERNATIONAL_PHONE.test(value) && !GROUPED_PHONE.test(value)) return false;
  return detectDateFormat([value]) === null;
}

export function isStreetAddress(value: string): boolean {
  return NUMBER_THEN_STREET.test(value) || STREET_THEN_NUMBER.test(value) || STREET_NAMED_FIRST.test(value);
}

const valueTests: [PiiKind, (value: string) => boolean][] = [
  ['email', (value) => EMAIL.test(value)],
  ['iban', isIban],
  ['card', isCardNumber],
  ['phone', isPhoneNumber],
  ['address', isStreetAddress],
];

/**
 * The kind of personal data a column holds, from its values first (at least half of the non-empty
 * samples look like it) and otherwise from its header; null when neither says so.
 */
export function detectPii(header: string, samples: readonly string[]): PiiKind | null {
  const values = samples.map((sample) => sample.trim()).filter((sample) => sample !== '');
  if (values.length > 0) {
    for (const [kind, test] of valueTests) {
      if (values.filter(test).length / values.length >= VALUE_SHARE) return kind;
    }
  }
  const name = normaliseHeader(header);
  for (const [kind, words] of headerWords) if (words.test(name)) return kind;
  return null;
}

/**
 * A value of a PII column as a role that may not read it sees it: enough to recognise the format
 * (an email's domain, a phone's country code, a card's or IBAN's last digits), not to use it.
 */
export function maskValue(kind: PiiKind, value: string): string {
  const trimmed = value.trim();
  if (trimmed === '') return value;
  switch (kind) {
    case 'email': {
      const at = trimmed.lastIndexOf('@');
      return at > 0 ? `${trimmed[0]}***${trimmed.slice(at)}` : '***';
    }
    case 'phone': {
      const digits = trimmed.replace(/\D/g, '');
      const country = /^\+\d{1,3}(?=[\s.\-/(])/.exec(trimmed)?.[0];
      const last = digits.slice(-3);
      return country ? `${country} *** *** ${last}` : `*** *** ${last}`;
    }
    case 'card':
      return `**** **** **** ${trimmed.replace(/\D/g, '').slice(-4)}`;
    case 'iban': {
      const compact = trimmed.replace(/\s+/g, '').toUpperCase();
      return `${compact.slice(0, 2)}** **** **** ${compact.slice(-4)}`;
    }
    case 'address':
      return '*** (address hidden)';
  }
}
