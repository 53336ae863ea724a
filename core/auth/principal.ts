export const roles = ['admin', 'ops', 'manager', 'dashboard_reader'] as const;
export type Role = (typeof roles)[number];

/** A signed-in person, as the session and the bearer token carry them. */
export interface UserPrincipal {
  kind: 'user';
  id: string;
  email: string;
  name: string | null;
  role: Role;
  businessId: string | null;
  shopIds: string[];
}

/** Work the product does on its own behalf: jobs, schedules, seeding, the CLI. */
export interface SystemPrincipal {
  kind: 'system';
  name: string;
}

export type Principal = UserPrincipal | SystemPrincipal;

export const systemPrincipal = (name: string): SystemPrincipal => ({ kind: 'system', name });
