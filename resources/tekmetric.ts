import type { ActionContext, ActionRequest, ResourceWithOptions } from 'adminjs';
import { z } from 'zod';
import { AppError } from '../core/errors.js';
import type { JobQueue } from '../core/queue.js';
import { tekmetricBrowseSpecs } from '../core/tekmetric/browse.js';
import { requestSyncRun } from '../core/tekmetric/sync/runs.js';
import { browseScreen } from './browse-resource.js';
import { allowed, coreContext, toAdminError, type AdminDeps } from './context.js';

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

/** Tekmetric: every synced entity read-only (filtered, searchable, scoped), the sync runs and log, and the shop's sync actions. */
export function tekmetricResources(deps: AdminDeps, queue: JobQueue, components: { sync: string }): ResourceWithOptions[] {
  const s = tekmetricBrowseSpecs;
  const shops = browseScreen('TekmetricShop', s.shops, deps, navigation);
  shops.options.actions = { ...shops.options.actions, sync: syncAction(deps, queue, components.sync) };
  const repairOrders = browseScreen('TekmetricRepairOrder', s.repairOrders, deps, navigation);
  repairOrders.options.listProperties = ['shopId', 'tekmetricId', 'repairOrderNumber', 'status', 'totalSalesCents', 'postedDate', 'jobCount', 'customerId'];
  return [
    browseScreen('TekmetricConnection', s.connections, deps, navigation),
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
