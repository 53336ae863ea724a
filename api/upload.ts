import busboy from 'busboy';
import type { Request } from 'express';
import { PassThrough } from 'node:stream';
import { AppError } from '../core/errors.js';

/**
 * Reads a multipart upload as it arrives: the `file` part is streamed straight to the caller (who keeps
 * it in PostgreSQL), fields are collected. Fields must come before the file to be known in time, which
 * browsers' FormData does when fields are appended first; the data type may also come in the query.
 */
export function streamUpload(req: Request, maxBytes: number, onFile: (file: { filename: string; stream: AsyncIterable<Buffer>; fields: Record<string, string> }) => Promise<unknown>): Promise<unknown> {
  return new Promise((resolve, reject) => {
    if (!req.is('multipart/form-data')) {
      reject(new AppError('unsupported_media_type', 'Send the file as multipart/form-data with a "file" field.'));
      return;
    }
    const fields: Record<string, string> = {};
    let handled: Promise<unknown> | null = null;
    let parser: busboy.Busboy;
    try {
      parser = busboy({ headers: req.headers, limits: { files: 1, fileSize: maxBytes + 1, fields: 20 } });
    } catch (error) {
      reject(new AppError('bad_request', `The upload could not be read: ${(error as Error).message}.`));
      return;
    }
    parser.on('field', (name, value) => (fields[name] = value));
    parser.on('file', (name, file, info) => {
      if (name !== 'file') {
        file.resume();
        return;
      }
      const stream = new PassThrough();
      file.pipe(stream);
      handled = onFile({ filename: info.filename || 'upload', stream, fields: { ...fields } });
      handled.catch((error: unknown) => {
        // Refused (or failed) before the whole file was read: answered at once, and the rest of the request
        // read and dropped so the connection can go on. Left piped into a stream nobody reads, the request
        // stalled and the answer waited for the server's request timeout (minutes).
        file.unpipe(stream);
        stream.destroy();
        file.resume();
        reject(error);
      });
    });
    parser.on('error', (error: Error) => reject(new AppError('bad_request', `The upload could not be read: ${error.message}.`)));
    parser.on('close', () => {
      if (!handled) reject(new AppError('validation_failed', 'No file was uploaded: send it in a form field named "file".'));
      else handled.then(resolve, reject);
    });
    req.pipe(parser);
  });
}
