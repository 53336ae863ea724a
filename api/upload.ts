import busboy from 'busboy';
import type { Request } from 'express';
import { PassThrough } from 'node:stream';
import { AppError } from '../core/errors.js';

/**
 * Reads a multipart upload as it arrives: the `file` part is streamed straight to the caller (who keeps
 * it in PostgreSQL), fields are collected. Fields must come before the file to be known in time, which
 * browsers' FormData does when fields are appended first; the data type may also come in the query. Fields
 * in `lateFields.refused` that come after the file refuse the upload, and what the file made is discarded.
 */
export function streamUpload<T>(
  req: Request,
  maxBytes: number,
  onFile: (file: { filename: string; stream: AsyncIterable<Buffer>; fields: Record<string, string> }) => Promise<T>,
  options: { lateFields?: { refused: string[]; discard: (result: T) => Promise<void> } } = {},
): Promise<T> {
  return new Promise((resolve, reject) => {
    if (!req.is('multipart/form-data')) {
      reject(new AppError('unsupported_media_type', 'Send the file as multipart/form-data with a "file" field.'));
      return;
    }
    const fields: Record<string, string> = {};
    let handled: Promise<T> | null = null;
    const late: string[] = [];
    let parser: busboy.Busboy;
    try {
      parser = busboy({ headers: req.headers, limits: { files: 1, fileSize: maxBytes + 1, fields: 20 } });
    } catch (error) {
      reject(unreadableForm(error as Error));
      return;
    }
    // The form could not be read to its end: cut off, malformed, or the client went away. Whatever reads the
    // file fails with the same reason (busboy destroys the file's stream with it), so that its transaction
    // rolls back; the rest of the request is read and dropped so that the answer reaches the client.
    let failure: AppError | null = null;
    parser.on('error', (error: Error) => {
      failure ??= unreadableForm(error);
      req.unpipe(parser);
      req.resume();
      reject(failure);
    });
    // A client that disconnects mid-upload ends the request without an end: the form would wait for it for
    // ever, holding the COPY's connection and transaction.
    req.once('close', () => {
      if (!req.complete) parser.destroy(new Error('the connection was closed before the upload was complete'));
    });
    parser.on('field', (name, value) => {
      if (handled && options.lateFields?.refused.includes(name)) late.push(name);
      fields[name] = value;
    });
    parser.on('file', (name, file, info) => {
      if (name !== 'file') {
        // Its failure is the form's, heard above; an 'error' event nobody hears ends the process.
        file.on('error', () => undefined);
        file.resume();
        return;
      }
      const stream = new PassThrough();
      // The file fails with the form (busboy destroys it), and its reader hears why from its iteration, which
      // may begin after the failure (while the upload's row is being created): the event itself is not needed.
      file.on('error', (error: Error) => stream.destroy(failure ?? unreadableForm(error)));
      stream.on('error', () => undefined);
      file.pipe(stream);
      handled = onFile({ filename: info.filename || 'upload', stream, fields: { ...fields } });
      let fileRead = false;
      file.once('end', () => (fileRead = true));
      handled.catch((error: unknown) => {
        // Refused (or failed) before the whole file was read: answered at once, and the rest of the request
        // read and dropped so the connection can go on. Left piped into a stream nobody reads, the request
        // stalled and the answer waited for the server's request timeout (minutes). Once the file is read,
        // the answer waits for the fields after it (which may explain the failure).
        file.unpipe(stream);
        stream.destroy();
        file.resume();
        if (!fileRead) reject(error);
      });
    });
    parser.on('close', () => {
      if (failure) return;
      if (!handled) reject(new AppError('validation_failed', 'No file was uploaded: send it in a form field named "file".'));
      else if (late.length > 0 && options.lateFields) {
        // The file was read without them: what it made is undone, and the caller told to send them first.
        const { discard } = options.lateFields;
        const refusal = new AppError('bad_request', `The form field${late.length > 1 ? 's' : ''} ${late.join(', ')} came after the file, too late to be used for it. Send the fields first, then the file.`);
        handled.then((result) => discard(result)).then(() => reject(refusal), () => reject(refusal));
      } else handled.then(resolve, reject);
    });
    req.pipe(parser);
  });
}

/** Why a form (multipart or URL-encoded) could not be read, for the one who sent it. */
export function unreadableForm(error: Error): AppError {
  if (/unexpected end of form/i.test(error.message)) {
    return new AppError('bad_request', 'The form ended before it was complete: the connection may have been cut, or the form was not closed with its final boundary. Send it again.');
  }
  return new AppError('bad_request', `The form could not be read (${error.message.replace(/\.$/, '')}). Send it again as multipart/form-data.`);
}
