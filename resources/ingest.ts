import type { Action, ActionContext, ActionRequest, ActionResponse, Filter, ParamsType } from 'adminjs';
import { BaseProperty, BaseRecord } from 'adminjs';
import { z } from 'zod';
import { AppError } from '../core/errors.js';
import { createIngestKey, listIngestKeys, revokeIngestKey, type IngestKeyRow } from '../core/ingest/keys.js';
import type { QualityDefaults } from '../core/ingest/quality.js';
import { qualitySettingsOf, updateQualitySettings } from '../core/ingest/quality-settings.js';
import { listSimulations, ownBaseUrl, simulationLimits, startSimulation, stopSimulation, type SimulationRow } from '../core/ingest/simulator.js';
import { allowed, coreContext, toAdminError, type AdminDeps } from './context.js';
import { navigation } from './navigation.js';
import { ReadOnlyResource } from './read-only-resource.js';

const keyProperties = [
  new BaseProperty({ path: 'id', type: 'string', isId: true, isSortable: false }),
  new BaseProperty({ path: 'name', type: 'string', isSortable: false }),
  new BaseProperty({ path: 'keyPrefix', type: 'string', isSortable: false }),
  new BaseProperty({ path: 'businessName', type: 'string', isSortable: false }),
  new BaseProperty({ path: 'stores', type: 'string', isSortable: false }),
  new BaseProperty({ path: 'status', type: 'string', isSortable: false }),
  new BaseProperty({ path: 'lastUsedAt', type: 'datetime', isSortable: false }),
  new BaseProperty({ path: 'requestsLastMinute', type: 'number', isSortable: false }),
  new BaseProperty({ path: 'requestsLastHour', type: 'number', isSortable: false }),
  new BaseProperty({ path: 'createdAt', type: 'datetime', isSortable: false }),
  new BaseProperty({ path: 'createdBy', type: 'string', isSortable: false }),
  new BaseProperty({ path: 'revokedAt', type: 'datetime', isSortable: false }),
];

/** Ingest API keys, read through core/ingest/keys (never the hash, never the key). */
class IngestKeysResource extends ReadOnlyResource {
  constructor(private readonly deps: AdminDeps) {
    super('IngestApiKey', 'ingest', keyProperties);
  }

  recordOf(key: IngestKeyRow): BaseRecord {
    const params: ParamsType = { ...key, stores: key.stores.join(', '), status: key.revokedAt ? 'revoked' : 'active' };
    return new BaseRecord(params, this);
  }

  override async count(_filter: Filter, context?: ActionContext): Promise<number> {
    return (await listIngestKeys(coreContext(this.deps, context)).catch(toAdminError)).length;
  }

  override async find(_filter: Filter, params: { limit?: number; offset?: number }, context?: ActionContext): Promise<BaseRecord[]> {
    const keys = await listIngestKeys(coreContext(this.deps, context)).catch(toAdminError);
    const offset = params.offset ?? 0;
    return keys.slice(offset, offset + (params.limit ?? 10)).map((key) => this.recordOf(key));
  }

  override async findOne(id: string, context?: ActionContext): Promise<BaseRecord | null> {
    if (!/^[0-9a-f-]{36}$/i.test(id)) return null;
    const [key] = await listIngestKeys(coreContext(this.deps, context), { ids: [id] }).catch(toAdminError);
    return key ? this.recordOf(key) : null;
  }
}

const simulationProperties = [
  new BaseProperty({ path: 'id', type: 'string', isId: true, isSortable: false }),
  new BaseProperty({ path: 'status', type: 'string', isSortable: false }),
  new BaseProperty({ path: 'stores', type: 'number', isSortable: false }),
  new BaseProperty({ path: 'minutes', type: 'number', isSortable: false }),
  new BaseProperty({ path: 'rate', type: 'number', isSortable: false }),
  new BaseProperty({ path: 'startedAt', type: 'datetime', isSortable: false }),
  new BaseProperty({ path: 'heartbeatAt', type: 'datetime', isSortable: false }),
  new BaseProperty({ path: 'finishedAt', type: 'datetime', isSortable: false }),
  new BaseProperty({ path: 'sent', type: 'number', isSortable: false }),
  new BaseProperty({ path: 'accepted', type: 'number', isSortable: false }),
  new BaseProperty({ path: 'duplicates', type: 'number', isSortable: false }),
  new BaseProperty({ path: 'refused', type: 'number', isSortable: false }),
  new BaseProperty({ path: 'failed', type: 'number', isSortable: false }),
  new BaseProperty({ path: 'error', type: 'string', isSortable: false }),
];

/** Runs of the traffic simulator (the latest 100). */
class IngestSimulationsResource extends ReadOnlyResource {
  constructor(private readonly deps: AdminDeps) {
    super('IngestSimulation', 'ingest', simulationProperties);
  }

