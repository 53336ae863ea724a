import type { Action, ActionResponse, ResourceWithOptions } from 'adminjs';
import { navigation } from './navigation.js';
import { recordActions, recordsResource, type ResourceFactoryDeps } from './records.js';

/** Organisation screens: businesses (tenants) and their shops; a business's data-quality settings (resources/ingest.ts). */
export function organisationResources(deps: ResourceFactoryDeps, businessActions: { qualitySettings: Action<ActionResponse> }): ResourceWithOptions[] {
  return [
    {
      resource: recordsResource(deps, 'businesses'),
      options: {
        id: 'Business',
        navigation: navigation.organisation,
        titleProperty: 'name',
        listProperties: ['name', 'timezone', 'currency', 'createdAt'],
        editProperties: ['name', 'timezone', 'currency', 'goldExcludesSimulated'],
        sort: { sortBy: 'name', direction: 'asc' },
        properties: {
          timezone: { description: 'IANA time zone of the business day, for example Europe/London.' },
          goldExcludesSimulated: { description: 'Exclude simulated data from gold dashboards: sales dashboards of ingested transactions leave out what the simulator sent.' },
        },
        actions: { ...recordActions(deps, 'businesses'), ...businessActions },
      },
    },
    {
      resource: recordsResource(deps, 'shops'),
      options: {
        id: 'Shop',
        navigation: navigation.organisation,
        titleProperty: 'name',
        listProperties: ['name', 'code', 'business', 'createdAt'],
        editProperties: ['business', 'name', 'code'],
        sort: { sortBy: 'name', direction: 'asc' },
        properties: { business: { isRequired: true } },
        actions: recordActions(deps, 'shops'),
      },
    },
  ];
}
