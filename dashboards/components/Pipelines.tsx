import React, { useCallback, useEffect, useState } from 'react';
import { ApiClient } from 'adminjs';
import { Badge, Box, Button, H2, H5, Label, Loader, MessageBox, Text } from '@adminjs/design-system';
import { requestJson } from './request.js';
import { BusinessSelect } from './BusinessSelect.js';
import { formatWhen } from './format.js';

interface PageData {
  businesses: { id: string; name: string }[] | null;
  businessId: string | null;
  today: string;
  pipelines: { name: string; title: string }[];
  may: { retry: boolean; runNow: boolean; sources: boolean };
}
interface Run {
  id: string;
  businessId: string;
  pipelineName: string;
  date: string;
  status: string;
  trigger: string;
  totalFiles: number;
  processedFiles: number;
  failedFiles: number;
  totalRows: number;
  createdAt: string;
  completedAt: string | null;
  outputsStatus: string | null;
  outputsMessage: string | null;
}
interface RunOutput {
  name: string;
  fileName: string;
  path: string;
  rows: number;
  bytes: number;
}
interface FileJob {
  id: string;
  pipelineRunId: string;
  pipelineName: string;
  fileName: string;
  storeCode: string | null;
  status: string;
  retryCount: number;
  rowsProcessed: number | null;
  error: string | null;
  durationMs: number | null;
  date?: string;
}
interface Metrics {
  name: string;
  title: string;
  filesProcessed: number;
  rowsProcessed: number;
  errorCount: number;
  averageLatencyMs: number | null;
  lastProcessedAt: string | null;
  todayRuns: Run[];
}
interface StoreRow {
  storeId: string;
  storeName: string;
  storeCode: string | null;
  status: string;
  fileName: string | null;
  rows: number | null;
  error: string | null;
}
interface Source {
  id: string;
  businessId: string;
  name: string;
  kind: string;
  location: string;
  enabled: boolean;
  pollIntervalSeconds: number;
  lastPolledAt: string | null;
  lastError: string | null;
  files: number;
  unrouted: { name: string; reason: string | null }[];
}

const api = new ApiClient();
const statusColour: Record<string, 'success' | 'danger' | 'info' | 'primary' | 'secondary'> = {
  completed: 'success',
  completed_with_errors: 'danger',
  failed: 'danger',
  processing: 'info',
  queued: 'info',
  pending: 'secondary',
  not_sent: 'secondary',
};
const StatusBadge: React.FC<{ status: string }> = ({ status }) => (
  <Badge variant={statusColour[status] ?? 'secondary'} data-status={status}>
    {status.replaceAll('_', ' ')}
  </Badge>
);

const table: React.CSSProperties = { width: '100%', borderCollapse: 'collapse', marginBottom: 16 };
const cell: React.CSSProperties = { borderBottom: '1px solid #eee', padding: '6px 8px', textAlign: 'left', verticalAlign: 'top', fontSize: 13 };

function query(params: Record<string, string | null | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value) search.set(key, value);
  const text = search.toString();
  return text ? `?${text}` : '';
}

