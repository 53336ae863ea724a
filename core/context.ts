import type { Principal } from './auth/principal.js';
import { systemPrincipal } from './auth/principal.js';
import { scopeOf, type Scope } from './auth/scope.js';
import type { Db } from './db/index.js';
import type { Logger } from './log.js';

/**
 * Who is asking, what they may see, and the handles to do it with. Every core function that touches
 * business data takes one of these first.
 */
export interface Context {
  user: Principal;
  scope: Scope;
  db: Db;
  log: Logger;
  requestId?: string;
}

export function contextFor(user: Principal, db: Db, log: Logger, requestId?: string): Context {
  return { user, scope: scopeOf(user), db, log, requestId };
}

export function systemContext(name: string, db: Db, log: Logger): Context {
  return contextFor(systemPrincipal(name), db, log);
}
