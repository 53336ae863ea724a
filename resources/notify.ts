import type { Action, ActionContext, ActionRequest, ActionResponse, Filter, ParamsType, ResourceWithOptions } from 'adminjs';
import { BaseProperty, BaseRecord, BaseResource, flat } from 'adminjs';
import { AppError } from '../core/errors.js';
import { notificationEventTypes } from '../core/notify/index.js';
import {
  createWebhook,
  deleteWebhook,
  deliveryStatuses,
  getDelivery,
  getWebhook,
  listDeliveries,
  listWebhooks,
  redeliver,
  sendTestEvent,
  updateWebhook,
  type DeliveryStatus,
  type Webhook,
  type WebhookDelivery,
} from '../core/notify/webhooks.js';
import { allowed, coreContext, toAdminError, type AdminDeps } from './context.js';
import { navigation } from './navigation.js';
import { ReadOnlyResource } from './read-only-resource.js';

const webhookProperties = [
  new BaseProperty({ path: 'id', type: 'string', isId: true, isSortable: false }),
  new BaseProperty({ path: 'name', type: 'string', isSortable: false }),
  new BaseProperty({ path: 'url', type: 'string', isSortable: false }),
  new BaseProperty({ path: 'eventTypes', type: 'string', isSortable: false }),
  new BaseProperty({ path: 'businessId', type: 'reference', isSortable: false }),
  new BaseProperty({ path: 'enabled', type: 'boolean', isSortable: false }),
  new BaseProperty({ path: 'createdAt', type: 'datetime', isSortable: false }),
  new BaseProperty({ path: 'updatedAt', type: 'datetime', isSortable: false }),
];

/** Webhooks through core/notify (admins only there too): create, edit, delete, each audited by core. */
class WebhooksResource extends BaseResource {
  constructor(private readonly deps: AdminDeps) {
    super();
  }

  override id(): string {
    return 'Webhook';
  }
  override databaseName(): string {
    return 'notify';
  }
  override databaseType(): string {
    return 'postgresql';
  }
  override properties(): BaseProperty[] {
    return webhookProperties;
  }
  override property(path: string): BaseProperty | null {
    return webhookProperties.find((property) => property.path() === path) ?? null;
  }
  override async findMany(ids: (string | number)[], context?: ActionContext): Promise<BaseRecord[]> {
    const found = await Promise.all(ids.map((id) => this.findOne(String(id), context)));
    return found.filter((record): record is BaseRecord => record !== null);
  }

  recordOf(webhook: Webhook, extra: ParamsType = {}): BaseRecord {
    return new BaseRecord(flat.flatten({ ...webhook, ...extra }), this);
  }

  override async count(_filter: Filter, context?: ActionContext): Promise<number> {
    return (await listWebhooks(coreContext(this.deps, context), { skip: 0, take: 1 }).catch(toAdminError)).total;
  }

  override async find(_filter: Filter, params: { limit?: number; offset?: number }, context?: ActionContext): Promise<BaseRecord[]> {
    const { rows } = await listWebhooks(coreContext(this.deps, context), { skip: params.offset ?? 0, take: params.limit ?? 10 }).catch(toAdminError);
    return rows.map((webhook) => this.recordOf(webhook));
  }

  override async findOne(id: string, context?: ActionContext): Promise<BaseRecord | null> {
    try {
      return this.recordOf(await getWebhook(coreContext(this.deps, context), String(id)));
    } catch (error) {
      if (error instanceof AppError && error.code === 'not_found') return null;
      return toAdminError(error);
    }
  }

  override async create(params: ParamsType, context?: ActionContext): Promise<ParamsType> {
    const { webhook, secret } = await createWebhook(coreContext(this.deps, context), formValues(params)).catch(toAdminError);
    // Shown by the `new` action's notice, this once; never stored as is.
    return { ...flat.flatten(webhook), secret };
  }

  override async update(id: string, params: ParamsType, context?: ActionContext): Promise<ParamsType> {
    return flat.flatten(await updateWebhook(coreContext(this.deps, context), id, formValues(params)).catch(toAdminError));
  }

  override async delete(id: string, context?: ActionContext): Promise<void> {
    await deleteWebhook(coreContext(this.deps, context), id).catch(toAdminError);
  }
}

