import AdminJSExpress from '@adminjs/express';
import AdminJS, { ComponentLoader, Filter, flat } from 'adminjs';
import { z } from 'zod';
import { homeHandler } from '../dashboards/home.js';
import express, { type ErrorRequestHandler, type Router } from 'express';
import type { SessionOptions } from 'express-session';
import { contextFor } from '../core/context.js';
import type { Db } from '../core/db/index.js';
import { errorMiddleware, parse, wellFormedText } from '../api/http.js';
import { pageParam, perPageParam } from '../core/paging.js';
import { AppError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import type { JobQueue } from '../core/queue.js';
import { signIn, type LoginThrottle } from '../core/auth/signIn.js';
import { principalOfCredential, sessionCredential, type AdminSessionUser } from '../core/auth/credentials.js';
import { systemPrincipal } from '../core/auth/principal.js';
import { accessResources } from '../resources/access-screens.js';
import { catalogResources } from '../resources/catalog.js';
import { feedResources } from '../resources/feeds.js';
import { tekmetricResources } from '../resources/tekmetric.js';
import { metricsPageHandler } from '../dashboards/metrics.js';
import { dashboardsPageHandler } from '../dashboards/dashboards.js';
import { mappingPageHandler } from '../dashboards/mapping.js';
import { pipelinesPageHandler } from '../dashboards/pipelines.js';
import { dashboardResources } from '../resources/dashboards.js';
import { organisationResources } from '../resources/organisation.js';
import { systemResources } from '../resources/system.js';
import { ingestResources, qualitySettingsAction } from '../resources/ingest.js';
import type { QualityDefaults } from '../core/ingest/quality.js';
import { ingestSilverResources } from '../resources/ingest-silver.js';
import { pipelineResources } from '../resources/pipelines.js';
import { stockResources } from '../resources/stock.js';
import { notifyResources } from '../resources/notify.js';
import type { AdminAssets } from './bundle.js';
import { registerComponents } from './components.js';
import { adminBodies } from './forms.js';
import { loadDmmf } from './dmmf.js';
import { translations } from './locale.js';

export interface AdminBuildDeps {
  db: Db;
  log: Logger;
  jobs: JobQueue;
  throttle: LoginThrottle;
  session: SessionOptions & { secret: string; name: string };
  /** The data-quality defaults of businesses that set none (shown and saved by the quality settings form). */
  qualityDefaults: QualityDefaults;
  /** The admin's built scripts (admin/bundle.ts), served by the app outside the session. */
  assets: AdminAssets;
  /** PIPELINE_DATA_DIR: where a source's "Run now" downloads files to. */
  pipelineDataDir: string;
}

export const ADMIN_ROOT = '/admin';

/** The AdminJS instance with every screen, and its authenticated Express router. */
export async function buildAdmin(deps: AdminBuildDeps): Promise<{ admin: AdminJS; router: Router }> {
  const { models, clientModule } = await loadDmmf();
  const resourceDeps = { db: deps.db, log: deps.log, models, clientModule };
  const componentLoader = new ComponentLoader();
  const components = registerComponents(componentLoader);
  const admin = new AdminJS({
    componentLoader,
    dashboard: { component: components.Home, handler: homeHandler({ db: deps.db, log: deps.log }) },
    pages: {
      metrics: { component: components.Metrics, icon: 'BarChart2', handler: metricsPageHandler({ db: deps.db, log: deps.log }) },
      dashboards: { component: components.Dashboards, icon: 'PieChart', handler: dashboardsPageHandler({ db: deps.db, log: deps.log }) },
      mapping: { component: components.Mapping, icon: 'Shuffle', handler: mappingPageHandler({ db: deps.db, log: deps.log }) },
      pipelines: { component: components.Pipelines, icon: 'GitPullRequest', handler: pipelinesPageHandler({ db: deps.db, log: deps.log }) },
    },
    rootPath: ADMIN_ROOT,
    loginPath: `${ADMIN_ROOT}/login`,
    logoutPath: `${ADMIN_ROOT}/logout`,
    resources: [
      ...feedResources(resourceDeps, deps.jobs, { upload: components.DataFeedUpload, status: components.FeedStatusCell, list: components.FeedList, summary: components.FeedSummaryDetails }),
      ...catalogResources(resourceDeps),
      ...organisationResources(resourceDeps, { qualitySettings: qualitySettingsAction(resourceDeps, deps.qualityDefaults, components.IngestQualitySettings) }),
      ...accessResources(resourceDeps),
      ...systemResources(resourceDeps, deps.jobs),
      ...dashboardResources(resourceDeps),
      ...ingestResources(resourceDeps, { createKey: components.IngestKeyCreate, startSimulation: components.IngestSimulationStart }),
      ...tekmetricResources(resourceDeps, deps.jobs, { sync: components.TekmetricSync, repairOrder: components.TekmetricRepairOrder, connect: components.TekmetricConnect }),
      ...ingestSilverResources(resourceDeps, { relink: components.ProductRelink }),
      ...pipelineResources(resourceDeps, deps.jobs, deps.pipelineDataDir),
      ...stockResources(resourceDeps),
      ...notifyResources(resourceDeps),
    ],
    branding: { companyName: 'Backhouse', withMadeWithLove: false, logo: false },
    locale: { language: 'en', availableLanguages: ['en'], translations: { en: translations } },
  });

  // Runs before AdminJS's own handlers on every admin request: the session's user is re-read from
  // the database, so a disabled user, a changed role or password, or ended sessions take effect at the next click.
  const preRouter = express.Router();
  preRouter.use(wellFormedText);
  preRouter.use(checkedListQueries(admin));
  preRouter.use(async (req, res, next) => {
    const session = req.session as (typeof req.session & { adminUser?: AdminSessionUser & { title?: string } }) | undefined;
    const credential = sessionCredential(session?.adminUser);
    if (!session || !credential) return next();
    try {
      const principal = await principalOfCredential(deps.db, credential);
      if (!principal) {
        return session.destroy(() => (req.path.startsWith('/api/') ? res.status(401).json({ error: { code: 'unauthenticated', message: 'Your session has ended. Sign in again.' } }) : res.redirect(`${ADMIN_ROOT}/login`)));
      }
      session.adminUser = { ...principal, title: principal.role, authVersion: credential.authVersion };
      next();
    } catch (error) {
      next(error);
    }
  });

  preRouter.use(adminBodies);

  // A sign-in starts a new session: one whose id was known before (planted in the browser, or the session of
  // whoever signed in there before) must not become the new user's (session fixation, found by security QA).
  preRouter.post('/login', (req, _res, next) => {
    if (!req.session) return next();
    req.session.regenerate((error) => next(error));
  });

  preRouter.use('/api', adminApiStatuses);
  preRouter.use(builtScripts(deps.assets));

  // The scripts are built by admin/bundle.ts: in production AdminJS would bundle the components again at each start.
  process.env.ADMIN_JS_SKIP_BUNDLE = 'true';
  const router = AdminJSExpress.buildAuthenticatedRouter(
    admin,
    {
      cookieName: deps.session.name,
      cookiePassword: deps.session.secret,
      authenticate: async (email: string, password: string, context?: { req: express.Request }) => {
        const ip = context?.req.ip ?? 'unknown';
        const ctx = contextFor(systemPrincipal('login'), deps.db, deps.log);
        try {
          const { principal, authVersion } = await signIn(ctx, deps.throttle, { email: String(email ?? ''), password: String(password ?? ''), ip });
          return { ...principal, title: principal.role, authVersion };
        } catch (error) {
          // AdminJS shows a thrown error's message on the login page.
          if (error instanceof AppError && error.code !== 'unauthenticated') throw new Error(error.message);
          return null;
        }
      },
    },
    preRouter,
    deps.session,
  );
  router.use(adminErrors);
  return { admin, router };
}

const listPaging = z.object({ page: pageParam.optional(), perPage: perPageParam.optional() });

/**
 * The admin's list and search requests, checked before AdminJS reads them: it turns `page` and `perPage` into
 * numbers with Number(), so NaN, Infinity and 1e300 reached SQL, and a filter on a field the screen does not
 * have broke the list (500s found by QA). A filter's value is checked where the screen's rows are read.
 */
function checkedListQueries(admin: AdminJS): express.RequestHandler {
  return (req, _res, next) => {
    const match = /^\/api\/resources\/([^/]+)\/(?:actions\/(?:list|search)|search)(?:\/|$)/.exec(req.path);
    const resource = match ? admin.resources.find((candidate) => candidate.id() === decodeURIComponent(match[1]!)) : undefined;
    if (!resource) return next();
    try {
      const query = flat.unflatten(req.query) as { page?: unknown; perPage?: unknown; filters?: Record<string, unknown> };
      parse(listPaging, { page: query.page, perPage: query.perPage }, 'query');
      const filters = typeof query.filters === 'object' && query.filters !== null ? Filter.normalizeKeys(query.filters) : {};
      const unknown = Object.keys(filters).filter((field) => !resource.property(field));
      if (unknown.length > 0) {
        const details = unknown.map((field) => ({ field: `filters.${field}`, reason: `names no field of ${resource.id()} to filter by` }));
        throw new AppError('bad_request', `The list cannot be filtered that way: ${details.map((d) => `${d.field} ${d.reason}`).join('; ')}.`, details);
      }
      next();
    } catch (error) {
      next(error);
    }
  };
}

/**
 * AdminJS's pages name its scripts at fixed addresses (served by it in their development builds, the
 * components bundled by rollup on the first request); they load the built, minified ones at addresses that
 * change with their content instead, and the fixed addresses lead there.
 */
function builtScripts(assets: AdminAssets): express.RequestHandler {
  return (req, res, next) => {
    if (req.method !== 'GET') return next();
    const built = req.path.startsWith('/frontend/assets/') ? assets.urlOf(req.path.slice('/frontend/assets/'.length)) : null;
    if (built) return res.redirect(built);
    const send = res.send.bind(res);
    res.send = (body?: unknown) => send(typeof body === 'string' && body.includes('<!DOCTYPE html>') ? assets.rewritePage(body) : body);
    next();
  };
}

/**
 * AdminJS answers a refused or missing record with 200 and the error inside the body; callers of the
 * admin's HTTP API get the status that says so (403, 404) as well.
 */
const adminApiStatuses: express.RequestHandler = (_req, res, next) => {
  const send = res.send.bind(res);
  res.send = (body?: unknown) => {
    const type = (body as { record?: { baseError?: { type?: string } } } | null)?.record?.baseError?.type;
    if (res.statusCode === 200 && type === 'ForbiddenError') res.status(403);
    if (res.statusCode === 200 && type === 'NotFoundError') res.status(404);
    return send(body);
  };
  next();
};

/** AdminJS API errors as JSON with the right status, instead of Express's HTML 500 page. */
const adminErrors: ErrorRequestHandler = (error: unknown, req, res, next) => {
  if (res.headersSent) return next(error);
  errorMiddleware(asAppError(error), req, res, next);
};

/** AdminJS's own errors, and Prisma's refusal of a list asked for by hand, as the app's; others as they are. */
function asAppError(error: unknown): unknown {
  const name = (error as { name?: string } | null)?.name;
  const message = error instanceof Error ? error.message : '';
  if (name === 'ForbiddenError') return new AppError('forbidden', message);
  if (name === 'NotFoundError') return new AppError('not_found', message);
  // Forms catch their own validation errors; one that reaches here is a list's or a search's bad query.
  if (name === 'ValidationError') return new AppError('bad_request', (error as { baseError?: { message?: string } | null }).baseError?.message ?? message);
  // A filter value its field cannot take, or a sort by no column.
  if (name === 'PrismaClientValidationError') {
    return new AppError('bad_request', 'The list cannot be filtered or sorted that way: a filter holds a value its field cannot take (a number, a date, an id), or the sort names no column.');
  }
  return error;
}
