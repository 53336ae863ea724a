import { describe, expect, it } from 'vitest';
import { detectPii, isCardNumber, isIban, isPhoneNumber, isStreetAddress, maskValue, type PiiKind } from '../../core/mapping/pii.js';

describe('detectPii', () => {
  it.each<[string, string, string[], PiiKind | null]>([
    ['emails by value under a neutral header', 'Contact', ['jane@example.com', 'bob@shop.co.uk', ''], 'email'],
    ['phones with a country code', 'Kontakt', ['+44 7700 900789', '+49 30 1234567', '+1 (415) 555-0100'], 'phone'],
    ['phones in digit groups', 'Number', ['020 7946 0958', '030-1234567', '0161 496 0000'], 'phone'],
    ['card numbers (Luhn)', 'Reference', ['4242 4242 4242 4242', '5555-5555-5555-4444', '378282246310005'], 'card'],
    ['IBANs', 'Account', ['GB82 WEST 1234 5698 7654 32', 'DE89370400440532013000'], 'iban'],
    ['street addresses', 'Where', ['221B Baker Street', '10 Downing St', 'Hauptstraße 5'], 'address'],
    ['French and Spanish addresses', 'Lieu', ['12 rue de Rivoli', 'Calle Mayor 3'], 'address'],
    ['an email header without values', 'E-Mail', [], 'email'],
    ['a phone header with odd values', 'Telefon', ['n/a', 'ask'], 'phone'],
    ['an address header', 'Billing Address', ['somewhere'], 'address'],
    ['an IBAN header', 'IBAN', [''], 'iban'],
    ['order numbers are not cards or phones', 'Order ID', ['100234', '100235', 'SO-2025-0001'], null],
    ['dates are not phone numbers', 'Order Date', ['2025-09-01', '2025-09-02', '01.09.2025'], null],
    ['amounts are not phone numbers', 'Total', ['1,234.50', '99.00', '(12.00)'], null],
    ['16 digits failing Luhn are not a card', 'Ref', ['4242 4242 4242 4241', '1234 5678 9012 3456'], null],
    ['a broken IBAN check is not an IBAN', 'Ref', ['GB82 WEST 1234 5698 7654 33'], null],
    ['names are not personal data kinds we flag', 'Customer Name', ['Jane Doe', 'Bob Smith'], null],
    ['one email among many values is not enough', 'Notes', ['call back', 'paid cash', 'x@y.com', 'late'], null],
  ])('%s', (_label, header, samples, expected) => {
    expect(detectPii(header, samples)).toBe(expected);
  });
});

describe('value tests', () => {
  it.each([
    ['4242424242424242', true],
    ['4000 0566 5566 5556', true],
    ['0000 0000 0000 0000', false],
    ['4242', false],
  ])('isCardNumber(%s) = %s', (value, expected) => expect(isCardNumber(value)).toBe(expected));
  it.each([
    ['FR14 2004 1010 0505 0001 3M02 606', true],
    ['fr1420041010050500013m02606', true],
    ['XX00 1234', false],
  ])('isIban(%s) = %s', (value, expected) => expect(isIban(value)).toBe(expected));
  it.each([
    ['+44 7700 900789', true],
    ['0044 20 7946 0958', true],
    ['12345', false],
    ['2025-09-01', false],
    ['1234567', false],
  ])('isPhoneNumber(%s) = %s', (value, expected) => expect(isPhoneNumber(value)).toBe(expected));
  it.each([
    ['1600 Pennsylvania Avenue NW', true],
    ['Am Ring 12', true],
    ['London', false],
    ['Large Coffee', false],
  ])('isStreetAddress(%s) = %s', (value, expected) => expect(isStreetAddress(value)).toBe(expected));
});

describe('maskValue', () => {
  it.each<[PiiKind, string, string]>([
    ['email', 'john.smith@example.com', 'j***@example.com'],
    ['email', 'not-an-email', '***'],
    ['phone', '+44 7700 900789', '+44 *** *** 789'],
    ['phone', '+1 (415) 555-0100', '+1 *** *** 100'],
    ['phone', '020 7946 0958', '*** *** 958'],
    ['card', '4242 4242 4242 4242', '**** **** **** 4242'],
    ['card', '5555-5555-5555-4444', '**** **** **** 4444'],
    ['iban', 'GB82 WEST 1234 5698 7654 32', 'GB** **** **** 5432'],
    ['address', '221B Baker Street', '*** (address hidden)'],
    ['email', '', ''],
  ])('%s %s → %s', (kind, value, masked) => {
    expect(maskValue(kind, value)).toBe(masked);
  });
});