/** The admin form's flattened fields as core's webhook input. */
function formValues(params: ParamsType): Record<string, unknown> {
  const values = flat.unflatten(params) as Record<string, unknown>;
  const eventTypes = values.eventTypes;
  return {
    name: values.name,
    url: values.url,
    eventTypes: Array.isArray(eventTypes) ? eventTypes.filter((type) => type !== '' && type !== null) : typeof eventTypes === 'string' && eventTypes ? [eventTypes] : [],
    businessId: typeof values.businessId === 'string' && values.businessId !== '' ? values.businessId : null,
    enabled: values.enabled === undefined ? true : values.enabled === true || values.enabled === 'true',
  };
}

const deliveryProperties = [
  new BaseProperty({ path: 'id', type: 'string', isId: true, isSortable: false }),
  new BaseProperty({ path: 'webhookId', type: 'reference', isSortable: false }),
  new BaseProperty({ path: 'webhookName', type: 'string', isSortable: false }),
  new BaseProperty({ path: 'eventType', type: 'string', isSortable: false }),
  new BaseProperty({ path: 'eventId', type: 'string', isSortable: false }),
  new BaseProperty({ path: 'status', type: 'string', isSortable: false }),
  new BaseProperty({ path: 'attempts', type: 'number', isSortable: false }),
  new BaseProperty({ path: 'lastStatusCode', type: 'number', isSortable: false }),
  new BaseProperty({ path: 'lastError', type: 'textarea', isSortable: false }),
  new BaseProperty({ path: 'lastAttemptAt', type: 'datetime', isSortable: false }),
  new BaseProperty({ path: 'nextAttemptAt', type: 'datetime', isSortable: false }),
  new BaseProperty({ path: 'deliveredAt', type: 'datetime', isSortable: false }),
  new BaseProperty({ path: 'redeliveryOf', type: 'string', isSortable: false }),
  new BaseProperty({ path: 'createdAt', type: 'datetime', isSortable: false }),
  new BaseProperty({ path: 'payload', type: 'textarea', isSortable: false }),
];

/** Webhook deliveries, read-only, newest first, filtered by webhook, status and event type. */
class DeliveriesResource extends ReadOnlyResource {
  constructor(private readonly deps: AdminDeps) {
    super('WebhookDelivery', 'notify', deliveryProperties);
  }

  private filterOf(filter: Filter): { webhookId?: string; status?: DeliveryStatus; eventType?: string } {
    const text = (name: string) => {
      const value = filter.get(name)?.value;
      return typeof value === 'string' && value !== '' ? value : undefined;
    };
    const status = text('status');
    return { webhookId: text('webhookId'), eventType: text('eventType'), status: (deliveryStatuses as readonly string[]).includes(status ?? '') ? (status as DeliveryStatus) : undefined };
  }

  recordOf(delivery: WebhookDelivery): BaseRecord {
    return new BaseRecord({ ...delivery, payload: JSON.stringify(delivery.payload, null, 2) }, this);
  }

  override async count(filter: Filter, context?: ActionContext): Promise<number> {
    return (await listDeliveries(coreContext(this.deps, context), this.filterOf(filter), { skip: 0, take: 1 }).catch(toAdminError)).total;
  }

  override async find(filter: Filter, params: { limit?: number; offset?: number }, context?: ActionContext): Promise<BaseRecord[]> {
    const { rows } = await listDeliveries(coreContext(this.deps, context), this.filterOf(filter), { skip: params.offset ?? 0, take: params.limit ?? 10 }).catch(toAdminError);
    return rows.map((delivery) => this.recordOf(delivery));
  }

  override async findOne(id: string, context?: ActionContext): Promise<BaseRecord | null> {
    try {
      return this.recordOf(await getDelivery(coreContext(this.deps, context), String(id)));
    } catch (error) {
      if (error instanceof AppError && error.code === 'not_found') return null;
      return toAdminError(error);
    }
  }
}

/** "Send test": a `webhook.test` event to this webhook now. */
function sendTestAction(deps: AdminDeps): Action<ActionResponse> {
  return {
    name: 'sendTest',
    actionType: 'record',
    icon: 'Send',
    component: false,
    guard: 'Send a test event to this webhook now?',
    isAccessible: allowed('webhooks', 'retry'),
    handler: async (_request: ActionRequest, _response: unknown, context: ActionContext) => {
      const delivery = await sendTestEvent(coreContext(deps, context), String(context.record!.id())).catch(toAdminError);
      return {
        record: context.record!.toJSON(context.currentAdmin),
        redirectUrl: context.h.resourceUrl({ resourceId: 'WebhookDelivery', search: `?filters.webhookId=${delivery.webhookId}` }),
        notice: { message: `Test event sent as delivery ${delivery.id}: it shows as delivered once the receiver answers 2xx.`, type: 'success' },
      };
    },
  };
}

