import type pg from 'pg';
import { notify } from '../notify/index.js';
import type { RunSettlement } from './lifecycle.js';

/** The notification a run's end sends to the webhooks subscribed to it. */
export function runFinishedEvent(settlement: RunSettlement): { type: 'pipeline.run.completed' | 'pipeline.run.failed'; businessId: string; payload: Record<string, unknown> } | null {
  if (!settlement.finishedFrom) return null;
  const { run } = settlement;
  return {
    type: run.status === 'failed' ? 'pipeline.run.failed' : 'pipeline.run.completed',
    businessId: run.businessId,
    payload: {
      run_id: run.id,
      pipeline: run.pipelineName,
      date: run.date,
      status: run.status,
      total_files: run.totalFiles,
      processed_files: run.processedFiles,
      failed_files: run.failedFiles,
      total_rows: run.totalRows,
      started_at: run.startedAt,
      completed_at: run.completedAt,
    },
  };
}

/** In the transaction that finished the run: queues its notification to the subscribed webhooks (sent after commit). */
export async function announceRunFinished(client: pg.ClientBase, settlement: RunSettlement): Promise<void> {
  const event = runFinishedEvent(settlement);
  if (!event) return;
  await notify(client, event);
}
