import type { ActionContext, ActionRequest, ResourceWithOptions } from 'adminjs';
import { z } from 'zod';
import { AppError } from '../core/errors.js';
import type { JobQueue } from '../core/queue.js';
import { tekmetricBrowseSpecs } from '../core/tekmetric/browse.js';
import { createConnection, testConnection } from '../core/tekmetric/connections.js';
import { takeManualSnapshot } from '../core/tekmetric/metrics.js';
import { repairOrderDetail } from '../core/tekmetric/repair-order.js';
import { requestSyncRun } from '../core/tekmetric/sync/runs.js';
import { browseScreen } from './browse-resource.js';
import { allowed, businessChoices, coreContext, toAdminError, type AdminDeps } from './context.js';

const navigation = { name: 'Tekmetric', icon: 'Truck' };

const syncRequest = z.discriminatedUnion('mode', [
  z.object({ mode: z.literal('incremental') }),
  z.object({ mode: z.literal('backfill'), days: z.coerce.number({ message: 'Days must be a number' }).int('Days must be a whole number').min(1, 'Days must be at least 1').max(3650, 'Days may be at most 3650') }),
  z.object({ mode: z.literal('repair_order'), repairOrderId: z.coerce.number({ message: 'The repair order id must be a number' }).int().positive('The repair order id must be a positive number') }),
]);

/** The shop's "Sync now / Backfill N days / Sync one repair order" action: starts a run (a job) and answers its id. */
function syncAction(deps: AdminDeps, queue: JobQueue, component: string) {
  return {
    name: 'sync',
    actionType: 'record' as const,
    icon: 'RefreshCw',
    component,
    isAccessible: allowed('tekmetricSync', 'new'),
    handler: async (request: ActionRequest, _response: unknown, context: ActionContext) => {
      const record = context.record!.toJSON(context.currentAdmin);
      if (request.method !== 'post') return { record };
      const ctx = coreContext(deps, context);
      const parsed = syncRequest.safeParse(request.payload ?? {});
      if (!parsed.success) return { record, notice: { message: parsed.error.issues.map((i) => i.message).join('; '), type: 'error' as const } };
      const shopId = Number(context.record!.params.tekmetricId);
      const input = parsed.data;
      const run = await requestSyncRun(ctx, queue, {
        kind: input.mode,
        shopId,
        params: input.mode === 'backfill' ? { daysBack: input.days } : input.mode === 'repair_order' ? { repairOrderId: input.repairOrderId } : {},
      }).catch((error: unknown) => (error instanceof AppError && error.code === 'conflict' ? { conflict: error.message } : toAdminError(error)));
      if ('conflict' in run) return { record, notice: { message: run.conflict, type: 'error' as const } };
      return { record, runId: run.id, notice: { message: `Sync run ${run.id} started.`, type: 'success' as const } };
    },
  };
}

const connectForm = z.object({
  step: z.enum(['test', 'connect']),
  name: z.string().optional(),
  baseUrl: z.string({ message: 'Enter the base URL' }),
  clientId: z.string({ message: 'Enter the client id' }),
  clientSecret: z.string({ message: 'Enter the client secret' }),
  // Per Tekmetric shop id, the business to link it to ("" or absent: a new business named after the shop).
  links: z
    .string()
    .optional()
    .transform((text, check) => {
      try {
        return z.record(z.string().regex(/^\d+$/), z.string()).parse(JSON.parse(text || '{}'));
      } catch {
        check.addIssue({ code: 'custom', message: 'The shops’ businesses could not be read: test the connection again.' });
        return z.NEVER;
      }
    }),
});

/**
 * The admin's form for a new connection: "Test connection" (a token, and the shops of its scope) then
 * "Connect" (stored with its secret sealed, each shop linked to the business picked for it). Admins only;
 * core checks the permission again and audits the connection and its links.
 */
function connectAction(deps: AdminDeps, component: string) {
  return {
    name: 'connect',
    actionType: 'resource' as const,
    icon: 'Plus',
    component,
    isAccessible: allowed('tekmetricConnections', 'new'),
    handler: async (request: ActionRequest, _response: unknown, context: ActionContext) => {
      const ctx = coreContext(deps, context);
      if (request.method !== 'post') return { businesses: await businessChoices(ctx) };
      const parsed = connectForm.safeParse(request.payload ?? {});
      if (!parsed.success) return { notice: { message: parsed.error.issues.map((i) => i.message).join('; '), type: 'error' as const } };
      const form = parsed.data;
      const credentials = { baseUrl: form.baseUrl.trim(), clientId: form.clientId, clientSecret: form.clientSecret };
      try {
        if (form.step === 'test') return { shops: await testConnection(ctx, credentials) };
        const businessFor = Object.fromEntries(Object.entries(form.links).filter(([, businessId]) => businessId !== '').map(([shopId, businessId]) => [Number(shopId), businessId]));
        const { connection, shops } = await createConnection(ctx, { ...credentials, name: form.name?.trim() || `Tekmetric (${credentials.baseUrl.replace(/^https?:\/\//, '')})` }, { businessFor });
        return { connectionId: connection.id, linked: shops, notice: { message: `Connected: ${shops.length} shop(s) linked.`, type: 'success' as const } };
      } catch (error) {
        if (error instanceof AppError && (error.code === 'bad_request' || error.code === 'not_found')) return { notice: { message: error.message, type: 'error' as const } };
        return toAdminError(error);
      }
    },
  };
}

