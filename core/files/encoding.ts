import { AppError } from '../errors.js';

export type TextEncodingName = 'utf-8' | 'utf-16le' | 'utf-16be' | 'windows-1252';

/**
 * Which encoding a file's first bytes are in: a byte-order mark says so outright; otherwise valid UTF-8
 * is UTF-8, and anything else that looks like text is taken as Windows-1252 (what Excel on Windows
 * writes for "CSV"). Binary content (NUL bytes without a UTF-16 pattern) is refused. All of `head` is
 * checked for UTF-8; what comes after it is checked as it is read (`TextDecoding`).
 */
export function detectEncoding(head: Uint8Array): { encoding: TextEncodingName; bomLength: number } {
  if (head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf) return { encoding: 'utf-8', bomLength: 3 };
  if (head[0] === 0xff && head[1] === 0xfe) return { encoding: 'utf-16le', bomLength: 2 };
  if (head[0] === 0xfe && head[1] === 0xff) return { encoding: 'utf-16be', bomLength: 2 };
  const sample = head.subarray(0, Math.min(head.length, 4096));
  const zeros = sample.reduce((count, byte) => count + (byte === 0 ? 1 : 0), 0);
  if (zeros > 0) {
    // UTF-16 without a BOM: ASCII text has a zero in every other byte.
    const evenZeros = sample.filter((byte, i) => i % 2 === 0 && byte === 0).length;
    const oddZeros = sample.filter((byte, i) => i % 2 === 1 && byte === 0).length;
    if (oddZeros > sample.length / 4 && evenZeros === 0) return { encoding: 'utf-16le', bomLength: 0 };
    if (evenZeros > sample.length / 4 && oddZeros === 0) return { encoding: 'utf-16be', bomLength: 0 };
    throw new AppError('unsupported_media_type', 'This file is not text (it contains binary data). Upload a CSV file, or an Excel workbook saved as .xlsx.');
  }
  return { encoding: isUtf8(head) ? 'utf-8' : 'windows-1252', bomLength: 0 };
}

/** True when the bytes are valid UTF-8, allowing a multi-byte sequence cut off at the end of the sample. */
function isUtf8(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; ) {
    const byte = bytes[i]!;
    const length = byte < 0x80 ? 1 : byte >> 5 === 0b110 ? 2 : byte >> 4 === 0b1110 ? 3 : byte >> 3 === 0b11110 ? 4 : 0;
    if (length === 0) return false;
    for (let k = 1; k < length; k++) {
      if (i + k >= bytes.length) return true;
      if (bytes[i + k]! >> 6 !== 0b10) return false;
    }
    i += length;
  }
  return true;
}

/** A streaming decoder for a known encoding (TextDecoder keeps split multi-byte characters). */
export function createDecoder(encoding: TextEncodingName): TextDecoder {
  return new TextDecoder(encoding, { fatal: false });
}

/**
 * A file's bytes to text, chunk by chunk, in the encoding detected from its head, without ever turning
 * bytes it cannot read into U+FFFD. UTF-8 is decoded strictly: a Windows-1252 file whose first accented
 * letter comes after the head was taken for UTF-8, and its "Café" stored as "Caf\uFFFD". When the text
 * so far was plain ASCII (the same in both encodings), the rest is read as Windows-1252 and nothing is
 * lost. When UTF-8 letters came before, the file mixes encodings: the rest is read as Windows-1252 too,
 * and `warning` says so, for the preview and the feed to show.
 */
export class TextDecoding {
  private decoder: TextDecoder;
  private asciiSoFar: boolean;
  private bytesRead = 0;
  /** Says what was read in another encoding than the start of the file, when that happened after non-ASCII text. */
  warning: string | null = null;

  constructor(
    public encoding: TextEncodingName,
    bomLength: number,
  ) {
    this.decoder = new TextDecoder(encoding, { fatal: encoding === 'utf-8' });
    // A byte-order mark says the file is UTF-8: bytes that are not are a mixed file, not a misdetection.
    this.asciiSoFar = bomLength === 0;
  }

  /** The text of the next chunk (`final` for the end of the file, to flush a character left incomplete). */
  decode(bytes: Uint8Array, final = false): string {
    let text: string;
    try {
      text = this.decoder.decode(bytes, { stream: !final });
    } catch {
      // Only a strict (UTF-8) decoder throws.
      if (!this.asciiSoFar) {
        this.warning = `This file is not all UTF-8: from about byte ${this.bytesRead.toLocaleString('en-US')} on it was read as Windows-1252. Check accented letters in the rows from there, or save the file again as "CSV UTF-8" and upload it again.`;
      }
      this.encoding = 'windows-1252';
      this.decoder = createDecoder('windows-1252');
      text = this.decoder.decode(bytes, { stream: !final });
    }
    // Valid UTF-8 gives as many UTF-16 units as bytes only when every byte is ASCII.
    if (this.encoding === 'utf-8' && text.length !== bytes.length) this.asciiSoFar = false;
    this.bytesRead += bytes.length;
    return text;
  }
}
