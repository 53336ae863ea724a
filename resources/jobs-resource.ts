import type { ActionContext, Filter, ParamsType } from 'adminjs';
import { BaseProperty, BaseRecord } from 'adminjs';
import { AppError } from '../core/errors.js';
import { getJob, jobKinds, jobStates, listJobs, type JobKind, type JobRow, type JobState } from '../core/queue.js';
import { coreContext, toAdminError, type AdminDeps } from './context.js';
import { ReadOnlyResource } from './read-only-resource.js';

const properties = [
  new BaseProperty({ path: 'id', type: 'string', isId: true, isSortable: false }),
  new BaseProperty({ path: 'queue', type: 'string', isSortable: false }),
  new BaseProperty({ path: 'kind', type: 'string', isSortable: false }),
  new BaseProperty({ path: 'state', type: 'string', isSortable: false }),
  new BaseProperty({ path: 'retryCount', type: 'number', isSortable: false }),
  new BaseProperty({ path: 'retryLimit', type: 'number', isSortable: false }),
  new BaseProperty({ path: 'createdOn', type: 'datetime', isSortable: false }),
  new BaseProperty({ path: 'startedOn', type: 'datetime', isSortable: false }),
  new BaseProperty({ path: 'completedOn', type: 'datetime', isSortable: false }),
  new BaseProperty({ path: 'data', type: 'textarea', isSortable: false }),
  new BaseProperty({ path: 'output', type: 'textarea', isSortable: false }),
];

/** Background jobs (pg-boss) as a read-only admin screen, read through core/queue. */
export class JobsResource extends ReadOnlyResource {
  constructor(private readonly deps: AdminDeps) {
    super('Job', 'pg-boss', properties);
  }

  private filterOf(filter: Filter): { queue?: string; state?: JobState; kind?: JobKind } {
    const queue = filter.get('queue')?.value;
    const state = filter.get('state')?.value;
    const kind = filter.get('kind')?.value;
    return {
      queue: typeof queue === 'string' && queue ? queue : undefined,
      state: typeof state === 'string' && (jobStates as readonly string[]).includes(state) ? (state as JobState) : undefined,
      kind: typeof kind === 'string' && (jobKinds as readonly string[]).includes(kind) ? (kind as JobKind) : undefined,
    };
  }

  private recordOf(job: JobRow): BaseRecord {
    const params: ParamsType = {
      ...job,
      data: job.data === null ? '' : JSON.stringify(job.data, null, 2),
      output: job.output === null ? '' : JSON.stringify(job.output, null, 2),
    };
    return new BaseRecord(params, this);
  }

  override async count(filter: Filter, context?: ActionContext): Promise<number> {
    const { total } = await listJobs(coreContext(this.deps, context), this.filterOf(filter), { skip: 0, take: 1 }).catch(toAdminError);
    return total;
  }

  override async find(filter: Filter, params: { limit?: number; offset?: number }, context?: ActionContext): Promise<BaseRecord[]> {
    const { rows } = await listJobs(coreContext(this.deps, context), this.filterOf(filter), { skip: params.offset ?? 0, take: params.limit ?? 10 }).catch(toAdminError);
    return rows.map((job) => this.recordOf(job));
  }

  override async findOne(id: string, context?: ActionContext): Promise<BaseRecord | null> {
    try {
      return this.recordOf(await getJob(coreContext(this.deps, context), String(id)));
    } catch (error) {
      if (error instanceof AppError && error.code === 'not_found') return null;
      return toAdminError(error);
    }
  }
}
