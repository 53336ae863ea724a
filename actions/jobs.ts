import type { Action, ActionRequest, ActionResponse, ActionContext } from 'adminjs';
import { retryJob, type JobQueue } from '../core/queue.js';
import { writeAudit } from '../core/auth/audit.js';
import { assertCan } from '../core/auth/permissions.js';
import { allowed, coreContext, toAdminError, type AdminDeps } from '../resources/context.js';

/** "Retry" on a failed job: puts it back in its queue (audited by core). */
export function retryJobAction(deps: AdminDeps, queue: JobQueue): Action<ActionResponse> {
  return {
    name: 'retry',
    actionType: 'record',
    icon: 'RotateCw',
    guard: 'Put this job back in its queue?',
    component: false,
    isAccessible: allowed('jobs', 'retry'),
    isVisible: (context: ActionContext) => allowed('jobs', 'retry')(context) && context.record?.params.state === 'failed',
    handler: async (_request: ActionRequest, _response: unknown, context: ActionContext) => {
      const ctx = coreContext(deps, context);
      const job = await retryJob(ctx, queue, String(context.record!.id())).catch(toAdminError);
      const record = await context.resource.findOne(job.id, context);
      return {
        record: (record ?? context.record!).toJSON(context.currentAdmin),
        notice: { message: `Job ${job.id} is back in queue ${job.queue} (state: ${job.state}).`, type: 'success' },
      };
    },
  };
}

/** "Send probe": a job that proves the workers are picking work up. */
export function sendProbeAction(deps: AdminDeps, queue: JobQueue): Action<ActionResponse> {
  return {
    name: 'sendProbe',
    actionType: 'resource',
    icon: 'Activity',
    component: false,
    isAccessible: allowed('jobs', 'retry'),
    handler: async (_request: ActionRequest, _response: unknown, context: ActionContext) => {
      const ctx = coreContext(deps, context);
      assertCan(ctx.user, 'jobs', 'retry');
      const input = { note: `probe from ${ctx.user.kind === 'user' ? ctx.user.email : 'system'}`, failAttempts: 0 };
      const id = await queue.send('system.probe', input);
      await writeAudit(ctx, { resource: 'jobs', recordId: id, action: 'probe', after: input });
      return {
        redirectUrl: context.h.resourceUrl({ resourceId: context.resource.id() }),
        notice: { message: `Probe job ${id} sent: it appears below as completed once a worker has run it.`, type: 'success' },
      };
    },
  };
}
