import type { ResourceWithOptions } from 'adminjs';
import type { JobQueue } from '../core/queue.js';
import { jobStates } from '../core/queue.js';
import { retryJobAction, sendProbeAction } from '../actions/jobs.js';
import { allowed, type AdminDeps } from './context.js';
import { JobsResource } from './jobs-resource.js';
import { navigation } from './navigation.js';

/** System screens: background jobs, with retry for failed ones. */
export function systemResources(deps: AdminDeps, queue: JobQueue): ResourceWithOptions[] {
  return [
    {
      resource: new JobsResource(deps),
      options: {
        id: 'Job',
        navigation: navigation.system,
        listProperties: ['queue', 'state', 'retryCount', 'retryLimit', 'createdOn', 'completedOn'],
        filterProperties: ['kind', 'queue', 'state'],
        showProperties: ['id', 'queue', 'state', 'retryCount', 'retryLimit', 'createdOn', 'startedOn', 'completedOn', 'data', 'output'],
        properties: {
          state: { availableValues: jobStates.map((state) => ({ value: state, label: state })) },
          // Backhouse's own jobs are listed unless this filter asks for pg-boss's housekeeping too.
          kind: { availableValues: [{ value: 'product', label: 'Backhouse\'s jobs (the default)' }, { value: 'internal', label: 'pg-boss housekeeping' }, { value: 'all', label: 'All' }] },
        },
        actions: {
          list: { isAccessible: allowed('jobs', 'list') },
          search: { isAccessible: allowed('jobs', 'list') },
          show: { isAccessible: allowed('jobs', 'show') },
          new: { isAccessible: false },
          edit: { isAccessible: false },
          delete: { isAccessible: false },
          bulkDelete: { isAccessible: false },
          retry: retryJobAction(deps, queue),
          sendProbe: sendProbeAction(deps, queue),
        },
      },
    },
  ];
}
