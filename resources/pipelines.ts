import type { Action, ActionContext, ActionRequest, ActionResponse, Filter, ParamsType, ResourceWithOptions } from 'adminjs';
import { BaseProperty, BaseRecord, BaseResource, flat } from 'adminjs';
import { AppError } from '../core/errors.js';
import { pipelineBrowseSpecs } from '../core/pipelines/browse.js';
import { retryFailedFiles } from '../core/pipelines/runs.js';
import { createSource, getSource, listSources, pollSourceNow, updateSource, type SourceListing } from '../core/pipelines/sourcesAdmin.js';
import type { SourceRow } from '../core/pipelines/sources/index.js';
import type { JobQueue } from '../core/queue.js';
import { browseScreen } from './browse-resource.js';
import { allowed, coreContext, toAdminError, type AdminDeps } from './context.js';

const navigation = { name: 'Pipelines', icon: 'GitPullRequest' };

/** "Retry": reprocesses the run's failed files (admins; ops see no such action and are refused if they call it). */
function retryAction(deps: AdminDeps, queue: JobQueue): Action<ActionResponse> {
  return {
    name: 'retry',
    actionType: 'record',
    icon: 'RotateCw',
    component: false,
    guard: 'Reprocess the failed files of this run (read again from where they are)?',
    isAccessible: allowed('pipelineRuns', 'retry'),
    isVisible: (context: ActionContext) => allowed('pipelineRuns', 'retry')(context) && Number(context.record?.params.failedFiles ?? 0) > 0,
    handler: async (_request: ActionRequest, _response: unknown, context: ActionContext) => {
      const { requeued } = await retryFailedFiles(coreContext(deps, context), queue, { runId: String(context.record!.id()) }).catch(toAdminError);
      const record = await context.resource.findOne(String(context.record!.id()), context);
      return {
        record: (record ?? context.record!).toJSON(context.currentAdmin),
        notice: { message: `Retrying ${requeued.length} failed file${requeued.length === 1 ? '' : 's'}: ${requeued.map((job) => job.fileName).join(', ')}.`, type: 'success' },
      };
    },
  };
}

/** "Run now": looks at the source at once instead of at its next poll (admins and ops). */
function runNowAction(deps: AdminDeps, queue: JobQueue, dataDir: string): Action<ActionResponse> {
  return {
    name: 'runNow',
    actionType: 'record',
    icon: 'Play',
    component: false,
    guard: 'Look at this source for new and changed files now?',
    isAccessible: allowed('pipelineRuns', 'new'),
    handler: async (_request: ActionRequest, _response: unknown, context: ActionContext) => {
      const result = await pollSourceNow(coreContext(deps, context), queue, String(context.record!.id()), dataDir).catch(toAdminError);
      const record = await context.resource.findOne(String(context.record!.id()), context);
      return {
        record: (record ?? context.record!).toJSON(context.currentAdmin),
        notice: { message: `Source polled: ${result.taken} new or changed file${result.taken === 1 ? '' : 's'}, ${result.queued.length} queued, ${result.unrouted} unrouted.`, type: 'success' },
      };
    },
  };
}

const sourceProperties = [
  new BaseProperty({ path: 'id', type: 'string', isId: true, isSortable: false }),
  new BaseProperty({ path: 'name', type: 'string', isSortable: false }),
  new BaseProperty({ path: 'businessId', type: 'reference', isSortable: false }),
  new BaseProperty({ path: 'kind', type: 'string', isSortable: false }),
  new BaseProperty({ path: 'location', type: 'string', isSortable: false }),
  new BaseProperty({ path: 'enabled', type: 'boolean', isSortable: false }),
  new BaseProperty({ path: 'pollIntervalSeconds', type: 'number', isSortable: false }),
  new BaseProperty({ path: 'lastPolledAt', type: 'datetime', isSortable: false }),
  new BaseProperty({ path: 'lastError', type: 'textarea', isSortable: false }),
  new BaseProperty({ path: 'files', type: 'number', isSortable: false }),
  new BaseProperty({ path: 'unrouted', type: 'textarea', isSortable: false }),
];

/** Pipeline sources through core/pipelines/sourcesAdmin.ts: list, show, create and edit (disable = not enabled), each audited by core. */
class SourcesResource extends BaseResource {
  constructor(private readonly deps: AdminDeps) {
    super();
  }

  override id(): string {
    return 'PipelineSource';
  }
  override databaseName(): string {
    return 'pipelines';
  }
  override databaseType(): string {
    return 'postgresql';
  }
  override properties(): BaseProperty[] {
    return sourceProperties;
  }
  override property(path: string): BaseProperty | null {
    return sourceProperties.find((property) => property.path() === path) ?? null;
  }

  private recordOf(source: SourceRow | SourceListing): BaseRecord {
    const listing = 'unrouted' in source ? source : null;
    return new BaseRecord(
      {
        ...source,
        files: listing?.files ?? null,
        lastError: listing?.lastError ?? null,
        unrouted: listing ? listing.unrouted.map((file) => `${file.name}${file.reason ? `: ${file.reason}` : ''}`).join('\n') : null,
      },
      this,
    );
  }

  private async listing(context?: ActionContext): Promise<SourceListing[]> {
    return listSources(coreContext(this.deps, context)).catch(toAdminError);
  }

  override async count(_filter: Filter, context?: ActionContext): Promise<number> {
    return (await this.listing(context)).length;
  }

