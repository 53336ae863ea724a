import type { Action, ActionContext, ActionRequest, ActionResponse } from 'adminjs';
import { rerunFeed } from '../core/feeds/feeds.js';
import type { JobQueue } from '../core/queue.js';
import { allowed, coreContext, toAdminError, type AdminDeps } from '../resources/context.js';

/** "Upload": the Data Feeds workbench (drop, preview, fix, commit, watch). The component does the work. */
export function uploadFeedAction(component: string): Action<ActionResponse> {
  return {
    name: 'upload',
    actionType: 'resource',
    icon: 'Upload',
    component,
    isAccessible: allowed('feeds', 'new'),
    showInDrawer: false,
    handler: async () => ({}),
  };
}

/** "Re-run" (admins): loads a finished or failed feed again, replacing its facts. */
export function rerunFeedAction(deps: AdminDeps, queue: JobQueue): Action<ActionResponse> {
  return {
    name: 'rerun',
    actionType: 'record',
    icon: 'RefreshCw',
    guard: 'Load this feed again? Its facts are replaced, never doubled.',
    component: false,
    isAccessible: allowed('feeds', 'rerun'),
    isVisible: (context: ActionContext) => allowed('feeds', 'rerun')(context) && ['transformed', 'failed'].includes(String(context.record?.params.status)),
    handler: async (_request: ActionRequest, _response: unknown, context: ActionContext) => {
      const ctx = coreContext(deps, context);
      const result = await rerunFeed(ctx, queue, Number(context.record!.id())).catch(toAdminError);
      const record = await context.resource.findOne(String(result.feed_id), context);
      return {
        record: (record ?? context.record!).toJSON(context.currentAdmin),
        notice: { message: `Feed #${result.feed_id} is queued to load again.`, type: 'success' },
      };
    },
  };
}
