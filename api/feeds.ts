import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { commitFeed } from '../core/feeds/commit.js';
import { feedTransformStatus, listFeeds, rerunFeed } from '../core/feeds/feeds.js';
import { deleteRecord } from '../core/records/service.js';
import { listInvalidRows, listNewProducts, previewFeed, previewUpload, previewWithDateFormat, type CheckProgress } from '../core/feeds/preview.js';
import { duplicateChoices } from '../core/feeds/duplicates.js';
import { deleteUpload } from '../core/feeds/uploads.js';
import { autoCreateInput, autoCreateProducts } from '../core/feeds/products.js';
import type { FeedSettings } from '../core/feeds/settings.js';
import { dataTypes, templateFor, type DataType } from '../core/feeds/templates.js';
import type { JobQueue } from '../core/queue.js';
import { AppError } from '../core/errors.js';
import { contextOf, errorAnswer, handle, parse } from './http.js';
import { streamUpload } from './upload.js';

const dataTypeField = z.enum(dataTypes, { message: 'must be "sales" or "costs"' });

/** A date format typed by a person; whether it can be read is core's to say (checkDateFormat). */
const dateFormatField = z.string().trim().min(1).max(80);

const commitBody = z.object({
  upload_token: z.string().min(1),
  data_type: dataTypeField.optional(),
  auto_create_products: z.boolean().default(false),
  skip_invalid_rows: z.boolean().default(false),
  /** What to do when the file, or rows of it, were already loaded; a commit of such a file without it is refused. */
  duplicates: z.enum(duplicateChoices, { message: 'must be "skip", "replace" or "load_anyway"' }).optional(),
  business_id: z.string().uuid().optional(),
});