  override async find(_filter: Filter, params: { limit?: number; offset?: number }, context?: ActionContext): Promise<BaseRecord[]> {
    const rows = await this.listing(context);
    const offset = params.offset ?? 0;
    return rows.slice(offset, offset + (params.limit ?? 10)).map((row) => this.recordOf(row));
  }

  override async findOne(id: string, context?: ActionContext): Promise<BaseRecord | null> {
    try {
      const source = await getSource(coreContext(this.deps, context), String(id));
      return this.recordOf((await this.listing(context)).find((row) => row.id === source.id) ?? source);
    } catch (error) {
      if (error instanceof AppError && error.code === 'not_found') return null;
      return toAdminError(error);
    }
  }

  override async findMany(ids: (string | number)[], context?: ActionContext): Promise<BaseRecord[]> {
    const found = await Promise.all(ids.map((id) => this.findOne(String(id), context)));
    return found.filter((record): record is BaseRecord => record !== null);
  }

  override async create(params: ParamsType, context?: ActionContext): Promise<ParamsType> {
    return { ...(await createSource(coreContext(this.deps, context), sourceFormValues(params)).catch(toAdminError)) };
  }

  override async update(id: string, params: ParamsType, context?: ActionContext): Promise<ParamsType> {
    return { ...(await updateSource(coreContext(this.deps, context), id, sourceFormValues(params)).catch(toAdminError)) };
  }

  override async delete(): Promise<void> {
    throw new AppError('forbidden', 'Sources are disabled, not deleted: their files and runs stay. Edit the source and clear “enabled”.');
  }
}

/** The form's flattened fields as core's source input (core validates them). */
function sourceFormValues(params: ParamsType): Record<string, unknown> {
  const values = flat.unflatten(params) as Record<string, unknown>;
  const text = (value: unknown) => (typeof value === 'string' && value !== '' ? value : undefined);
  return {
    businessId: text(values.businessId),
    name: typeof values.name === 'string' ? values.name : undefined,
    kind: text(values.kind),
    location: typeof values.location === 'string' ? values.location : undefined,
    pollIntervalSeconds: text(values.pollIntervalSeconds) ?? (typeof values.pollIntervalSeconds === 'number' ? values.pollIntervalSeconds : undefined),
    enabled: values.enabled === undefined ? undefined : values.enabled === true || values.enabled === 'true',
  };
}

/**
 * The file pipelines in the admin: runs (Retry for admins), file jobs (scoped by store as well), and sources
 * (create, edit, disable; Run now). Stock health and PO snapshots are resources/stock.ts; webhooks and their
 * deliveries resources/notify.ts.
 */
export function pipelineResources(deps: AdminDeps, queue: JobQueue, dataDir: string): ResourceWithOptions[] {
  const runs = browseScreen('PipelineRun', pipelineBrowseSpecs.runs, deps, navigation);
  runs.options.listProperties = ['date', 'pipelineName', 'status', 'totalFiles', 'processedFiles', 'failedFiles', 'totalRows', 'outputsStatus'];
  runs.options.showProperties = ['id', 'date', 'pipelineName', 'status', 'totalFiles', 'processedFiles', 'failedFiles', 'totalRows', 'trigger', 'outputsStatus', 'outputsMessage', 'businessId', 'createdAt', 'completedAt'];
  runs.options.actions = { ...runs.options.actions, retry: retryAction(deps, queue) };
  const fileJobs = browseScreen('PipelineFileJob', pipelineBrowseSpecs.fileJobs, deps, navigation);
  fileJobs.options.listProperties = ['fileName', 'pipelineName', 'date', 'storeCode', 'status', 'rowsProcessed', 'attempts', 'error'];
  fileJobs.options.showProperties = ['id', ...pipelineBrowseSpecs.fileJobs.columns.map((column) => column.name)];
  return [
    runs,
    fileJobs,
    {
      resource: new SourcesResource(deps),
      options: {
        id: 'PipelineSource',
        navigation,
        titleProperty: 'name',
        listProperties: ['name', 'kind', 'location', 'enabled', 'pollIntervalSeconds', 'lastPolledAt', 'files'],
        showProperties: ['id', 'name', 'businessId', 'kind', 'location', 'enabled', 'pollIntervalSeconds', 'lastPolledAt', 'lastError', 'files', 'unrouted'],
        editProperties: ['businessId', 'name', 'kind', 'location', 'pollIntervalSeconds', 'enabled'],
        filterProperties: [],
        properties: {
          businessId: { reference: 'Business', description: 'Admins: the business whose files these are. Others create sources for their own business.' },
          kind: { availableValues: [{ value: 'local', label: 'Local folder' }, { value: 'google_drive', label: 'Google Drive folder' }] },
          location: { description: 'A local folder: its full path on the machine the workers run on. Google Drive: the folder’s id or address, shared with the service account (README, “Google Drive sources”).' },
          pollIntervalSeconds: { description: 'How often the folder is looked at, in seconds (60 or more; 300 is five minutes).' },
          unrouted: { description: 'Files no pipeline claims, with why: listed, never dropped.' },
        },
        actions: {
          list: { isAccessible: allowed('pipelineSources', 'list') },
          search: { isAccessible: allowed('pipelineSources', 'list') },
          show: { isAccessible: allowed('pipelineSources', 'show') },
          new: { isAccessible: allowed('pipelineSources', 'new') },
          edit: { isAccessible: allowed('pipelineSources', 'edit') },
          delete: { isAccessible: false },
          bulkDelete: { isAccessible: false },
          runNow: runNowAction(deps, queue, dataDir),
        },
      },
    },
  ];
}
