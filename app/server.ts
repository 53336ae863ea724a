import connectPgSimple from 'connect-pg-simple';
import express, { type Express } from 'express';
import session from 'express-session';
import helmet from 'helmet';
import { pinoHttp } from 'pino-http';
import { buildAdmin, ADMIN_ROOT } from '../admin/index.js';
import { apiRouter, dashboardRouter } from '../api/index.js';
import { feedSettings } from '../core/feeds/settings.js';
import { requestId } from '../api/http.js';
import type { Config } from '../core/config.js';
import type { Db } from '../core/db/index.js';
import type { Logger } from '../core/log.js';
import type { JobQueue } from '../core/queue.js';
import { LoginThrottle } from '../core/auth/signIn.js';
import type { Secrets } from '../core/secrets.js';

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
  // AdminJS renders inline scripts and styles; its pages keep the other protective headers.
  app.use(helmet({ contentSecurityPolicy: false, crossOriginEmbedderPolicy: false }));
  app.use(pinoHttp({ logger: deps.log, genReqId: (req, res) => requestId(req as express.Request, res as express.Response), autoLogging: { ignore: (req) => req.url === '/api/healthz' } }));

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
  app.use(session(sessionOptions));

  const throttle = new LoginThrottle(deps.db, deps.config);
  app.use('/api', apiRouter({ ...deps, throttle }));
  app.use('/dashboard', dashboardRouter({ ...deps, throttle, settings: feedSettings(deps.config) }));
  const { router } = await buildAdmin({ db: deps.db, log: deps.log, jobs: deps.jobs, throttle, session: sessionOptions });
  app.use(ADMIN_ROOT, router);
  app.get('/', (_req, res) => res.redirect(ADMIN_ROOT));
  return app;
}
