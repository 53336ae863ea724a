import { Router } from 'express';
import { z } from 'zod';
import type { Config } from '../core/config.js';
import type { Logger } from '../core/log.js';
import { proposerFromConfig } from '../core/mapping/llm-proposer.js';
import { approveMapping, listMappingVersions, previewMapping, proposeMapping, saveMapping } from '../core/mapping/mappings.js';
import { createDataSource, getDataSource, listDataSources, sourceSettings } from '../core/mapping/sources.js';
import { streamUpload } from './upload.js';
import { contextOf, handle, parse } from './http.js';

const proposeBody = z.object({
  data_source_id: z.string().min(1),
  table_hint: z.string().min(1).optional(),
  domain_hints: z.array(z.string().max(100)).max(20).optional(),
});

const columnsField = z.array(z.unknown()).min(1, 'must list at least one column').max(500);

const saveBody = z.object({ data_source_id: z.string().min(1), table: z.string().min(1), columns: columnsField });
const previewBody = z.object({ data_source_id: z.string().min(1), table: z.string().min(1), columns: columnsField });
const approveBody = z.object({ mapping_version_id: z.string().min(1) });
const listQuery = z.object({ limit: z.coerce.number().int().min(1).max(200).default(50) });

/**
 * Data sources and their mappings: upload, propose, save, preview and approve. Each column mapping is
 * checked by core (transforms' own schema), so the edge passes columns through as they came.
 */
export function mappingRouter(deps: { config: Config; log: Logger }): Router {
  const router = Router();
  const settings = sourceSettings(deps.config);
  const proposer = proposerFromConfig(deps.config, deps.log);
  router.post(
    '/data-sources',
    handle(async (req, res) => {
      const ctx = contextOf(req);
      const created = await streamUpload(req, settings.maxUploadBytes, async ({ filename, stream, fields }) =>
        createDataSource(ctx, settings, { businessId: fields.business_id, name: fields.name, filename, stream }),
      );
      res.status(201).json(created);
    }),
  );
  router.get(
    '/data-sources',
    handle(async (req, res) => {
      const query = parse(listQuery, req.query, 'query');
      res.json({ data: await listDataSources(contextOf(req), { take: query.limit }) });
    }),
  );
  router.get(
    '/data-sources/:id/mappings',
    handle(async (req, res) => {
      res.json({ data: await listMappingVersions(contextOf(req), String(req.params.id)) });
    }),
  );
  router.get(
    '/data-sources/:id',
    handle(async (req, res) => {
      res.json(await getDataSource(contextOf(req), String(req.params.id)));
    }),
  );
  router.post(
    '/mapping/propose',
    handle(async (req, res) => {
      const body = parse(proposeBody, req.body, 'propose request');
      res.json(await proposeMapping(contextOf(req), proposer, { dataSourceId: body.data_source_id, tableHint: body.table_hint, domainHints: body.domain_hints }));
    }),
  );
  router.post(
    '/mapping/save',
    handle(async (req, res) => {
      const body = parse(saveBody, req.body, 'save request');
      res.status(201).json(await saveMapping(contextOf(req), { dataSourceId: body.data_source_id, table: body.table, columns: body.columns }));
    }),
  );
  router.post(
    '/mapping/preview',
    handle(async (req, res) => {
      const body = parse(previewBody, req.body, 'preview request');
      res.json(await previewMapping(contextOf(req), settings, { dataSourceId: body.data_source_id, table: body.table, columns: body.columns }));
    }),
  );
  router.post(
    '/mapping/approve',
    handle(async (req, res) => {
      const body = parse(approveBody, req.body, 'approve request');
      res.json(await approveMapping(contextOf(req), body.mapping_version_id));
    }),
  );
  return router;
}