  recordOf(run: SimulationRow): BaseRecord {
    return new BaseRecord({ ...run }, this);
  }

  override async count(_filter: Filter, context?: ActionContext): Promise<number> {
    return (await listSimulations(coreContext(this.deps, context), 100).catch(toAdminError)).length;
  }

  override async find(_filter: Filter, params: { limit?: number; offset?: number }, context?: ActionContext): Promise<BaseRecord[]> {
    const runs = await listSimulations(coreContext(this.deps, context), 100).catch(toAdminError);
    const offset = params.offset ?? 0;
    return runs.slice(offset, offset + (params.limit ?? 10)).map((run) => this.recordOf(run));
  }

  override async findOne(id: string, context?: ActionContext): Promise<BaseRecord | null> {
    const runs = await listSimulations(coreContext(this.deps, context), 100).catch(toAdminError);
    const run = runs.find((candidate) => candidate.id === id);
    return run ? this.recordOf(run) : null;
  }
}

const optionalUuid = z.preprocess((value) => (value === '' ? undefined : value), z.string().uuid('must be a business id (a UUID)').optional());
const createKeyInput = z.object({
  stores: z.string().min(1, 'name at least one store code'),
  name: z.string().max(200).optional(),
  businessId: optionalUuid,
});
const startInput = z.object({
  stores: z.coerce.number().int().min(1).max(simulationLimits.maxStores),
  minutes: z.coerce.number().min(1).max(simulationLimits.maxMinutes),
  rate: z.coerce.number().gt(0).max(simulationLimits.maxRate),
  businessId: optionalUuid,
});

function parsed<T extends z.ZodType>(schema: T, payload: unknown): z.infer<T> {
  const result = schema.safeParse(payload ?? {});
  if (!result.success) {
    throw new AppError('bad_request', result.error.issues.map((issue) => `${issue.path.join('.')} ${issue.message}`).join('; '), result.error.issues.map((issue) => ({ field: issue.path.join('.'), reason: issue.message })));
  }
  return result.data;
}

