import { Router } from 'express';
import { z } from 'zod';
import { catalogSearchInput, deleteProductAlias, listProductAliases, mapNameToProduct, productAliasInput, searchCatalog } from '../core/feeds/catalog.js';
import { contextOf, handle, parse } from './http.js';

/** The catalog as the upload page uses it under /dashboard: searching products by name, and the names mapped to them (aliases). */
export function catalogRouter(): Router {
  const router = Router();
  router.get(
    '/catalog/search',
    handle(async (req, res) => {
      res.json(await searchCatalog(contextOf(req), parse(catalogSearchInput, req.query, 'query')));
    }),
  );
  router.get(
    '/product-aliases',
    handle(async (req, res) => {
      const query = parse(z.object({ business_id: z.string().uuid().optional() }), req.query, 'query');
      res.json({ success: true, aliases: await listProductAliases(contextOf(req), query) });
    }),
  );
  router.post(
    '/product-aliases',
    handle(async (req, res) => {
      res.status(201).json({ success: true, alias: await mapNameToProduct(contextOf(req), parse(productAliasInput, req.body, 'request')) });
    }),
  );
  router.delete(
    '/product-aliases/:id',
    handle(async (req, res) => {
      await deleteProductAlias(contextOf(req), String(req.params.id));
      res.status(204).end();
    }),
  );
  return router;
}
