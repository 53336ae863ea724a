import React, { useEffect, useState } from 'react';
import { ApiClient, type ActionProps } from 'adminjs';
import { Box, Button, H4, Input, Label, Select, Text } from '@adminjs/design-system';

const api = new ApiClient();
const POLL_MS = 1000;

type Mode = 'incremental' | 'backfill' | 'repair_order';
const modes: { value: Mode; label: string }[] = [
  { value: 'incremental', label: 'Sync now (every entity, from the cursors)' },
  { value: 'backfill', label: 'Backfill N days' },
  { value: 'repair_order', label: 'Sync one repair order by id' },
];

interface RunState {
  status: string;
  percent: number;
  error: string | null;
  counts: string;
}

/**
 * The shop's sync actions: pick "Sync now", "Backfill N days" or "Sync one repair order", start it, and follow
 * the run's progress (its record is read every second) until it succeeds or fails.
 */
const TekmetricSync: React.FC<ActionProps> = ({ record, resource, action }) => {
  const [mode, setMode] = useState<Mode>('incremental');
  const [days, setDays] = useState('90');
  const [repairOrderId, setRepairOrderId] = useState('');
  const [runId, setRunId] = useState<string | null>(null);
  const [run, setRun] = useState<RunState | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const start = async () => {
    setBusy(true);
    setProblem(null);
    try {
      const response = await api.recordAction({ resourceId: resource.id, recordId: String(record!.id), actionName: action.name, method: 'post', data: { mode, days, repairOrderId } });
      const data = response.data as { runId?: string; notice?: { message: string; type: string } };
      if (!data.runId) throw new Error(data.notice?.message ?? 'The sync did not start.');
      setRunId(data.runId);
    } catch (error) {
      setProblem(error instanceof Error ? error.message : String(error));
    } finally {
      setBusy(false);
    }
  };

  useEffect(() => {
    if (!runId) return undefined;
    let stopped = false;
    const poll = async () => {
      try {
        const response = await api.recordAction({ resourceId: 'TekmetricSyncRun', recordId: runId, actionName: 'show' });
        const params = (response.data as { record?: { params: Record<string, unknown> } }).record?.params ?? {};
        const state: RunState = { status: String(params.status ?? ''), percent: Number(params.percent ?? 0), error: (params.error as string | null) ?? null, counts: String(params.counts ?? '') };
        if (!stopped) setRun(state);
        if (!stopped && state.status !== 'succeeded' && state.status !== 'failed') setTimeout(poll, POLL_MS);
      } catch (error) {
        if (!stopped) setProblem(error instanceof Error ? error.message : String(error));
      }
    };
    void poll();
    return () => {
      stopped = true;
    };
  }, [runId]);

  return (
    <Box variant="container" data-testid="tekmetric-sync">
      <H4>Sync {String(record?.params.name ?? '')}</H4>
      {!runId && (
        <Box flex flexDirection="column" style={{ gap: 12, maxWidth: 480 }}>
          <Label>What to sync</Label>
          <Select value={modes.find((m) => m.value === mode)} options={modes} onChange={(selected: { value: Mode } | null) => selected && setMode(selected.value)} />
          {mode === 'backfill' && (
            <>
              <Label>Days of history</Label>
              <Input data-testid="tekmetric-sync-days" value={days} onChange={(event: React.ChangeEvent<HTMLInputElement>) => setDays(event.target.value)} />
            </>
          )}
          {mode === 'repair_order' && (
            <>
              <Label>Repair order id</Label>
              <Input data-testid="tekmetric-sync-ro" value={repairOrderId} onChange={(event: React.ChangeEvent<HTMLInputElement>) => setRepairOrderId(event.target.value)} />
            </>
          )}
          <Button variant="contained" disabled={busy} onClick={start} data-testid="tekmetric-sync-start">
            Start
          </Button>
        </Box>
      )}
      {runId && (
        <Box flex flexDirection="column" style={{ gap: 8, maxWidth: 560 }} data-testid="tekmetric-sync-progress">
          <Text>Run {runId}</Text>
          <div style={{ background: '#eef0f5', borderRadius: 4, height: 14, width: '100%' }}>
            <div data-testid="tekmetric-sync-bar" style={{ background: run?.status === 'failed' ? '#c0392b' : '#4268f6', borderRadius: 4, height: 14, width: `${Math.max(2, run?.percent ?? 0)}%`, transition: 'width 0.3s' }} />
          </div>
          <Text data-testid="tekmetric-sync-status">
            {run ? `${run.status} · ${run.percent.toFixed(1)}%` : 'queued'}
          </Text>
          {run?.error && <Text color="error">{run.error}</Text>}
          {run?.status === 'succeeded' && <Text variant="sm">{run.counts}</Text>}
        </Box>
      )}
      {problem && (
        <Text color="error" data-testid="tekmetric-sync-problem">
          {problem}
        </Text>
      )}
    </Box>
  );
};

export default TekmetricSync;
