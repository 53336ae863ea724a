import busboy from 'busboy';
import express, { type Request, type RequestHandler } from 'express';
import { unreadableForm } from '../api/upload.js';
import { AppError } from '../core/errors.js';

/** The most fields, and the longest field, a form of the admin may have: its records' forms are far smaller. */
const MAX_FIELDS = 1000;
const MAX_FIELD_BYTES = 1024 * 1024;

const json = express.json({ limit: MAX_FIELD_BYTES });

/**
 * The admin's request bodies, read here and handed to AdminJS as express-formidable would (`req.fields`,
 * `req.files`), which then leaves them alone. formidable answered a cut-off or malformed form with a 500, and
 * kept every file sent to any admin route, an anonymous /admin/login included, in the temp folder for ever.
 * The admin takes forms (multipart or URL-encoded) and JSON, and no files: none of its screens uploads one
 * (feeds and data sources are uploaded to the REST API, which keeps them in PostgreSQL).
 */
export const adminBodies: RequestHandler = (req, res, next) => {
  const parsed = (fields: Record<string, unknown>) => {
    Object.assign(req, { fields, files: {}, express_formidable: { parsed: true } });
    next();
  };
  const hasBody = Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined;
  if (!hasBody) return parsed({});
  if (req.is('multipart/form-data') || req.is('application/x-www-form-urlencoded')) {
    readForm(req).then(parsed, next);
    return;
  }
  if (req.is('application/json')) {
    json(req, res, (error?: unknown) => {
      if (error) return next(error);
      // @adminjs/express refuses a request that a body parser read (it expects formidable's fields instead).
      (req as { _body?: boolean })._body = false;
      parsed(typeof req.body === 'object' && req.body !== null ? (req.body as Record<string, unknown>) : {});
    });
    return;
  }
  next(new AppError('unsupported_media_type', `The admin takes forms (multipart/form-data or application/x-www-form-urlencoded) or JSON; this request came as ${req.headers['content-type'] ?? 'no content type'}.`));
};

/** A form's fields, last value of a name kept (as formidable did); refused with what is wrong otherwise. */
function readForm(req: Request): Promise<Record<string, string>> {
  return new Promise((resolve, reject) => {
    let parser: busboy.Busboy;
    try {
      parser = busboy({ headers: req.headers, limits: { fields: MAX_FIELDS, fieldSize: MAX_FIELD_BYTES } });
    } catch (error) {
      reject(unreadableForm(error as Error));
      return;
    }
    const fields: Record<string, string> = {};
    // A file is read and dropped, and the form refused once it is read: a form cut off in its file is told so.
    let fileRefused: AppError | null = null;
    let refused = false;
    // Answered at once; the rest of the request is read and dropped so that the answer reaches the client.
    const refuse = (error: AppError) => {
      if (refused) return;
      refused = true;
      req.unpipe(parser);
      req.resume();
      reject(error);
    };
    parser.on('field', (name, value, info) => {
      if (info.valueTruncated) refuse(new AppError('payload_too_large', `The form field “${name}” is longer than ${MAX_FIELD_BYTES / 1024 / 1024} MB.`));
      fields[name] = value;
    });
    parser.on('fieldsLimit', () => refuse(new AppError('payload_too_large', `The form has more than ${MAX_FIELDS} fields.`)));
    parser.on('file', (name, file) => {
      // Its failure is the form's, heard below; an 'error' event nobody hears ends the process.
      file.on('error', () => undefined);
      file.resume();
      fileRefused ??= new AppError('unsupported_media_type', `The admin takes no files, and this form sent one in its field “${name}”. Upload feeds under Data Feeds › Upload a file, and data sources on the Data sources page.`);
    });
    parser.on('error', (error: Error) => refuse(unreadableForm(error)));
    parser.on('close', () => {
      if (fileRefused) refuse(fileRefused);
      else if (!refused) resolve(fields);
    });
    // A client that disconnects mid-form ends the request without an end, which the form would wait for.
    req.once('close', () => {
      if (!req.complete) parser.destroy(new Error('the connection was closed before the form was complete'));
    });
    req.pipe(parser);
  });
}
