import type { ResourceWithOptions } from 'adminjs';
import { navigation } from './navigation.js';
import { recordActions, recordsResource, type ResourceFactoryDeps } from './records.js';
import { browseSpecs } from '../core/warehouse/browse.js';
import { browseScreen } from './browse-resource.js';

/** Catalog screens: products (more to come: costs, categories). */
export function catalogResources(deps: ResourceFactoryDeps): ResourceWithOptions[] {
  return [
    {
      resource: recordsResource(deps, 'products'),
      options: {
        id: 'Product',
        navigation: navigation.catalog,
        titleProperty: 'name',
        listProperties: ['name', 'category', 'unit', 'sellingPriceCents', 'costPriceCents', 'active', 'business'],
        filterProperties: ['name', 'category', 'active', 'business'],
        editProperties: ['business', 'name', 'category', 'unit', 'sellingPriceCents', 'costPriceCents', 'active'],
        showProperties: ['id', 'business', 'name', 'category', 'unit', 'sellingPriceCents', 'costPriceCents', 'active', 'createdAt', 'updatedAt'],
        sort: { sortBy: 'name', direction: 'asc' },
        properties: {
          business: { isRequired: false, description: 'Leave empty to use your own business.' },
          sellingPriceCents: { type: 'number', isRequired: true, description: 'In cents: 12.50 is 1250.' },
          costPriceCents: { type: 'number', isRequired: false, description: 'In cents: what one unit costs you to make or buy.' },
          unit: { isRequired: false, description: 'How the product is counted: each, loaf, kg… Empty means "each".' },
        },
        actions: recordActions(deps, 'products'),
      },
    },
    // Cost history from cost feeds: what a product's unit cost is made of, and since when.
    browseScreen('ProductCost', browseSpecs.productCosts, deps, navigation.catalog),
  ];
}
