import type { Action, ActionContext, ActionRequest, ActionResponse, ResourceWithOptions } from 'adminjs';
import { acknowledgeAlert } from '../core/ingest/alerts.js';
import { confirmProductLink, relinkChoices, relinkProduct, retryFailedEvents } from '../core/ingest/review.js';
import { silverBrowseSpecs } from '../core/ingest/screens.js';
import { browseScreen } from './browse-resource.js';
import { allowed, coreContext, toAdminError, type AdminDeps } from './context.js';

const ingestNavigation = { name: 'Streaming ingestion', icon: 'Activity' };

/** A record action calling one core function, then showing the record as it is now with a notice. */
function recordAction(deps: AdminDeps, spec: { name: string; icon: string; guard: string; resource: Parameters<typeof allowed>[0]; action: Parameters<typeof allowed>[1]; visible(params: Record<string, unknown>): boolean; run(ctx: ReturnType<typeof coreContext>, id: string, params: Record<string, unknown>): Promise<string> }): Action<ActionResponse> {
  return {
    name: spec.name,
    actionType: 'record',
    icon: spec.icon,
    guard: spec.guard,
    component: false,
    isAccessible: allowed(spec.resource, spec.action),
    isVisible: (context: ActionContext) => allowed(spec.resource, spec.action)(context) && spec.visible(context.record?.params ?? {}),
    handler: async (_request: ActionRequest, _response: unknown, context: ActionContext) => {
      const ctx = coreContext(deps, context);
      const id = String(context.record!.id());
      const message = await spec.run(ctx, id, context.record!.params).catch(toAdminError);
      const record = await context.resource.findOne(id, context);
      return { record: (record ?? context.record!).toJSON(context.currentAdmin), notice: { message, type: 'success' } };
    },
  };
}

/** Silver's screens: transactions and their lines, product links and the review queue, failed events, data-quality alerts. */
export function ingestSilverResources(deps: AdminDeps, components: { relink: string }): ResourceWithOptions[] {
  const withActions = (screen: ResourceWithOptions, actions: Record<string, Action<ActionResponse>>): ResourceWithOptions => ({
    ...screen,
    options: { ...screen.options, actions: { ...screen.options.actions, ...actions } },
  });
  const confirm = recordAction(deps, {
    name: 'confirmLink',
    icon: 'Check',
    guard: 'Link every line of this store product to the suggested product, and remember it for this store?',
    resource: 'productLinks',
    action: 'edit',
    visible: (params) => params.status !== 'confirmed' && Boolean(params.productId),
    run: async (ctx, id) => {
      const link = await confirmProductLink(ctx, { link_id: id });
      return `Linked: ${link.lines_relinked} line(s) of “${link.product_name}”, remembered for this store.`;
    },
  });
  // Beside Confirm: another product of the business, searched by name (GET answers the choices, POST re-links).
  const relink: Action<ActionResponse> = {
    name: 'relinkProduct',
    actionType: 'record',
    icon: 'Link',
    component: components.relink,
    isAccessible: allowed('productLinks', 'edit'),
    handler: async (request: ActionRequest, _response: unknown, context: ActionContext) => {
      const ctx = coreContext(deps, context);
      const id = String(context.record!.id());
      if (request.method !== 'post') {
        const search = typeof request.query?.search === 'string' ? request.query.search : '';
        return { record: context.record!.toJSON(context.currentAdmin), choices: await relinkChoices(ctx, { link_id: id, search }).catch(toAdminError) } as ActionResponse;
      }
      const productId = String((request.payload as Record<string, unknown> | undefined)?.productId ?? '');
      const link = await relinkProduct(ctx, { link_id: id, product_id: productId }).catch(toAdminError);
      const record = await context.resource.findOne(id, context);
      return {
        record: (record ?? context.record!).toJSON(context.currentAdmin),
        notice: { message: `Re-linked: ${link.lines_relinked} line(s) of “${link.product_name}” now count as ${String(record?.params.product ?? link.product_id)}, remembered for this store.`, type: 'success' },
      };
    },
  };
  return [
    browseScreen('SilverTransaction', silverBrowseSpecs.transactions, deps, ingestNavigation),
    browseScreen('SilverTransactionItem', silverBrowseSpecs.items, deps, ingestNavigation),
    withActions(browseScreen('ProductLink', silverBrowseSpecs.productLinks, deps, ingestNavigation), { confirmLink: confirm, relinkProduct: relink }),
    withActions(browseScreen('FailedIngestEvent', silverBrowseSpecs.failedEvents, deps, ingestNavigation), {
      retryEvent: recordAction(deps, {
        name: 'retryEvent',
        icon: 'RefreshCw',
        guard: 'Send this event back to the silver worker?',
        resource: 'ingestFailures',
        action: 'retry',
        visible: (params) => params.status === 'failed',
        run: async (ctx, id, params) => {
          await retryFailedEvents(ctx, { business_id: String(params.businessId), event_ids: [id] });
          return `Event ${id} is pending again: the worker moves it within seconds.`;
        },
      }),
    }),
    withActions(browseScreen('DataQualityAlert', silverBrowseSpecs.alerts, deps, ingestNavigation), {
      acknowledge: recordAction(deps, {
        name: 'acknowledge',
        icon: 'CheckCircle',
        guard: 'Acknowledge this alert?',
        resource: 'dataQualityAlerts',
        action: 'edit',
        visible: (params) => params.acknowledged === 'no',
        run: async (ctx, id) => {
          await acknowledgeAlert(ctx, { alert_id: id });
          return `Alert ${id} acknowledged.`;
        },
      }),
    }),
  ];
}
