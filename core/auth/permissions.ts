import { AppError } from '../errors.js';
import type { Principal, Role } from './principal.js';

/** Everything a permission can be asked about. New capabilities add their resources here. */
export const resources = ['users', 'businesses', 'shops', 'products', 'auditLog', 'jobs', 'dashboards', 'dashboardWidgets', 'dashboardPermissions', 'feeds', 'metrics', 'staging', 'dataSources', 'mappings', 'pii', 'mappingExecutions', 'silverTransactions', 'productLinks', 'ingestFailures', 'dataQualityAlerts', 'ingestQualitySettings', 'ingestKeys', 'ingestSimulator', 'tekmetric', 'tekmetricCustomers', 'tekmetricSync', 'tekmetricConnections', 'webhooks', 'webhookDeliveries', 'pipelineRuns', 'pipelineSources', 'stockSnapshots'] as const;
export type Resource = (typeof resources)[number];

export const actions = ['list', 'show', 'new', 'edit', 'delete', 'retry', 'view', 'rerun', 'approve'] as const;
export type Action = (typeof actions)[number];

const read = ['list', 'show'] as const;
const crud = ['list', 'show', 'new', 'edit', 'delete'] as const;

/**
 * The permission matrix: role × resource → allowed actions. Anything not listed is denied.
 * Which rows of an allowed resource a person sees is decided by ./scope.ts.
 */
export const permissionMatrix: Record<Role, Partial<Record<Resource, readonly Action[]>>> = {
  admin: {
    users: crud,
    businesses: crud,
    shops: crud,
    products: crud,
    auditLog: read,
    jobs: [...read, 'retry'],
    // Admins compose dashboards and grant them to roles; everyone views the ones granted to their role.
    dashboards: ['view', ...crud],
    dashboardWidgets: crud,
    dashboardPermissions: crud,
    // Feeds: `new` is preview and commit; `rerun` loads a feed again; delete takes its facts with it.
    feeds: [...read, 'new', 'delete', 'rerun'],
    metrics: ['view'],
    // Staged rows of feeds that have not loaded (yet): for admins investigating a failed load.
    staging: read,
    // Mapping: `new` uploads a data source / saves a mapping version; only admins approve one.
    dataSources: [...read, 'new'],
    mappings: [...read, 'new', 'approve'],
    // Unmasked values of columns flagged as personal data (emails, phones, cards, IBANs, addresses).
    pii: ['view'],
    // Loads of a data source with its layout's approved mapping: `new` executes; reads show progress and rejects.
    mappingExecutions: [...read, 'new'],
    // Streaming ingestion's silver (issue 17): `edit` confirms or re-links a product link, acknowledges an alert; `retry` sends failed events back.
    silverTransactions: read,
    productLinks: [...read, 'edit'],
    ingestFailures: [...read, 'retry'],
    dataQualityAlerts: [...read, 'edit'],
    // Per business: the transaction threshold, future-timestamp tolerance and whether gold leaves simulated data out.
    ingestQualitySettings: ['show', 'edit'],
    // Point-of-sale API keys (delete is revoke) and the traffic simulator (new starts it, delete stops it): admins only.
    ingestKeys: [...read, 'new', 'delete'],
    ingestSimulator: ['view', 'new', 'delete'],
    // Tekmetric (issue 19): the synced entities and metrics (`edit` sets pay rates and takes a repair order's
    // snapshot), customers with personal data, sync runs (`new` starts one), connections.
    tekmetric: [...read, 'edit'],
    tekmetricCustomers: read,
    tekmetricSync: [...read, 'new'],
    tekmetricConnections: crud,
    // File pipelines: `new` is "Run now"; `retry` reprocesses a run's failed files.
    pipelineRuns: [...read, 'new', 'retry'],
    pipelineSources: crud,
    // Stock health and PO snapshots of the file pipelines: read-only, rows of the person's stores.
    stockSnapshots: read,
    // Outbound notifications: webhooks (`retry` sends a test event) and their deliveries (`retry` redelivers).
    webhooks: [...crud, 'retry'],
    webhookDeliveries: [...read, 'retry'],
  },
  ops: {
    businesses: read,
    shops: read,
    products: crud,
    dashboards: ['view'],
    // Ops undo their own business's feeds (a file loaded twice): delete, or replace at a commit. Re-runs stay admins'.
    feeds: [...read, 'new', 'delete'],
    metrics: ['view'],
    dataSources: [...read, 'new'],
    mappings: [...read, 'new'],
    // Ops upload the files themselves, so masking their own file's samples would hide nothing from them.
    pii: ['view'],
    // Approval (admins only) is the gate; loading with an approved mapping is ops' daily work with their uploads.
    mappingExecutions: [...read, 'new'],
    silverTransactions: read,
    productLinks: [...read, 'edit'],
    ingestFailures: [...read, 'retry'],
    dataQualityAlerts: [...read, 'edit'],
    // Ops set technicians' and shops' pay rates and take repair-order snapshots.
    tekmetric: [...read, 'edit'],
    tekmetricCustomers: read,
    tekmetricSync: [...read, 'new'],
    // Ops follow the day's runs and may start one; retrying failed files stays admins'.
    pipelineRuns: [...read, 'new'],
    pipelineSources: read,
    stockSnapshots: read,
  },
  // Managers read dashboards and their own business's profile and shops; data screens are for ops.
  manager: {
    businesses: read,
    shops: read,
    dashboards: ['view'],
    metrics: ['view'],
    // Managers may look at their business's data sources and proposals, with personal data masked.
    dataSources: read,
    mappings: read,
    // Their shops' transactions and alerts, to look at; ops link products and handle alerts.
    silverTransactions: read,
    productLinks: read,
    dataQualityAlerts: read,
    // Their own shops' Tekmetric data and sync status, without customers' personal data (customers_analytics).
    tekmetric: read,
    tekmetricSync: read,
    // Managers see their stores' stock health (stockouts, critical items, suggested orders).
    stockSnapshots: read,
  },
  // Reads the dashboards granted to its role (of its business, and within it its shops when it has some), nothing else.
  dashboard_reader: {
    dashboards: ['view'],
  },
};

