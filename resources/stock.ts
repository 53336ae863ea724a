import type { ResourceWithOptions } from 'adminjs';
import { stockBrowseSpecs } from '../core/pipelines/stock_health/browse.js';
import { browseScreen } from './browse-resource.js';
import type { AdminDeps } from './context.js';

const stock = { name: 'Stock', icon: 'Package' };

/** Stock health and PO snapshots of the file pipelines: read-only, each person's business and stores. */
export function stockResources(deps: AdminDeps): ResourceWithOptions[] {
  return [browseScreen('StockHealth', stockBrowseSpecs.stockHealth, deps, stock), browseScreen('PoLines', stockBrowseSpecs.poSnapshots, deps, stock)];
}
