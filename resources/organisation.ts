import type { ResourceWithOptions } from 'adminjs';
import { standardActions } from './access.js';
import { navigation } from './navigation.js';
import { recordsResource, type ResourceFactoryDeps } from './records.js';

/** Organisation screens: businesses (tenants) and their shops. */
export function organisationResources(deps: ResourceFactoryDeps): ResourceWithOptions[] {
  return [
    {
      resource: recordsResource(deps, 'businesses'),
      options: {
        id: 'Business',
        navigation: navigation.organisation,
        titleProperty: 'name',
        listProperties: ['name', 'timezone', 'currency', 'createdAt'],
        editProperties: ['name', 'timezone', 'currency'],
        sort: { sortBy: 'name', direction: 'asc' },
        properties: { timezone: { description: 'IANA time zone of the business day, for example Europe/London.' } },
        actions: standardActions('businesses'),
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
        actions: standardActions('shops'),
      },
    },
  ];
}
