import { Router } from 'express';
import { z } from 'zod';
import { AppError } from '../core/errors.js';
import { pageParam, perPageParam } from '../core/paging.js';
import type { RecordResource } from '../core/records/definitions.js';
import { createRecord, deleteRecord, getRecord, listRecords, updateRecord } from '../core/records/service.js';
import { contextOf, handle, parse } from './http.js';

const listQuery = z.object({
  page: pageParam.default(1),
  perPage: perPageParam.default(50),
  sortBy: z.string().regex(/^[a-zA-Z]+$/).optional(),
  direction: z.enum(['asc', 'desc']).default('desc'),
  businessId: z.string().uuid().optional(),
});

/** JSON-safe rows: bigint ids become strings. */
function toJson(row: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(row).map(([key, value]) => [key, typeof value === 'bigint' ? value.toString() : value]));
}

/**
 * REST over one record resource: GET list, GET one, POST, PATCH, DELETE. Each route is one call into
 * core/records, which checks the role and scope and writes the audit log.
 */
export function recordsRouter(resource: RecordResource, options: { readOnly?: boolean } = {}): Router {
  const router = Router();
  router.get(
    '/',
    handle(async (req, res) => {
      const query = parse(listQuery, req.query, 'query');
      const { rows, total } = await listRecords(contextOf(req), resource, {
        where: query.businessId ? { businessId: query.businessId } : {},
        orderBy: query.sortBy ? { [query.sortBy]: query.direction } : { id: 'desc' },
        skip: (query.page - 1) * query.perPage,
        take: query.perPage,
      }).catch((error: unknown) => {
        // An unknown sort field is the caller's mistake, not ours.
        if (error instanceof Error && error.name === 'PrismaClientValidationError') throw new AppError('bad_request', `Cannot sort by "${query.sortBy}".`);
        throw error;
      });
      res.json({ data: rows.map(toJson), meta: { total, page: query.page, perPage: query.perPage } });
    }),
  );
  router.get(
    '/:id',
    handle(async (req, res) => {
      res.json({ data: toJson(await getRecord(contextOf(req), resource, String(req.params.id))) });
    }),
  );
  if (!options.readOnly) {
    router.post(
      '/',
      handle(async (req, res) => {
        res.status(201).json({ data: toJson(await createRecord(contextOf(req), resource, req.body ?? {})) });
      }),
    );
    router.patch(
      '/:id',
      handle(async (req, res) => {
        res.json({ data: toJson(await updateRecord(contextOf(req), resource, String(req.params.id), req.body ?? {})) });
      }),
    );
    router.delete(
      '/:id',
      handle(async (req, res) => {
        await deleteRecord(contextOf(req), resource, String(req.params.id));
        res.status(204).end();
      }),
    );
  }
  return router;
}
