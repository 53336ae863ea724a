import { AppError } from '../errors.js';

export type TextEncodingName = 'utf-8' | 'utf-16le' | 'utf-16be' | 'windows-1252';

/**
 * Which encoding a file's first bytes are in: a byte-order mark says so outright; otherwise valid UTF-8
 * is UTF-8, and anything else that looks like text is taken as Windows-1252 (what Excel on Windows
 * writes for "CSV"). Binary content (NUL bytes without a UTF-16 pattern) is refused.
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
  return { encoding: isUtf8(sample) ? 'utf-8' : 'windows-1252', bomLength: 0 };
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

/** A streaming decoder for the detected encoding (TextDecoder keeps split multi-byte characters). */
export function createDecoder(encoding: TextEncodingName): TextDecoder {
  return new TextDecoder(encoding, { fatal: false });
}
