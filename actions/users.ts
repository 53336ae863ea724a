import type { Action, ActionContext, ActionRequest, ActionResponse } from 'adminjs';
import { endUserSessions } from '../core/auth/credentials.js';
import { allowed, coreContext, toAdminError, type AdminDeps } from '../resources/context.js';

/** "End sessions" on a user's page: every API token and admin session of theirs stops working (audited by core). */
export function endSessionsAction(deps: AdminDeps): Action<ActionResponse> {
  return {
    name: 'endSessions',
    actionType: 'record',
    icon: 'LogOut',
    guard: "End all of this user's sessions and API tokens? They will have to sign in again.",
    component: false,
    isAccessible: allowed('users', 'edit'),
    handler: async (_request: ActionRequest, _response: unknown, context: ActionContext) => {
      const ctx = coreContext(deps, context);
      const record = context.record!;
      await endUserSessions(ctx, String(record.id())).catch(toAdminError);
      // Ending one's own sessions ends this one too: the next page is the login.
      const self = ctx.user.kind === 'user' && ctx.user.id === record.id();
      return {
        record: record.toJSON(context.currentAdmin),
        redirectUrl: self ? context._admin.options.loginPath : context.h.recordActionUrl({ resourceId: context.resource.id(), recordId: String(record.id()), actionName: 'show' }),
        notice: { message: `Every session and API token of ${String(record.params.email)} has ended.`, type: 'success' },
      };
    },
  };
}
