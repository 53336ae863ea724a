import { Router, type Request } from 'express';
import { z } from 'zod';
import { acknowledgeAlert, alertIdInput } from '../core/ingest/alerts.js';
import { confirmLinkInput, confirmProductLink, linkCoverage, relinkChoices, relinkInput, relinkProduct } from '../core/ingest/review.js';
import { silverBrowseSpecs, silverTransactionWithItems } from '../core/ingest/screens.js';
import { pageParam, perPageParam } from '../core/paging.js';
import { browseRows, type BrowseSpec } from '../core/warehouse/browse.js';
import { contextOf, handle, parse } from './http.js';

/** page, perPage, and equality filters on the list's columns (core refuses a column it does not have). */
const listQuery = z.object({ page: pageParam.default(1), perPage: perPageParam.default(50) }).catchall(z.string().max(200, 'must be at most 200 characters'));
const relinkBody = z.object({ product_id: z.string() }).strict();
const choicesQuery = z.object({ search: z.string().max(200).optional() }).strict();
const coverageQuery = z.object({ business_id: z.string().uuid('must be a business id (a UUID)').optional() }).strict();

async function list(req: Request, spec: BrowseSpec, forced: Record<string, string> = {}) {
  const { page, perPage, ...filters } = parse(listQuery, req.query, 'query');
  const { rows, total } = await browseRows(contextOf(req), spec, { filters: { ...filters, ...forced }, skip: (page - 1) * perPage, take: perPage });
  return { data: rows, meta: { total, page, perPage } };
}

/**
 * Silver over REST (issue 17), read-only but for the review and alert actions, which call the same core
 * functions as the admin's buttons. Core checks role and scope: admins and ops act, managers read their
 * shops, dashboard readers get nothing, and ingest API keys are not accepted here at all.
 */
export function silverRouter(): Router {
  const router = Router();
  router.get('/transactions', handle(async (req, res) => res.json(await list(req, silverBrowseSpecs.transactions))));
  router.get('/transactions/:id', handle(async (req, res) => res.json({ data: await silverTransactionWithItems(contextOf(req), String(req.params.id)) })));
  router.get('/product-links', handle(async (req, res) => res.json(await list(req, silverBrowseSpecs.productLinks))));
  router.get('/review-queue', handle(async (req, res) => res.json(await list(req, silverBrowseSpecs.productLinks, { status: 'review' }))));
  router.get(
    '/coverage',
    handle(async (req, res) => res.json({ data: await linkCoverage(contextOf(req), parse(coverageQuery, req.query, 'query')) })),
  );
  router.get(
    '/product-links/:id/choices',
    handle(async (req, res) => res.json({ data: await relinkChoices(contextOf(req), { link_id: String(req.params.id), ...parse(choicesQuery, req.query, 'query') }) })),
  );
  router.post(
    '/product-links/:id/confirm',
    handle(async (req, res) => res.json({ data: await confirmProductLink(contextOf(req), parse(confirmLinkInput, { link_id: String(req.params.id) }, 'address')) })),
  );
  router.post(
    '/product-links/:id/relink',
    handle(async (req, res) => {
      const body = parse(relinkBody, req.body ?? {}, 'body');
      res.json({ data: await relinkProduct(contextOf(req), parse(relinkInput, { link_id: String(req.params.id), product_id: body.product_id }, 'request')) });
    }),
  );
  router.get('/alerts', handle(async (req, res) => res.json(await list(req, silverBrowseSpecs.alerts))));
  router.post(
    '/alerts/:id/acknowledge',
    handle(async (req, res) => res.json({ data: await acknowledgeAlert(contextOf(req), parse(alertIdInput, { alert_id: String(req.params.id) }, 'address')) })),
  );
  return router;
}
