import type { ResourceOptions } from 'adminjs';
import type { Resource } from '../core/auth/permissions.js';
import { allowed } from './context.js';

/** The built-in actions of a resource, each gated by the permission matrix. */
export function standardActions(resource: Resource, newRecordDefaults?: Record<string, string | number | boolean>): NonNullable<ResourceOptions['actions']> {
  return {
    list: { isAccessible: allowed(resource, 'list') },
    search: { isAccessible: allowed(resource, 'list') },
    show: { isAccessible: allowed(resource, 'show') },
    // The defaults reach the new-record form through the action (actions/components/NewWithDefaults.tsx).
    new: { isAccessible: allowed(resource, 'new'), ...(newRecordDefaults ? { custom: { defaults: newRecordDefaults } } : {}) },
    edit: { isAccessible: allowed(resource, 'edit') },
    delete: { isAccessible: allowed(resource, 'delete') },
    bulkDelete: { isAccessible: allowed(resource, 'delete') },
  };
}
