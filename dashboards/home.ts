import type { PageContext } from 'adminjs';
import { ForbiddenError } from 'adminjs';
import { summariseHome, type HomeSummary } from '../core/home.js';
import { coreContext, type AdminDeps } from '../resources/context.js';

/** The admin home page's data; AdminJS gives dashboards no access option, so the handler checks itself. */
export function homeHandler(deps: AdminDeps) {
  return async (_request: unknown, _response: unknown, context: PageContext | undefined): Promise<HomeSummary> => {
    if (!context?.currentAdmin) throw new ForbiddenError('Sign in first.');
    return summariseHome(coreContext(deps, context));
  };
}
