import type { ResourceWithOptions } from 'adminjs';
import { roles } from '../core/auth/principal.js';
import { widgetTypes } from '../core/warehouse/dashboards.js';
import { warehouseViews } from '../core/warehouse/views.js';
import { standardActions } from './access.js';
import { navigation } from './navigation.js';
import { recordsResource, type ResourceFactoryDeps } from './records.js';

const choices = (values: readonly string[]) => values.map((value) => ({ value, label: value }));

/** Dashboard composition (admins): dashboards, their widgets over the warehouse views, and grants to roles. */
export function dashboardResources(deps: ResourceFactoryDeps): ResourceWithOptions[] {
  return [
    {
      resource: recordsResource(deps, 'dashboards'),
      options: {
        id: 'Dashboard',
        navigation: navigation.system,
        titleProperty: 'name',
        listProperties: ['name', 'business', 'description', 'updatedAt'],
        editProperties: ['name', 'description', 'business'],
        showProperties: ['id', 'name', 'description', 'business', 'createdAt', 'updatedAt'],
        sort: { sortBy: 'name', direction: 'asc' },
        properties: {
          business: { description: 'Leave empty for a dashboard every business has (each reader still sees only their own rows).' },
          description: { type: 'textarea' },
        },
        actions: standardActions('dashboards'),
      },
    },
    {
      resource: recordsResource(deps, 'dashboardWidgets'),
      options: {
        id: 'DashboardWidget',
        navigation: navigation.system,
        titleProperty: 'title',
        listProperties: ['title', 'dashboard', 'type', 'viewName', 'position', 'refreshIntervalSeconds'],
        filterProperties: ['dashboard', 'type', 'viewName'],
        editProperties: ['dashboard', 'title', 'type', 'viewName', 'fields', 'refreshIntervalSeconds', 'position'],
        showProperties: ['id', 'dashboard', 'title', 'type', 'viewName', 'fields', 'refreshIntervalSeconds', 'position', 'createdAt', 'updatedAt'],
        sort: { sortBy: 'position', direction: 'asc' },
        properties: {
          dashboard: { isRequired: true },
          type: { availableValues: choices(widgetTypes) },
          viewName: { availableValues: choices(warehouseViews.map((view) => view.name)) },
          fields: {
            type: 'textarea',
            description: 'JSON. kpi: {"value", "series"?}; line/bar: {"x", "y": [...], "series"?}; donut: {"x", "value"}; table: {"columns": [...], "y"?: [...], "sort"?: {"column", "direction"}}; any: "limit". Numbers are summed per x/series.',
          },
          refreshIntervalSeconds: { description: 'How often the page reads the widget again (5 s to a day).' },
        },
        actions: standardActions('dashboardWidgets'),
      },
    },
    {
      resource: recordsResource(deps, 'dashboardPermissions'),
      options: {
        id: 'DashboardPermission',
        navigation: navigation.system,
        listProperties: ['dashboard', 'role', 'canView', 'canEdit'],
        editProperties: ['dashboard', 'role', 'canView', 'canEdit'],
        showProperties: ['id', 'dashboard', 'role', 'canView', 'canEdit'],
        properties: {
          dashboard: { isRequired: true },
          role: { availableValues: choices(roles) },
          canEdit: { description: 'Only admins edit dashboards.' },
        },
        actions: standardActions('dashboardPermissions'),
      },
    },
  ];
}
