import argon2 from 'argon2';
import { describe, expect, it } from 'vitest';
import { actions, assertCan, can, resources } from '../../core/auth/permissions.js';
import { generatePassword, hashPassword, verifyPassword } from '../../core/auth/passwords.js';
import { scopeIncludes, scopeOf } from '../../core/auth/scope.js';
import type { UserPrincipal } from '../../core/auth/principal.js';

const user = (overrides: Partial<UserPrincipal>): UserPrincipal => ({ kind: 'user', id: 'u', email: 'u@x', name: null, role: 'ops', businessId: 'b1', shopIds: [], ...overrides });

describe('deny by default', () => {
  it('nobody, an unknown role, and unknown resources or actions are denied', () => {
    expect(can(null, 'products', 'list')).toBe(false);
    expect(can(undefined, 'products', 'list')).toBe(false);
    expect(can(user({ role: 'auditor' as never }), 'products', 'list')).toBe(false);
    expect(can(user({ role: 'admin' }), 'nothing' as never, 'list')).toBe(false);
    expect(can(user({ role: 'admin' }), 'products', 'launch' as never)).toBe(false);
  });

  it('a refusal says in words what the role may not do (regression: "Your role may not new feeds.")', () => {
    expect(() => assertCan(user({ role: 'manager' }), 'feeds', 'new')).toThrow('Your role (manager) may not create data feeds.');
    expect(() => assertCan(user({ role: 'ops' }), 'auditLog', 'show')).toThrow('Your role (ops) may not open the audit log.');
    expect(() => assertCan(null, 'feeds', 'list')).toThrow('Sign in first.');
  });

  it('a non-admin without a business sees no business at all', () => {
    const scope = scopeOf(user({ businessId: null }));
    expect(scope.kind).toBe('business');
    expect(scopeIncludes(scope, 'b1')).toBe(false);
  });
});

describe('the dashboard reader', () => {
  it('may view dashboards and do nothing else with any resource', () => {
    const reader = user({ role: 'dashboard_reader' });
    const allowed = resources.flatMap((resource) => actions.filter((action) => can(reader, resource, action)).map((action) => `${resource}:${action}`));
    expect(allowed).toEqual(['dashboards:view']);
    expect(() => assertCan(reader, 'products', 'list')).toThrow('Your role (dashboard_reader) may not list products.');
  });

  it('is kept to its business and its shops like any other non-admin', () => {
    const scope = scopeOf(user({ role: 'dashboard_reader', shopIds: ['s1'] }));
    expect(scope).toEqual({ kind: 'business', businessId: 'b1', shopIds: ['s1'] });
  });
});

describe('scopes', () => {
  it.each([
    { who: 'admin', principal: user({ role: 'admin', businessId: null }), business: 'b2', shop: 's9', sees: true },
    { who: 'ops of b1, own business', principal: user({}), business: 'b1', shop: null, sees: true },
    { who: 'ops of b1, other business', principal: user({}), business: 'b2', shop: null, sees: false },
    { who: 'manager of shop s1, shop s1', principal: user({ role: 'manager', shopIds: ['s1'] }), business: 'b1', shop: 's1', sees: true },
    { who: 'manager of shop s1, shop s2', principal: user({ role: 'manager', shopIds: ['s1'] }), business: 'b1', shop: 's2', sees: false },
    { who: 'manager without shops, any shop of b1', principal: user({ role: 'manager' }), business: 'b1', shop: 's2', sees: true },
  ])('$who → $sees', ({ principal, business, shop, sees }) => {
    expect(scopeIncludes(scopeOf(principal), business, shop)).toBe(sees);
  });
});

describe('passwords', () => {
  it('hashes with argon2id and verifies only the right password', async () => {
    const hash = await hashPassword('the right one');
    expect(hash).toMatch(/^\$argon2id\$/);
    expect(await verifyPassword(hash, 'the right one')).toBe(true);
    expect(await verifyPassword(hash, 'the wrong one')).toBe(false);
    expect(await verifyPassword('not a hash', 'x')).toBe(false);
  });

  it('hashes with 19 MiB, 2 passes, 1 lane, and still verifies hashes made with the library defaults (64 MiB)', async () => {
    expect(await hashPassword('the right one')).toMatch(/^\$argon2id\$v=19\$m=19456,p=1,t=2\$/);
    const older = await argon2.hash('the right one', { type: argon2.argon2id });
    expect(older).toMatch(/\$m=65536,p=4,t=3\$/);
    expect(await verifyPassword(older, 'the right one')).toBe(true);
    expect(await verifyPassword(older, 'the wrong one')).toBe(false);
  });

  it('generates readable, unpredictable passwords', () => {
    const passwords = new Set(Array.from({ length: 50 }, generatePassword));
    expect(passwords.size).toBe(50);
    for (const password of passwords) expect(password).toMatch(/^[a-zA-Z2-9]{5}(-[a-zA-Z2-9]{5}){3}$/);
  });
});
