import type { BrowseSpec } from '../warehouse/browse.js';

const uuidId = { sql: 'x.id::text', parse: (id: string) => (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id) ? [id] : []), where: 'x.id = $1' };

/** Admin screens over the pipelines' tracking tables: read-only, newest first, scoped by business (file jobs also by store). */
export const pipelineBrowseSpecs = {
  runs: {
    resource: 'pipelineRuns',
    label: 'Pipeline run',
    from: 'pipeline_runs x',
    id: uuidId,
    businessColumn: 'x.business_id',
    columns: [
      { name: 'date', sql: "to_char(x.date, 'YYYY-MM-DD')", type: 'date' },
      { name: 'pipelineName', sql: 'x.pipeline_name', type: 'string' },
      { name: 'status', sql: 'x.status', type: 'string' },
      { name: 'totalFiles', sql: 'x.total_files', type: 'number' },
      { name: 'processedFiles', sql: 'x.processed_files', type: 'number' },
      { name: 'failedFiles', sql: 'x.failed_files', type: 'number' },
      { name: 'totalRows', sql: 'x.total_rows::float8', type: 'number' },
      { name: 'trigger', sql: 'x.trigger', type: 'string' },
      { name: 'outputsStatus', sql: 'x.outputs_status', type: 'string' },
      { name: 'outputsMessage', sql: 'x.outputs_message', type: 'string' },
      { name: 'businessId', sql: 'x.business_id::text', type: 'string' },
      { name: 'createdAt', sql: 'x.created_at', type: 'datetime' },
      { name: 'completedAt', sql: 'x.completed_at', type: 'datetime' },
    ],
    orderBy: 'x.created_at DESC, x.id DESC',
  },
  fileJobs: {
    resource: 'pipelineRuns',
    label: 'File job',
    from: 'pipeline_file_jobs x JOIN pipeline_runs r ON r.id = x.pipeline_run_id',
    id: uuidId,
    businessColumn: 'x.business_id',
    shopColumn: 'x.store_id',
    columns: [
      { name: 'fileName', sql: 'x.file_name', type: 'string' },
      { name: 'pipelineName', sql: 'x.pipeline_name', type: 'string' },
      { name: 'date', sql: "to_char(r.date, 'YYYY-MM-DD')", type: 'date' },
      { name: 'storeCode', sql: 'x.store_code', type: 'string' },
      { name: 'status', sql: 'x.status', type: 'string' },
      { name: 'rowsProcessed', sql: 'x.rows_processed::float8', type: 'number' },
      { name: 'attempts', sql: 'x.retry_count', type: 'number' },
      { name: 'error', sql: 'x.error', type: 'string' },
      { name: 'pipelineRunId', sql: 'x.pipeline_run_id::text', type: 'string' },
      { name: 'filePath', sql: 'x.file_path', type: 'string' },
      { name: 'queuedAt', sql: 'x.queued_at', type: 'datetime' },
      { name: 'completedAt', sql: 'x.completed_at', type: 'datetime' },
      { name: 'durationMs', sql: 'x.duration_ms', type: 'number' },
    ],
    orderBy: "x.queued_at DESC, x.status = 'failed' DESC, x.file_name",
  },
} satisfies Record<string, BrowseSpec>;
