import compression from 'compression';
import connectPgSimple from 'connect-pg-simple';
import express, { type Express } from 'express';
import session from 'express-session';
import helmet from 'helmet';
import { pinoHttp } from 'pino-http';
import { adminAssets } from '../admin/bundle.js';
import { buildAdmin, ADMIN_ROOT } from '../admin/index.js';
import { apiRouter, dashboardRouter } from '../api/index.js';
import { feedSettings } from '../core/feeds/settings.js';
import { errorMiddleware, requestId } from '../api/http.js';
import type { Config } from '../core/config.js';
import type { Db } from '../core/db/index.js';
import type { Logger } from '../core/log.js';
import type { JobQueue } from '../core/queue.js';
import { LoginThrottle } from '../core/auth/signIn.js';
import type { Secrets } from '../core/secrets.js';
import { qualityDefaults } from '../core/ingest/quality-settings.js';

export interface AppDeps {
  db: Db;
  config: Config;
  log: Logger;
  jobs: JobQueue;
  secrets: Secrets;
}

export const SESSION_COOKIE = 'backhouse.sid';

/**
 * The web application: the admin at /admin and the REST API at /api, sharing one session store in
 * PostgreSQL so that any number of web processes can serve the same users.
 */
export async function createApp(deps: AppDeps): Promise<Express> {
  const app = express();
  app.disable('x-powered-by');
  if (deps.config.TRUST_PROXY) app.set('trust proxy', /^\d+$/.test(deps.config.TRUST_PROXY) ? Number(deps.config.TRUST_PROXY) : deps.config.TRUST_PROXY);
  // AdminJS renders inline scripts and styles; its pages keep the other protective headers. Referrers stay
  // within the site: with helmet's default (no-referrer) a browser names its own page's origin "null" on a
  // POST, and the check of writes' origin (sameOriginWrites) could not tell our pages from another site's.
  app.use(helmet({ contentSecurityPolicy: false, crossOriginEmbedderPolicy: false, referrerPolicy: { policy: 'same-origin' } }));
  app.use(pinoHttp({ logger: deps.log, genReqId: (req, res) => requestId(req as express.Request, res as express.Response), autoLogging: { ignore: (req) => req.url === '/api/healthz' } }));
  // Pages and JSON gzipped (the admin's pages carry every screen's settings); the admin's scripts are gzipped
  // once when built, served before the session (no database read for a file that is the same for everyone).
  app.use(compression());
  const assets = adminAssets(`${ADMIN_ROOT}/assets`, ADMIN_ROOT, deps.log);
  app.use(`${ADMIN_ROOT}/assets`, assets.router);

  const PgStore = connectPgSimple(session);
  const sessionOptions = {
    name: SESSION_COOKIE,
    secret: deps.secrets.sessionSecret,
    store: new PgStore({ pool: deps.db.pool, tableName: 'admin_sessions', createTableIfMissing: false, pruneSessionInterval: false }),
    resave: false,
    saveUninitialized: false,
    rolling: true,
    cookie: { httpOnly: true, sameSite: 'lax' as const, secure: deps.config.cookieSecure, maxAge: deps.config.SESSION_TTL_SECONDS * 1000 },
  };
  const sessions = session(sessionOptions);
  // A bearer-token call is identified by its token alone (api/auth.ts) and never reads or writes a session:
  // it skips making one per request (a random id, its hash, hooks on the response). The admin's router has
  // its own session middleware, so /admin is served as before.
  app.use((req, res, next) => (req.headers.authorization ? next() : sessions(req, res, next)));
  app.use(sameOriginWrites);

  const throttle = new LoginThrottle(deps.db, deps.config);
  app.use('/api', apiRouter({ ...deps, throttle }));
  app.use('/dashboard', dashboardRouter({ ...deps, throttle, settings: feedSettings(deps.config) }));
  const { router } = await buildAdmin({ db: deps.db, log: deps.log, jobs: deps.jobs, throttle, session: sessionOptions, assets, qualityDefaults: qualityDefaults(deps.config), pipelineDataDir: deps.config.PIPELINE_DATA_DIR });
  app.use(ADMIN_ROOT, router);
  app.get('/', (_req, res) => res.redirect(ADMIN_ROOT));
  // Errors from the app-wide middleware (the session store's, for a request outside the routers) get the same answers.
  app.use(errorMiddleware);
  return app;
}

/**
 * Writes made with the session cookie come from this site's own pages: a browser sends the page's origin
 * with every cross-site POST, and a form on another site (another port of the same host included, where
 * SameSite=Lax still sends the cookie) could otherwise edit records or upload files as the signed-in user
 * (found by security QA). Bearer-token calls carry no ambient credential and are not concerned; requests
 * that name no origin at all (curl, scripts) are not a browser's.
 */
const sameOriginWrites: express.RequestHandler = (req, res, next) => {
  if (['GET', 'HEAD', 'OPTIONS'].includes(req.method) || req.headers.authorization) return next();
  const origin = req.headers.origin ?? req.headers.referer;
  if (!origin) return next();
  // "null" (a page that hides where it is) is refused below: its origin cannot be checked.
  let host: string;
  try {
    host = new URL(origin).host;
  } catch {
    host = '';
  }
  // Behind a proxy the site's own host is the forwarded one.
  if (host === req.headers.host || (req.app.get('trust proxy') && host === req.headers['x-forwarded-host'])) return next();
  res.status(403).json({ error: { code: 'forbidden', message: 'This request came from another site and was refused: make changes from Backhouse\'s own pages.' } });
};
