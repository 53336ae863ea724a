import type { ResourceWithOptions } from 'adminjs';
import { roles } from '../core/auth/principal.js';
import { endSessionsAction } from '../actions/users.js';
import { standardActions } from './access.js';
import { navigation } from './navigation.js';
import { recordActions, recordsResource, type ResourceFactoryDeps } from './records.js';

/** People & access: users (admins only) and the audit log (read-only, admins only). */
export function accessResources(deps: ResourceFactoryDeps): ResourceWithOptions[] {
  return [
    {
      resource: recordsResource(deps, 'users'),
      options: {
        id: 'User',
        navigation: navigation.access,
        titleProperty: 'email',
        listProperties: ['email', 'name', 'role', 'business', 'disabled', 'lastLoginAt'],
        filterProperties: ['email', 'role', 'business', 'disabled'],
        editProperties: ['email', 'name', 'role', 'business', 'shopIds', 'disabled', 'password'],
        showProperties: ['id', 'email', 'name', 'role', 'business', 'shopIds', 'disabled', 'lastLoginAt', 'passwordChangedAt', 'createdAt', 'updatedAt'],
        sort: { sortBy: 'email', direction: 'asc' },
        properties: {
          passwordHash: { isVisible: false },
          password: {
            type: 'password',
            isVisible: { list: false, show: false, filter: false, edit: true },
            description: 'At least 10 characters. On edit, leave empty to keep the current password.',
          },
          role: { availableValues: roles.map((role) => ({ value: role, label: role })) },
          business: { description: 'Required for ops and manager users.' },
          shopIds: { type: 'reference', reference: 'Shop', isArray: true, description: 'Optional: limit the user to these shops of their business.' },
          disabled: { description: 'A disabled user cannot sign in; their open sessions end at their next request.' },
          lastLoginAt: { isVisible: { list: true, show: true, edit: false, filter: false } },
          authVersion: { isVisible: false },
        },
        actions: { ...recordActions(deps, 'users'), endSessions: endSessionsAction(deps) },
      },
    },
    {
      resource: recordsResource(deps, 'auditLog'),
      options: {
        id: 'AuditLog',
        navigation: navigation.access,
        listProperties: ['at', 'userEmail', 'action', 'resource', 'recordId'],
        filterProperties: ['userEmail', 'action', 'resource', 'recordId', 'at'],
        showProperties: ['id', 'at', 'userEmail', 'userId', 'businessId', 'action', 'resource', 'recordId', 'requestId', 'before', 'after'],
        sort: { sortBy: 'at', direction: 'desc' },
        properties: {
          before: { type: 'textarea' },
          after: { type: 'textarea' },
        },
        actions: {
          ...standardActions('auditLog'),
          new: { isAccessible: false },
          edit: { isAccessible: false },
          delete: { isAccessible: false },
          bulkDelete: { isAccessible: false },
        },
      },
    },
  ];
}