/** "Redeliver": a delivered or failed delivery's event again, as a new delivery. */
function redeliverAction(deps: AdminDeps): Action<ActionResponse> {
  return {
    name: 'redeliver',
    actionType: 'record',
    icon: 'RotateCw',
    component: false,
    guard: 'Send this event to the webhook again?',
    isAccessible: allowed('webhookDeliveries', 'retry'),
    isVisible: (context: ActionContext) => allowed('webhookDeliveries', 'retry')(context) && context.record?.params.status !== 'pending',
    handler: async (_request: ActionRequest, _response: unknown, context: ActionContext) => {
      const delivery = await redeliver(coreContext(deps, context), String(context.record!.id())).catch(toAdminError);
      const record = await context.resource.findOne(delivery.id, context);
      return {
        record: (record ?? context.record!).toJSON(context.currentAdmin),
        redirectUrl: context.h.recordActionUrl({ resourceId: 'WebhookDelivery', recordId: delivery.id, actionName: 'show' }),
        notice: { message: `Delivery ${delivery.id} queued: the same event, sent again.`, type: 'success' },
      };
    },
  };
}

/** Outbound notifications: webhooks and their deliveries (admins only). */
export function notifyResources(deps: AdminDeps): ResourceWithOptions[] {
  const readOnly = { new: { isAccessible: false }, edit: { isAccessible: false }, delete: { isAccessible: false }, bulkDelete: { isAccessible: false } };
  return [
    {
      resource: new WebhooksResource(deps),
      options: {
        id: 'Webhook',
        navigation: navigation.system,
        titleProperty: 'name',
        listProperties: ['name', 'url', 'eventTypes', 'businessId', 'enabled', 'createdAt'],
        showProperties: ['id', 'name', 'url', 'eventTypes', 'businessId', 'enabled', 'createdAt', 'updatedAt'],
        editProperties: ['name', 'url', 'eventTypes', 'businessId', 'enabled'],
        filterProperties: [],
        properties: {
          url: { description: 'Where deliveries are POSTed (https://…). Each is signed: see the README, “Webhooks”.' },
          eventTypes: { isArray: true, availableValues: notificationEventTypes.map((type) => ({ value: type, label: type })), isRequired: true },
          businessId: { reference: 'Business', description: 'Leave empty to receive every business’s events (and the system’s).' },
        },
        actions: {
          list: { isAccessible: allowed('webhooks', 'list') },
          search: { isAccessible: allowed('webhooks', 'list') },
          show: { isAccessible: allowed('webhooks', 'show') },
          new: {
            isAccessible: allowed('webhooks', 'new'),
            // The signing secret is in this answer only: the notice shows it once.
            after: async (response: ActionResponse) => {
              const secret = response.record?.params?.secret as string | undefined;
              if (secret && response.record) {
                delete response.record.params.secret;
                response.notice = { message: `Webhook created. Its signing secret, shown this once (copy it now): ${secret}`, type: 'success' };
              }
              return response;
            },
          },
          edit: { isAccessible: allowed('webhooks', 'edit') },
          delete: { isAccessible: allowed('webhooks', 'delete') },
          bulkDelete: { isAccessible: false },
          sendTest: sendTestAction(deps),
        },
      },
    },
    {
      resource: new DeliveriesResource(deps),
      options: {
        id: 'WebhookDelivery',
        navigation: navigation.system,
        listProperties: ['id', 'webhookName', 'eventType', 'status', 'attempts', 'lastStatusCode', 'nextAttemptAt', 'createdAt'],
        showProperties: ['id', 'webhookId', 'eventType', 'eventId', 'status', 'attempts', 'lastStatusCode', 'lastError', 'lastAttemptAt', 'nextAttemptAt', 'deliveredAt', 'redeliveryOf', 'createdAt', 'payload'],
        filterProperties: ['webhookId', 'status', 'eventType'],
        properties: {
          webhookId: { reference: 'Webhook' },
          status: { availableValues: deliveryStatuses.map((status) => ({ value: status, label: status })) },
        },
        actions: {
          list: { isAccessible: allowed('webhookDeliveries', 'list') },
          search: { isAccessible: allowed('webhookDeliveries', 'list') },
          show: { isAccessible: allowed('webhookDeliveries', 'show') },
          ...readOnly,
          redeliver: redeliverAction(deps),
        },
      },
    },
  ];
}