export function can(principal: Principal | null | undefined, resource: Resource, action: Action): boolean {
  if (!principal) return false;
  if (principal.kind === 'system') return true;
  return permissionMatrix[principal.role]?.[resource]?.includes(action) ?? false;
}

/** An action and a resource as a refusal words them ("create data feeds", not "new feeds"). */
const actionWords: Record<Action, string> = { list: 'list', show: 'open', new: 'create', edit: 'change', delete: 'delete', retry: 'retry', view: 'see', rerun: 're-run', approve: 'approve' };
const resourceWords: Record<Resource, string> = {
  users: 'users',
  businesses: 'businesses',
  shops: 'shops',
  products: 'products',
  auditLog: 'the audit log',
  jobs: 'jobs',
  dashboards: 'dashboards',
  dashboardWidgets: 'dashboard widgets',
  dashboardPermissions: 'dashboard permissions',
  feeds: 'data feeds',
  metrics: 'metrics',
  staging: 'staged rows',
  dataSources: 'data sources',
  mappings: 'mappings',
  pii: 'personal data',
  mappingExecutions: 'mapping executions',
  silverTransactions: 'ingested transactions',
  productLinks: 'product links',
  ingestFailures: 'failed ingest events',
  dataQualityAlerts: 'data-quality alerts',
  ingestQualitySettings: 'data-quality settings',
  ingestKeys: 'ingest API keys',
  ingestSimulator: 'the ingest simulator',
  tekmetric: 'Tekmetric data',
  tekmetricCustomers: "Tekmetric customers' personal data",
  tekmetricSync: 'Tekmetric syncs',
  tekmetricConnections: 'Tekmetric connections',
  pipelineRuns: 'pipeline runs',
  pipelineSources: 'pipeline sources',
  stockSnapshots: 'stock snapshots',
  webhooks: 'webhooks',
  webhookDeliveries: 'webhook deliveries',
};

export function assertCan(principal: Principal | null | undefined, resource: Resource, action: Action): void {
  if (!principal) throw new AppError('unauthenticated', 'Sign in first.');
  if (!can(principal, resource, action)) {
    const role = principal.kind === 'user' ? ` (${principal.role})` : '';
    throw new AppError('forbidden', `Your role${role} may not ${actionWords[action]} ${resourceWords[resource]}.`);
  }
}