const page = z.object({
  offset: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

/**
 * A preview's answer, with its progress first when the caller asks for it (`Accept: application/x-ndjson`):
 * one JSON line `{"progress": {rows_read, percent}}` at most every quarter second while the whole file is
 * checked, then `{"result": …}`, or `{"error": …}` if it failed once lines were sent. Otherwise plain JSON.
 */
async function answerPreview(req: Request, res: Response, check: (onProgress?: (progress: CheckProgress) => void) => Promise<unknown>): Promise<void> {
  if (req.accepts(['application/json', 'application/x-ndjson']) !== 'application/x-ndjson') {
    res.json(await check());
    return;
  }
  const line = (value: unknown) => res.write(`${JSON.stringify(value)}\n`);
  const start = () => {
    if (res.headersSent) return;
    res.status(200).setHeader('Content-Type', 'application/x-ndjson; charset=utf-8');
    res.setHeader('Cache-Control', 'no-store');
  };
  let result: unknown;
  try {
    result = await check((progress) => {
      start();
      line({ progress });
    });
  } catch (error) {
    // Before any line: the usual error answer, with its status.
    if (!res.headersSent) throw error;
    line(errorAnswer(error, req, res).body);
    res.end();
    return;
  }
  start();
  line({ result });
  res.end();
}

/** The data-feed endpoints under /dashboard, named as the source document names them. */
export function feedsRouter(deps: { jobs: JobQueue; settings: FeedSettings }): Router {
  const router = Router();
  router.post(
    '/data-feeds/preview',
    handle(async (req, res) => {
      const ctx = contextOf(req);
      await answerPreview(req, res, (onProgress) =>
        streamUpload(
          req,
          deps.settings.maxUploadBytes,
          async ({ filename, stream, fields }) => {
            const dataType: DataType = parse(dataTypeField, fields.data_type ?? req.query.data_type ?? 'sales', 'data_type');
            const businessId = fields.business_id ?? (typeof req.query.business_id === 'string' ? req.query.business_id : undefined);
            const dateFormat = parse(dateFormatField.optional(), fields.date_format, 'date_format');
            return previewFeed(ctx, deps.settings, { businessId, dataType, filename, stream, dateFormat }, onProgress);
          },
          { lateFields: { refused: ['data_type', 'business_id', 'date_format'], discard: (preview) => deleteUpload(ctx, preview.upload_token) } },
        ),
      );
    }),
  );
  router.post(
    '/data-feeds/commit',
    handle(async (req, res) => {
      const body = parse(commitBody, req.body, 'commit request');
      const result = await commitFeed(contextOf(req), deps.jobs, deps.settings, {
        uploadToken: body.upload_token,
        dataType: body.data_type,
        autoCreateProducts: body.auto_create_products,
        skipInvalidRows: body.skip_invalid_rows,
        duplicates: body.duplicates,
        businessId: body.business_id,
      });
      res.status(202).json(result);
    }),
  );
  router.post(
    '/data-feeds/auto-create-products',
    handle(async (req, res) => {
      res.json(await autoCreateProducts(contextOf(req), parse(autoCreateInput, req.body, 'request')));
    }),
  );
  router.get(
    '/data-feeds',
    handle(async (req, res) => {
      const limit = parse(z.coerce.number().int().min(1).max(200).default(20), req.query.limit, 'limit');
      const uploadToken = parse(z.string().uuid('must be an upload token from a preview').optional(), req.query.upload_token, 'upload_token');
      res.json({ success: true, feeds: await listFeeds(contextOf(req), limit, uploadToken) });
    }),
  );
  router.get(
    '/data-feeds/templates/:dataType.csv',
    handle(async (req, res) => {
      const dataType = parse(dataTypeField, req.params.dataType, 'data type');
      const csv = templateFor(contextOf(req), dataType);
      res.setHeader('Content-Type', 'text/csv; charset=utf-8');
      res.setHeader('Content-Disposition', `attachment; filename="${dataType}-template.csv"`);
      res.send(csv);
    }),
  );
  const feedId = (req: Request) => {
    const id = parse(z.coerce.number().int().positive(), req.params.feed, 'feed id');
    // Feed ids are PostgreSQL integers: a larger number names no feed (and would fail the query).
    if (id > 2_147_483_647) throw new AppError('not_found', `Data feed ${id} was not found.`);
    return id;
  };
  router.get(
    '/data-feeds/preview/:token',
    handle(async (req, res) => {
      await answerPreview(req, res, (onProgress) => previewUpload(contextOf(req), deps.settings, String(req.params.token), onProgress));
    }),
  );
  router.get(
    '/data-feeds/preview/:token/invalid-rows',
    handle(async (req, res) => {
      res.json(await listInvalidRows(contextOf(req), String(req.params.token), parse(page, req.query, 'page')));
    }),
  );
  router.get(
    '/data-feeds/preview/:token/new-products',
    handle(async (req, res) => {
      res.json(await listNewProducts(contextOf(req), String(req.params.token), parse(page, req.query, 'page')));
    }),
  );
  router.post(
    '/data-feeds/preview/:token/date-format',
    handle(async (req, res) => {
      const body = parse(z.object({ date_format: dateFormatField.nullable() }), req.body, 'request');
      await answerPreview(req, res, (onProgress) => previewWithDateFormat(contextOf(req), deps.settings, String(req.params.token), body.date_format, onProgress));
    }),
  );
  router.get(
    '/data-feeds/:feed/transform-status',
    handle(async (req, res) => {
      res.json(await feedTransformStatus(contextOf(req), feedId(req)));
    }),
  );
  router.post(
    '/data-feeds/:feed/rerun',
    handle(async (req, res) => {
      res.status(202).json(await rerunFeed(contextOf(req), deps.jobs, feedId(req)));
    }),
  );
  router.delete(
    '/data-feeds/:feed',
    handle(async (req, res) => {
      // The feed's facts, staging rows and cost history go with it (foreign keys cascade).
      await deleteRecord(contextOf(req), 'feeds', String(feedId(req)));
      res.status(204).end();
    }),
  );
  return router;
}