/** A repair order's record named "shop:id" as its Tekmetric shop and id. */
function repairOrderKey(context: ActionContext): { shopId: number; repairOrderId: number } {
  const params = context.record!.params;
  return { shopId: Number(params.shopId), repairOrderId: Number(params.tekmetricId) };
}

/** The repair order's page: its jobs and lines nested and how its totals add up (core/tekmetric/repair-order.ts). */
function repairOrderShow(deps: AdminDeps, component: string) {
  return {
    isAccessible: allowed('tekmetric', 'show'),
    component,
    handler: async (_request: ActionRequest, _response: unknown, context: ActionContext) => {
      const record = context.record!.toJSON(context.currentAdmin);
      const { shopId, repairOrderId } = repairOrderKey(context);
      const detail = await repairOrderDetail(coreContext(deps, context), shopId, repairOrderId).catch(toAdminError);
      return { record, detail };
    },
  };
}

/** "Take snapshot" on a repair order's page (a POST from it): ops and admins, audited by core. */
function snapshotAction(deps: AdminDeps) {
  return {
    name: 'snapshot',
    actionType: 'record' as const,
    icon: 'Camera',
    component: false as const,
    // The button is on the repair order's page, which shows the snapshot taken.
    isVisible: false,
    isAccessible: allowed('tekmetric', 'edit'),
    handler: async (request: ActionRequest, _response: unknown, context: ActionContext) => {
      const record = context.record!.toJSON(context.currentAdmin);
      if (request.method !== 'post') return { record, notice: { message: 'Take a snapshot from the repair order’s page.', type: 'error' as const } };
      const { shopId, repairOrderId } = repairOrderKey(context);
      await takeManualSnapshot(coreContext(deps, context), shopId, repairOrderId).catch(toAdminError);
      return { record, notice: { message: `Snapshot of repair order ${repairOrderId} taken.`, type: 'success' as const } };
    },
  };
}

/** Tekmetric: every synced entity read-only (filtered, searchable, scoped), the sync runs and log, and the shop's sync actions. */
export function tekmetricResources(deps: AdminDeps, queue: JobQueue, components: { sync: string; repairOrder: string; connect: string }): ResourceWithOptions[] {
  const s = tekmetricBrowseSpecs;
  const shops = browseScreen('TekmetricShop', s.shops, deps, navigation);
  shops.options.actions = { ...shops.options.actions, sync: syncAction(deps, queue, components.sync) };
  const repairOrders = browseScreen('TekmetricRepairOrder', s.repairOrders, deps, navigation);
  repairOrders.options.listProperties = ['shopId', 'tekmetricId', 'repairOrderNumber', 'status', 'totalSalesCents', 'postedDate', 'jobCount', 'customerId'];
  repairOrders.options.actions = { ...repairOrders.options.actions, show: repairOrderShow(deps, components.repairOrder), snapshot: snapshotAction(deps) };
  const connections = browseScreen('TekmetricConnection', s.connections, deps, navigation);
  connections.options.actions = { ...connections.options.actions, connect: connectAction(deps, components.connect) };
  return [
    connections,
    shops,
    repairOrders,
    browseScreen('TekmetricJob', s.jobs, deps, navigation),
    browseScreen('TekmetricPart', s.parts, deps, navigation),
    browseScreen('TekmetricLabor', s.labor, deps, navigation),
    browseScreen('TekmetricSublet', s.sublets, deps, navigation),
    browseScreen('TekmetricFee', s.fees, deps, navigation),
    browseScreen('TekmetricDiscount', s.discounts, deps, navigation),
    browseScreen('TekmetricConcern', s.concerns, deps, navigation),
    browseScreen('TekmetricEmployee', s.employees, deps, navigation),
    browseScreen('TekmetricCustomer', s.customers, deps, navigation),
    browseScreen('TekmetricCustomerAnalytics', s.customersAnalytics, deps, navigation),
    browseScreen('TekmetricVehicle', s.vehicles, deps, navigation),
    browseScreen('TekmetricAppointment', s.appointments, deps, navigation),
    browseScreen('TekmetricSnapshot', s.snapshots, deps, navigation),
    browseScreen('TekmetricDailyShopMetric', s.dailyShopMetrics, deps, navigation),
    browseScreen('TekmetricSyncRun', s.syncRuns, deps, navigation),
    browseScreen('TekmetricSyncLog', s.syncLog, deps, navigation),
    browseScreen('TekmetricSyncCursor', s.syncCursors, deps, navigation),
  ];
}