/** Ingest screens under System: API keys (create with the key shown once, revoke) and simulator runs (start, stop). Admins only. */
export function ingestResources(deps: AdminDeps, components: { createKey: string; startSimulation: string }) {
  const keys = new IngestKeysResource(deps);
  const simulations = new IngestSimulationsResource(deps);
  const readOnly = { new: { isAccessible: false }, edit: { isAccessible: false }, delete: { isAccessible: false }, bulkDelete: { isAccessible: false } };

  const createKey: Action<ActionResponse> = {
    name: 'createKey',
    actionType: 'resource',
    icon: 'Key',
    component: components.createKey,
    isAccessible: allowed('ingestKeys', 'new'),
    handler: async (request: ActionRequest, _response: unknown, context: ActionContext) => {
      const ctx = coreContext(deps, context);
      if (request.method !== 'post') return {};
      const input = parsed(createKeyInput, request.payload);
      const made = await createIngestKey(ctx, { stores: input.stores.split(/[\s,]+/), name: input.name, businessId: input.businessId }).catch(toAdminError);
      return {
        record: keys.recordOf(made.record).toJSON(context.currentAdmin),
        // Shown this once by the component; kept nowhere.
        key: made.key,
        notice: { message: `Key ${made.record.keyPrefix}… created for ${made.record.stores.join(', ')}. Copy it now: it is not shown again.`, type: 'success' },
      } as ActionResponse;
    },
  };

  const revoke: Action<ActionResponse> = {
    name: 'revoke',
    actionType: 'record',
    icon: 'Slash',
    guard: 'Revoke this key? Devices sending with it are refused from now on.',
    component: false,
    isAccessible: allowed('ingestKeys', 'delete'),
    isVisible: (context: ActionContext) => allowed('ingestKeys', 'delete')(context) && context.record?.params.status === 'active',
    handler: async (_request: ActionRequest, _response: unknown, context: ActionContext) => {
      const ctx = coreContext(deps, context);
      const revoked = await revokeIngestKey(ctx, String(context.record!.id())).catch(toAdminError);
      return { record: keys.recordOf(revoked).toJSON(context.currentAdmin), notice: { message: `Key ${revoked.keyPrefix}… revoked.`, type: 'success' } };
    },
  };

  const start: Action<ActionResponse> = {
    name: 'startSimulation',
    actionType: 'resource',
    icon: 'Play',
    component: components.startSimulation,
    isAccessible: allowed('ingestSimulator', 'new'),
    handler: async (request: ActionRequest, _response: unknown, context: ActionContext) => {
      const ctx = coreContext(deps, context);
      if (request.method !== 'post') return { limits: simulationLimits } as ActionResponse;
      const input = parsed(startInput, request.payload);
      const ownUrl = ownBaseUrl();
      if (!ownUrl) throw new AppError('unavailable', 'This process does not serve the ingest API: start simulations from a web process.');
      const { run, done } = await startSimulation(ctx, { ...input, baseUrl: ownUrl }).catch(toAdminError);
      void done.catch((error) => deps.log.error({ err: error }, 'simulator: run failed'));
      return {
        record: simulations.recordOf(run).toJSON(context.currentAdmin),
        redirectUrl: context.h.resourceUrl({ resourceId: simulations.id() }),
        notice: { message: `Simulation started: ${input.stores} stores for ${input.minutes} min at ${input.rate} transactions a second on average.`, type: 'success' },
      };
    },
  };

  const stop: Action<ActionResponse> = {
    name: 'stop',
    actionType: 'record',
    icon: 'Square',
    guard: 'Stop this simulation?',
    component: false,
    isAccessible: allowed('ingestSimulator', 'delete'),
    isVisible: (context: ActionContext) => allowed('ingestSimulator', 'delete')(context) && context.record?.params.status === 'running',
    handler: async (_request: ActionRequest, _response: unknown, context: ActionContext) => {
      const ctx = coreContext(deps, context);
      const run = await stopSimulation(ctx, String(context.record!.id())).catch(toAdminError);
      return { record: simulations.recordOf(run).toJSON(context.currentAdmin), notice: { message: `Simulation ${run.status === 'stopping' ? 'stopping' : run.status}.`, type: 'success' } };
    },
  };

  return [
    {
      resource: keys,
      options: {
        id: 'IngestApiKey',
        navigation: navigation.system,
        listProperties: ['name', 'keyPrefix', 'stores', 'status', 'lastUsedAt', 'requestsLastMinute', 'requestsLastHour', 'createdAt'],
        showProperties: ['id', 'name', 'keyPrefix', 'businessName', 'stores', 'status', 'lastUsedAt', 'requestsLastMinute', 'requestsLastHour', 'createdAt', 'createdBy', 'revokedAt'],
        filterProperties: [],
        actions: {
          list: { isAccessible: allowed('ingestKeys', 'list') },
          search: { isAccessible: allowed('ingestKeys', 'list') },
          show: { isAccessible: allowed('ingestKeys', 'show') },
          ...readOnly,
          createKey,
          revoke,
        },
      },
    },
    {
      resource: simulations,
      options: {
        id: 'IngestSimulation',
        navigation: navigation.system,
        listProperties: ['status', 'stores', 'minutes', 'rate', 'startedAt', 'sent', 'accepted', 'duplicates', 'failed'],
        showProperties: simulationProperties.map((property) => property.path()),
        filterProperties: [],
        actions: {
          list: { isAccessible: allowed('ingestSimulator', 'view') },
          search: { isAccessible: allowed('ingestSimulator', 'view') },
          show: { isAccessible: allowed('ingestSimulator', 'view') },
          ...readOnly,
          startSimulation: start,
          stop,
        },
      },
    },
  ];
}

/**
 * A business's data-quality settings (Business → "Quality settings"): the transaction threshold, the
 * future-timestamp tolerance and whether gold leaves simulated data out. Admins only; saved and audited by core.
 */
export function qualitySettingsAction(deps: AdminDeps, defaults: QualityDefaults, component: string): Action<ActionResponse> {
  return {
    name: 'qualitySettings',
    actionType: 'record',
    icon: 'Sliders',
    component,
    isAccessible: allowed('ingestQualitySettings', 'show'),
    handler: async (request: ActionRequest, _response: unknown, context: ActionContext) => {
      const ctx = coreContext(deps, context);
      const businessId = String(context.record!.id());
      const record = context.record!.toJSON(context.currentAdmin);
      if (request.method !== 'post') return { record, settings: await qualitySettingsOf(ctx, { business_id: businessId }, defaults).catch(toAdminError) } as ActionResponse;
      const payload = (request.payload ?? {}) as Record<string, unknown>;
      const settings = await updateQualitySettings(
        ctx,
        { business_id: businessId, max_transaction_amount: payload.maxTransactionAmount as string, future_tolerance_seconds: payload.futureToleranceSeconds as string, exclude_simulated: payload.excludeSimulated as string },
        defaults,
      ).catch(toAdminError);
      return {
        record,
        settings,
        notice: {
          message: `Saved for ${settings.business_name}: transactions above ${settings.max_transaction_amount} ${settings.currency} and timestamps more than ${settings.future_tolerance_seconds} s ahead are flagged; simulated data ${settings.exclude_simulated ? 'left out of' : 'shown in'} gold dashboards.`,
          type: 'success',
        },
      } as ActionResponse;
    },
  };
}
