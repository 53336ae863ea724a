import type { ResourceWithOptions } from 'adminjs';
import { roles } from '../core/auth/principal.js';
import { widgetTypes } from '../core/warehouse/dashboards.js';
import { warehouseViews } from '../core/warehouse/views.js';
import { navigation } from './navigation.js';
import { recordActions, recordsResource, type ResourceFactoryDeps } from './records.js';

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
        listProperties: ['name', 'slug', 'business', 'description', 'updatedAt'],
        editProperties: ['name', 'description', 'business', 'slug', 'filters'],
        showProperties: ['id', 'name', 'slug', 'description', 'business', 'filters', 'createdAt', 'updatedAt'],
        sort: { sortBy: 'name', direction: 'asc' },
        properties: {
          business: { description: 'Leave empty for a dashboard every business has (each reader still sees only their own rows).' },
          description: { type: 'textarea' },
          slug: { description: 'How a page finds the dashboard: "sales" is the Metrics page. Optional.' },
          filters: {
            type: 'textarea',
            description: 'JSON: the filters the page offers and their defaults, e.g. {"range": "last_30_days", "group_by": "day", "product": true, "compare": "previous_period"} (ranges: last_7_days, last_30_days, this_quarter, year_to_date, last_12_months, all_time, custom; compare: previous_period or previous_year). Widgets keep to them when their fields name "date" / "product".',
          },
        },
        actions: recordActions(deps, 'dashboards'),
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
            description:
              'JSON. kpi: {"value", "series"?, "compare"?: "previous_period" | "previous_year"}; line/bar: {"x", "y": [...], "series"?}; donut: {"x", "value"}; table: {"columns": [...], "y"?: [...], "sort"?: {"column", "direction"}}; any: "limit", "ratios": {"name": {"numerator", "denominator", "percent"?}}, "date" (follows the dashboard\'s range), "product" (follows its product filter), "drill" (a click sets the product filter). Numbers are summed per x/series.',
          },
          refreshIntervalSeconds: { description: 'How often the page reads the widget again (5 s to a day).' },
        },
        actions: recordActions(deps, 'dashboardWidgets'),
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
        actions: recordActions(deps, 'dashboardPermissions'),
      },
    },
  ];
}
