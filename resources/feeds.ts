import type { ActionContext, ActionRequest, ActionResponse, RecordJSON, ResourceWithOptions } from 'adminjs';
import { namesOfPeople } from '../core/auth/people.js';
import type { JobQueue } from '../core/queue.js';
import { rerunFeedAction, uploadFeedAction } from '../actions/feeds.js';
import { browseSpecs } from '../core/warehouse/browse.js';
import { browseScreen } from './browse-resource.js';
import { allowed, coreContext, type AdminDeps } from './context.js';
import { navigation } from './navigation.js';
import { recordsResource, type ResourceFactoryDeps } from './records.js';

const statuses = ['processing', 'queued', 'transforming', 'transformed', 'failed'];

/** Data Feeds: the history of loaded files with their live status and summary, and the upload workbench. */
export function feedResources(deps: ResourceFactoryDeps, queue: JobQueue, components: { upload: string; status: string; list: string; summary: string }): ResourceWithOptions[] {
  return [
    {
      resource: recordsResource(deps, 'feeds'),
      options: {
        id: 'DataFeed',
        navigation: navigation.data,
        titleProperty: 'filename',
        listProperties: ['id', 'filename', 'dataType', 'status', 'recordCount', 'businessId', 'createdAt'],
        filterProperties: ['status', 'dataType', 'filename', 'businessId', 'createdAt'],
        showProperties: ['id', 'filename', 'dataType', 'status', 'summary', 'recordCount', 'businessId', 'uploadedBy', 'createdAt', 'updatedAt'],
        sort: { sortBy: 'createdAt', direction: 'desc' },
        properties: {
          // Badge, summary chips and error, live while the feed loads; the filter stays the plain status select.
          status: { availableValues: statuses.map((status) => ({ value: status, label: status })), components: { list: components.status, show: components.status } },
          dataType: { availableValues: ['sales', 'costs'].map((value) => ({ value, label: value })) },
          // When the feed passed each step, and the rows its commit skipped (the raw JSON is the API's).
          summary: { components: { show: components.summary } },
          businessId: { type: 'reference', reference: 'Business' },
          // Who uploaded the file, by name (the stored userId is an id nobody can read).
          uploadedBy: { type: 'string', isVisible: { list: false, filter: false, show: true, edit: false } },
        },
        actions: {
          // AdminJS's list, plus a notice of feeds committed since it was fetched.
          list: { isAccessible: allowed('feeds', 'list'), component: components.list },
          search: { isAccessible: allowed('feeds', 'list') },
          show: { isAccessible: allowed('feeds', 'show'), after: withUploaderName(deps) },
          new: { isAccessible: false },
          edit: { isAccessible: false },
          delete: { isAccessible: allowed('feeds', 'delete'), guard: 'Delete this feed? Its facts are removed from the warehouse too.' },
          bulkDelete: { isAccessible: allowed('feeds', 'delete') },
          upload: uploadFeedAction(components.upload),
          rerun: rerunFeedAction(deps, queue),
        },
      },
    },
    browseScreen('StagedSalesRow', browseSpecs.stagingSales, deps, navigation.data),
    browseScreen('StagedCostRow', browseSpecs.stagingCosts, deps, navigation.data),
  ];
}

/** Adds the uploader's name to a shown feed. */
function withUploaderName(deps: AdminDeps) {
  return async (response: ActionResponse, _request: ActionRequest, context: ActionContext): Promise<ActionResponse> => {
    const record = response.record as RecordJSON | undefined;
    if (!record) return response;
    const userId = record.params.userId as string | null;
    const names = await namesOfPeople(coreContext(deps, context), [userId]);
    record.params.uploadedBy = userId ? (names.get(userId) ?? 'a user since deleted') : 'Backhouse itself (the demo data, or a job)';
    return response;
  };
}
