/**
 * Words read as true or false, in any case: English, PostgreSQL's t and f, Excel's in German, Spanish and
 * French, and an invoice's paid/unpaid. The mapping's casts and conditions, text loaded into a boolean
 * column and the column sniffer all read these; there is no other list.
 */
const booleanWords = new Map<string, boolean>([
  ...['true', 't', 'yes', 'y', '1', 'ja', 'si', 'sí', 'oui', 'wahr', 'verdadero', 'vrai', 'paid'].map((word): [string, boolean] => [word, true]),
  ...['false', 'f', 'no', 'n', '0', 'nein', 'non', 'falsch', 'falso', 'faux', 'unpaid'].map((word): [string, boolean] => [word, false]),
]);

/** The truth a word says ("Ja", " TRUE ", "0"); null for any other text. */
export function parseBooleanWord(text: string): boolean | null {
  return booleanWords.get(text.trim().toLowerCase()) ?? null;
}