/** The Pipelines area: today's runs and monitoring, per-store tracking, failed files with Retry, run history, file jobs, sources. */
const Pipelines: React.FC = () => {
  const [page, setPage] = useState<PageData | null>(null);
  const [businessId, setBusinessId] = useState('');
  const [pipeline, setPipeline] = useState('');
  const [metrics, setMetrics] = useState<Metrics[]>([]);
  const [stores, setStores] = useState<StoreRow[]>([]);
  const [failed, setFailed] = useState<FileJob[]>([]);
  const [history, setHistory] = useState<Run[]>([]);
  const [filters, setFilters] = useState({ pipeline: '', status: '', from: '', to: '' });
  const [run, setRun] = useState<(Run & { fileJobs: FileJob[]; outputs: RunOutput[] }) | null>(null);
  const [sources, setSources] = useState<Source[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  useEffect(() => {
    api.getPage({ pageName: 'pipelines' }).then(
      (res) => {
        const data = res.data as PageData;
        setPage(data);
        setBusinessId(data.businessId ?? data.businesses?.[0]?.id ?? '');
        setPipeline(data.pipelines.find((p) => p.name === 'stock_health')?.name ?? data.pipelines[0]?.name ?? '');
      },
      (reason: Error) => setError(reason.message),
    );
  }, []);

  const load = useCallback(async () => {
    if (!page) return;
    try {
      const business = businessId || null;
      const [m, f, h, s] = await Promise.all([
        requestJson<{ data: Metrics[] }>('GET', `/api/pipelines${query({ date: page.today })}`),
        requestJson<{ data: FileJob[] }>('GET', `/api/pipelines/failed-jobs${query({ businessId: business })}`),
        requestJson<{ data: Run[] }>('GET', `/api/pipelines/runs${query({ businessId: business, pipeline: filters.pipeline, status: filters.status, from: filters.from, to: filters.to, perPage: '25' })}`),
        page.may.sources ? requestJson<{ data: Source[] }>('GET', '/api/pipelines/sources') : Promise.resolve({ data: [] as Source[] }),
      ]);
      setMetrics(m.data);
      setFailed(f.data);
      setHistory(h.data);
      setSources(s.data.filter((source) => !business || source.businessId === business));
      if (business && pipeline) setStores((await requestJson<{ data: StoreRow[] }>('GET', `/api/pipelines/stores${query({ businessId: business, pipeline, date: page.today })}`)).data);
      setError(null);
    } catch (reason) {
      setError((reason as Error).message);
    }
  }, [page, businessId, pipeline, filters]);

  useEffect(() => {
    void load();
    const timer = setInterval(() => void load(), 5000);
    return () => clearInterval(timer);
  }, [load]);

  const openRun = async (id: string) => {
    try {
      setRun((await requestJson<{ data: Run & { fileJobs: FileJob[]; outputs: RunOutput[] } }>('GET', `/api/pipelines/runs/${id}`)).data);
    } catch (reason) {
      setError((reason as Error).message);
    }
  };
  const retry = async (runId: string) => {
    try {
      const res = await requestJson<{ data: { requeued: string[] } }>('POST', `/api/pipelines/runs/${runId}/retry`);
      setNotice(`Retrying ${res.data.requeued.length} failed file${res.data.requeued.length === 1 ? '' : 's'} of the run.`);
      await load();
      if (run?.id === runId) await openRun(runId);
    } catch (reason) {
      setError((reason as Error).message);
    }
  };
  const runNow = async (sourceId: string) => {
    try {
      const res = await requestJson<{ data: { taken: number; queued: number; unrouted: number } }>('POST', `/api/pipelines/sources/${sourceId}/poll`);
      setNotice(`Source polled: ${res.data.taken} new or changed files, ${res.data.queued} queued, ${res.data.unrouted} unrouted.`);
      await load();
    } catch (reason) {
      setError((reason as Error).message);
    }
  };

  if (!page) return error ? <MessageBox variant="danger" message={error} /> : <Loader />;
  const notSent = stores.filter((s) => s.status === 'not_sent');
  const failedRuns = [...new Set(failed.map((job) => job.pipelineRunId))];
  return (
    <Box variant="grey" data-testid="pipelines-page">
      <Box variant="white" mb="lg">
        <H2>Pipelines</H2>
        <Text mb="default">Business day {page.today}. Files arrive from the sources below; each pipeline runs on its own queue.</Text>
        {page.businesses && <BusinessSelect id="pipelines-business" testId="pipelines-business" businesses={page.businesses} value={businessId} onChange={setBusinessId} />}
        {error && <MessageBox variant="danger" message={error} onCloseClick={() => setError(null)} />}
        {notice && <MessageBox variant="success" message={notice} onCloseClick={() => setNotice(null)} />}
      </Box>

      <Box variant="white" mb="lg" data-testid="today-runs">
        <H5>Today's runs</H5>
        <table style={table}>
          <thead>
            <tr>{['Pipeline', 'Files processed', 'Rows', 'Errors', 'Avg latency', 'Last processed', "Today's runs"].map((h) => <th key={h} style={cell}>{h}</th>)}</tr>
          </thead>
          <tbody>
            {metrics.map((m) => (
              <tr key={m.name} data-pipeline={m.name}>
                <td style={cell}>{m.title}</td>
                <td style={cell}>{m.filesProcessed}</td>
                <td style={cell}>{m.rowsProcessed.toLocaleString()}</td>
                <td style={cell}>{m.errorCount}</td>
                <td style={cell}>{m.averageLatencyMs === null ? "–" : m.averageLatencyMs < 1000 ? `${m.averageLatencyMs} ms` : `${(m.averageLatencyMs / 1000).toFixed(1)} s`}</td>
                <td style={cell}>{m.lastProcessedAt ? formatWhen(m.lastProcessedAt) : '–'}</td>
                <td style={cell}>
                  {m.todayRuns.length === 0 ? 'none yet' : m.todayRuns.filter((r) => !businessId || r.businessId === businessId).map((r) => (
                    <div key={r.id}>
                      <a href="#" data-testid="today-run" onClick={(e) => (e.preventDefault(), void openRun(r.id))}>
                        <StatusBadge status={r.status} /> {r.processedFiles}/{r.totalFiles} files, {r.failedFiles} failed, {r.totalRows.toLocaleString()} rows
                      </a>
                    </div>
                  ))}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </Box>

      <Box variant="white" mb="lg" data-testid="store-tracking">
        <H5>Stores today</H5>
        <Label htmlFor="pipelines-pipeline">Pipeline</Label>
        <select id="pipelines-pipeline" value={pipeline} onChange={(e) => setPipeline(e.target.value)}>
          {page.pipelines.map((p) => <option key={p.name} value={p.name}>{p.title}</option>)}
        </select>
        <Text mt="default" data-testid="stores-summary">
          {stores.length - notSent.length} of {stores.length} stores have sent today's file; {notSent.length} have not.
        </Text>
        {notSent.length > 0 && (
          <Text mt="sm" data-testid="stores-not-sent">Not sent: {notSent.map((s) => s.storeCode ?? s.storeName).join(', ')}</Text>
        )}
        <table style={table}>
          <thead><tr>{['Store', 'Status', 'File', 'Rows', 'Error'].map((h) => <th key={h} style={cell}>{h}</th>)}</tr></thead>
          <tbody>
            {stores.map((s) => (
              <tr key={s.storeId} data-store={s.storeCode ?? s.storeName}>
                <td style={cell}>{s.storeCode ? `${s.storeCode} · ${s.storeName}` : s.storeName}</td>
                <td style={cell}><StatusBadge status={s.status} /></td>
                <td style={cell}>{s.fileName ?? ''}</td>
                <td style={cell}>{s.rows ?? ''}</td>
                <td style={cell}>{s.error ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </Box>

      <Box variant="white" mb="lg" data-testid="failed-jobs">
        <H5>Failed files</H5>
        {failed.length === 0 ? <Text>No failed files.</Text> : (
          <table style={table}>
            <thead><tr>{['Pipeline', 'Day', 'File', 'Store', 'Attempts', 'Error', ''].map((h) => <th key={h} style={cell}>{h}</th>)}</tr></thead>
            <tbody>
              {failed.map((job) => (
                <tr key={job.id} data-testid="failed-job">
                  <td style={cell}>{job.pipelineName}</td>
                  <td style={cell}>{job.date}</td>
                  <td style={cell}>{job.fileName}</td>
                  <td style={cell}>{job.storeCode ?? ''}</td>
                  <td style={cell}>{job.retryCount}</td>
                  <td style={cell}>{job.error}</td>
                  <td style={cell}>
                    {page.may.retry && failedRuns.indexOf(job.pipelineRunId) >= 0 && failed.find((j) => j.pipelineRunId === job.pipelineRunId) === job && (
                      <Button size="sm" data-testid="retry-run" onClick={() => void retry(job.pipelineRunId)}>Retry failed files of this run</Button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Box>

      {run && (
        <Box variant="white" mb="lg" data-testid="run-detail">
          <H5>Run of {run.pipelineName} for {run.date}: <StatusBadge status={run.status} /></H5>
          <Text mb="default">{run.processedFiles} of {run.totalFiles} files, {run.failedFiles} failed, {run.totalRows.toLocaleString()} rows; started by {run.trigger}.</Text>
          <table style={table}>
            <thead><tr>{['File', 'Store', 'Status', 'Rows', 'Attempts', 'Time', 'Error'].map((h) => <th key={h} style={cell}>{h}</th>)}</tr></thead>
            <tbody>
              {run.fileJobs.map((job) => (
                <tr key={job.id} data-testid="file-job">
                  <td style={cell}>{job.fileName}</td>
                  <td style={cell}>{job.storeCode ?? ''}</td>
                  <td style={cell}><StatusBadge status={job.status} /></td>
                  <td style={cell}>{job.rowsProcessed ?? ''}</td>
                  <td style={cell}>{job.retryCount}</td>
                  <td style={cell}>{job.durationMs === null ? '' : `${(job.durationMs / 1000).toFixed(1)} s`}</td>
                  <td style={cell}>{job.error ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {run.outputsStatus && (
            <Box mt="lg" data-testid="run-outputs">
              <H5>Day outputs: {run.outputsStatus}</H5>
              {run.outputsMessage && <Text mb="default">{run.outputsMessage}</Text>}
              {run.outputs.length > 0 && (
                <table style={table}>
                  <thead><tr>{['File', 'Rows', 'Size', 'Where'].map((h) => <th key={h} style={cell}>{h}</th>)}</tr></thead>
                  <tbody>
                    {run.outputs.map((output) => (
                      <tr key={output.name} data-testid="run-output">
                        <td style={cell}><a href={`/api/pipelines/runs/${run.id}/outputs/${encodeURIComponent(output.name)}`} download={output.fileName}>{output.fileName}</a></td>
                        <td style={cell}>{output.rows.toLocaleString()}</td>
                        <td style={cell}>{(output.bytes / 1024).toFixed(1)} KB</td>
                        <td style={cell}>{output.path}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              )}
            </Box>
          )}
        </Box>
      )}

      <Box variant="white" mb="lg" data-testid="run-history">
        <H5>Run history</H5>
        <Box flex flexDirection="row" style={{ gap: 12, alignItems: 'end', flexWrap: 'wrap' }} mb="default">
          <div>
            <Label htmlFor="history-pipeline">Pipeline</Label>
            <select id="history-pipeline" value={filters.pipeline} onChange={(e) => setFilters({ ...filters, pipeline: e.target.value })}>
              <option value="">All</option>
              {page.pipelines.map((p) => <option key={p.name} value={p.name}>{p.title}</option>)}
            </select>
          </div>
          <div>
            <Label htmlFor="history-status">Status</Label>
            <select id="history-status" value={filters.status} onChange={(e) => setFilters({ ...filters, status: e.target.value })}>
              <option value="">All</option>
              {['pending', 'processing', 'completed', 'completed_with_errors', 'failed'].map((s) => <option key={s} value={s}>{s.replaceAll('_', ' ')}</option>)}
            </select>
          </div>
          <div>
            <Label htmlFor="history-from">From</Label>
            <input id="history-from" type="date" value={filters.from} onChange={(e) => setFilters({ ...filters, from: e.target.value })} />
          </div>
          <div>
            <Label htmlFor="history-to">To</Label>
            <input id="history-to" type="date" value={filters.to} onChange={(e) => setFilters({ ...filters, to: e.target.value })} />
          </div>
        </Box>
        <table style={table}>
          <thead><tr>{['Day', 'Pipeline', 'Status', 'Files', 'Failed', 'Rows', 'Started by', 'Created'].map((h) => <th key={h} style={cell}>{h}</th>)}</tr></thead>
          <tbody>
            {history.map((r) => (
              <tr key={r.id} data-testid="history-run">
                <td style={cell}><a href="#" onClick={(e) => (e.preventDefault(), void openRun(r.id))}>{r.date}</a></td>
                <td style={cell}>{r.pipelineName}</td>
                <td style={cell}><StatusBadge status={r.status} /></td>
                <td style={cell}>{r.processedFiles}/{r.totalFiles}</td>
                <td style={cell}>{r.failedFiles}</td>
                <td style={cell}>{r.totalRows.toLocaleString()}</td>
                <td style={cell}>{r.trigger}</td>
                <td style={cell}>{formatWhen(r.createdAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </Box>

      {page.may.sources && (
        <Box variant="white" mb="lg" data-testid="sources">
          <H5>Sources</H5>
          {sources.length === 0 ? <Text>No sources configured.</Text> : (
            <table style={table}>
              <thead><tr>{['Name', 'Kind', 'Location', 'Every', 'Last polled', 'Files seen', 'Unrouted', ''].map((h) => <th key={h} style={cell}>{h}</th>)}</tr></thead>
              <tbody>
                {sources.map((s) => (
                  <tr key={s.id}>
                    <td style={cell}>{s.name}{s.enabled ? '' : ' (disabled)'}</td>
                    <td style={cell}>{s.kind}</td>
                    <td style={cell}>{s.location}</td>
                    <td style={cell}>{Math.round(s.pollIntervalSeconds / 60)} min</td>
                    <td style={cell}>{s.lastPolledAt ? formatWhen(s.lastPolledAt) : 'never'}{s.lastError ? ` — ${s.lastError}` : ''}</td>
                    <td style={cell}>{s.files}</td>
                    <td style={cell}>{s.unrouted.map((u) => <div key={u.name} title={u.reason ?? ''}>{u.name}</div>)}</td>
                    <td style={cell}>{page.may.runNow && <Button size="sm" data-testid="run-now" onClick={() => void runNow(s.id)}>Run now</Button>}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </Box>
      )}
    </Box>
  );
};

export default Pipelines;
