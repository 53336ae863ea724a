import React, { useCallback, useEffect, useRef, useState } from 'react';
import { ApiClient } from 'adminjs';
import { pollEvery } from './poll.js';
import { requestJson } from './request.js';
import { BusinessSelect } from './BusinessSelect.js';
import { formatWhen } from './format.js';
import { ProgressBar } from './ProgressBar.js';
import { Badge, Box, Button, H2, H5, Label, Loader, MessageBox, Text } from '@adminjs/design-system';

type Transform = { op: string } & Record<string, unknown>;

interface Catalog {
  tables: { name: string; columns: { name: string; required: boolean }[] }[];
  transforms: { ops: string[]; dateFormats: string[]; numberLocales: string[]; castTypes: string[]; expressionExamples: string[] };
}
interface PageData {
  businesses: { id: string; name: string }[] | null;
  catalog: Catalog;
  may: { upload: boolean; save: boolean; approve: boolean; execute: boolean; preview: boolean };
}
interface SourceSummary {
  id: string;
  name: string;
  filename: string;
  created_at: string;
  approved_mapping: { version: number; table: string } | null;
  last_execution: { status: string; rows_loaded: number; rows_rejected: number } | null;
}
interface SourceColumn {
  header: string;
  samples: string[];
  kind: string;
  pii: string | null;
}
interface Source {
  id: string;
  name: string;
  filename: string;
  columns: SourceColumn[];
  approved_mapping?: { version_id: string; version: number; table: string };
}
interface VersionColumn {
  target: string;
  source: string | null;
  expression: string | null;
  transforms: Transform[] | null;
  confidence: number | null;
  reason: string | null;
}
interface Version {
  id: string;
  version: number;
  status: string;
  table: string;
  approved_at: string | null;
  created_at: string;
  columns: VersionColumn[];
}
interface Proposal {
  table: string;
  table_confidence: number;
  fallback?: { reason: string };
  columns: { source: string; target: string | null; confidence: number; reason: string; transforms: Transform[] }[];
}
/** One line of the editor: a source column (mapped or ignored) or a computed column. */
interface EditorLine {
  key: string;
  source: string | null;
  target: string;
  transforms: Transform[];
  expression: string;
  confidence: number | null;
  reason: string | null;
}
interface Preview {
  rows: { row_number: number; values: Record<string, string | number | boolean | null>; errors: { column: string; reason: string }[] }[];
  summary: { rows: number; rows_with_errors: number };
}
interface Execution {
  id: string;
  status: 'queued' | 'running' | 'succeeded' | 'failed';
  progress_percent: number;
  rows_loaded: number;
  rows_rejected: number;
  rejected_rows_not_listed: number;
  error: string | null;
  first_rejects: { row: number; column: string | null; value: string | null; reason: string }[];
}

const api = new ApiClient();

let lineCounter = 0;
const newKey = () => `line-${++lineCounter}`;

function linesFromVersion(version: Version, source: Source): EditorLine[] {
  const bySource = new Map(version.columns.filter((c) => c.source !== null).map((c) => [c.source!, c]));
  const mapped = source.columns.map((column): EditorLine => {
    const found = bySource.get(column.header);
    return { key: newKey(), source: column.header, target: found?.target ?? '', transforms: found?.transforms ?? [], expression: '', confidence: found?.confidence ?? null, reason: found ? (found.reason ?? `version ${version.version}`) : null };
  });
  const computed = version.columns.filter((c) => c.expression !== null).map((c): EditorLine => ({ key: newKey(), source: null, target: c.target, transforms: [], expression: c.expression!, confidence: null, reason: null }));
  return [...mapped, ...computed];
}

function linesFromProposal(proposal: Proposal): EditorLine[] {
  return proposal.columns.map((c) => ({ key: newKey(), source: c.source, target: c.target ?? '', transforms: c.target ? c.transforms : [], expression: '', confidence: c.confidence, reason: c.reason }));
}

function describeStep(step: Transform): string {
  const { op, ...params } = step;
  const shown = Object.entries(params).map(([name, value]) => `${name}: ${Array.isArray(value) ? value.join(', ') : typeof value === 'object' ? JSON.stringify(value) : String(value)}`);
  return shown.length ? `${op} (${shown.join('; ')})` : op;
}

const list = (text: string) => text.split(',').map((part) => part.trim()).filter(Boolean);

/** Builds one transform step from an op and the parameters typed for it. */
function stepFrom(op: string, params: Record<string, string>): Transform {
  switch (op) {
    case 'date_parse':
      return { op, format: params.format || 'auto' };
    case 'number_parse':
      return { op, locale: params.locale || 'auto' };
    case 'cast':
      return { op, to: params.to || 'text' };
    case 'default':
      return { op, value: params.value ?? '' };
    case 'split':
      return { op, separator: params.separator ?? '', index: Number(params.index || 0) };
    case 'concat':
      return { op, columns: list(params.columns ?? ''), separator: params.separator ?? '' };
    case 'replace':
      return { op, find: params.find ?? '', with: params.with ?? '' };
    case 'null_if':
      return { op, values: list(params.values ?? '') };
    case 'map':
      return { op, values: Object.fromEntries(list(params.values ?? '').map((pair) => [pair.split('=')[0]!.trim(), pair.split('=').slice(1).join('=').trim()])), otherwise: params.otherwise || 'keep' };
    default:
      return { op };
  }
}

/** The inputs one op needs, under a line's "add transform" control. */
const StepParams: React.FC<{ op: string; catalog: Catalog; params: Record<string, string>; set: (name: string, value: string) => void }> = ({ op, catalog, params, set }) => {
  const text = (name: string, hint: string) => <input key={name} aria-label={name} placeholder={hint} value={params[name] ?? ''} onChange={(e) => set(name, e.target.value)} style={{ width: 110 }} />;
  const choice = (name: string, values: string[]) => (
    <select key={name} aria-label={name} value={params[name] ?? values[0]} onChange={(e) => set(name, e.target.value)}>
      {values.map((value) => <option key={value} value={value}>{value}</option>)}
    </select>
  );
  switch (op) {
    // A format of the list or one typed (dayjs/moment tokens); empty reads as auto.
    case 'date_parse':
      return (
        <>
          <input key="format" aria-label="format" list="date-formats" placeholder="auto, or e.g. DD/MM/YYYY" value={params.format ?? ''} onChange={(e) => set('format', e.target.value)} style={{ width: 170 }} />
          <datalist id="date-formats">{catalog.transforms.dateFormats.map((format) => <option key={format} value={format} />)}</datalist>
        </>
      );
    case 'number_parse': return choice('locale', catalog.transforms.numberLocales);
    case 'cast': return choice('to', catalog.transforms.castTypes);
    case 'default': return text('value', 'value');
    case 'split': return <>{text('separator', 'separator')}{text('index', 'index (0…)')}</>;
    case 'concat': return <>{text('columns', 'columns, comma-separated')}{text('separator', 'separator')}</>;
    case 'replace': return <>{text('find', 'find')}{text('with', 'replace with')}</>;
    case 'null_if': return text('values', 'N/A, -, …');
    case 'map': return <>{text('values', 'Y=yes, N=no')}{choice('otherwise', ['keep', 'reject'])}</>;
    default: return null;
  }
};

const AddStep: React.FC<{ catalog: Catalog; onAdd: (step: Transform) => void; testId: string }> = ({ catalog, onAdd, testId }) => {
  const [op, setOp] = useState('');
  const [params, setParams] = useState<Record<string, string>>({});
  return (
    <Box flex flexDirection="row" style={{ gap: 4, flexWrap: 'wrap', alignItems: 'center' }} data-testid={testId}>
      <select aria-label="add transform" value={op} onChange={(e) => { setOp(e.target.value); setParams({}); }}>
        <option value="">+ transform…</option>
        {catalog.transforms.ops.map((name) => <option key={name} value={name}>{name}</option>)}
      </select>
      {op && <StepParams op={op} catalog={catalog} params={params} set={(name, value) => setParams({ ...params, [name]: value })} />}
      {op && <Button size="sm" type="button" onClick={() => { onAdd(stepFrom(op, params)); setOp(''); setParams({}); }}>Add</Button>}
    </Box>
  );
};

const statusVariant = (status: string) => (status === 'succeeded' || status === 'approved' ? 'success' : status === 'failed' ? 'danger' : status === 'draft' ? 'info' : 'secondary');

/** How often the page asks for a running execution's progress, and for sources uploaded elsewhere. */
const EXECUTION_POLL_MS = 1000;
const SOURCES_POLL_MS = 5000;

/** Data sources: upload any export, review the proposed mapping onto a canonical table, preview, save, approve (admins) and execute. */
const Mapping: React.FC = () => {
  const [page, setPage] = useState<PageData | null>(null);
  const [sources, setSources] = useState<SourceSummary[]>([]);
  const [businessId, setBusinessId] = useState('');
  const [source, setSource] = useState<Source | null>(null);
  const [versions, setVersions] = useState<Version[]>([]);
  const [table, setTable] = useState('');
  const [lines, setLines] = useState<EditorLine[]>([]);
  const [proposalNote, setProposalNote] = useState<string | null>(null);
  const [preview, setPreview] = useState<Preview | null>(null);
  const [execution, setExecution] = useState<Execution | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  // The message sits at the top of the page, and the buttons that fail (preview, save) far below it.
  const errorBox = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (error) errorBox.current?.scrollIntoView({ block: 'center' });
  }, [error]);
  const [notice, setNotice] = useState<string | null>(null);

  const loadSources = useCallback(() => requestJson<{ data: SourceSummary[] }>('GET', '/api/data-sources').then((res) => setSources(res.data), (reason: Error) => setError(reason.message)), []);

  useEffect(() => {
    api.getPage({ pageName: 'mapping' }).then((res) => {
      const data = res.data as PageData;
      setPage(data);
      if (data.businesses?.[0]) setBusinessId(data.businesses[0].id);
    }, (reason: Error) => setError(reason.message));
    loadSources();
  }, [loadSources]);

  // Sources uploaded elsewhere (a colleague, another tab, the API) join the list, newest first, and each
  // one's last execution stays current.
  useEffect(
    () =>
      pollEvery(SOURCES_POLL_MS, async (active) => {
        try {
          const res = await requestJson<{ data: SourceSummary[] }>('GET', '/api/data-sources');
          if (active()) setSources(res.data);
        } catch {
          // The page still works with the list it has; the next poll asks again.
        }
        return true;
      }),
    [],
  );

  const run = async (label: string, work: () => Promise<void>) => {
    setBusy(label);
    setError(null);
    setNotice(null);
    try {
      await work();
    } catch (reason) {
      setError((reason as Error).message);
    } finally {
      setBusy(null);
    }
  };

  const propose = async (id: string, tableHint?: string) => {
    const proposal = await requestJson<Proposal>('POST', '/api/mapping/propose', tableHint ? { data_source_id: id, table_hint: tableHint } : { data_source_id: id });
    setTable(proposal.table);
    setLines(linesFromProposal(proposal));
    setProposalNote(`Proposed: ${proposal.table} (confidence ${Math.round(proposal.table_confidence * 100)} %)${proposal.fallback ? `; the language model's answer was not used: ${proposal.fallback.reason}` : ''}`);
  };

  /** Opens a source: its latest saved version when there is one (the approved one first), else a fresh proposal. */
  const open = (id: string) =>
    run('Opening', async () => {
      const [opened, saved] = await Promise.all([requestJson<Source>('GET', `/api/data-sources/${id}`), requestJson<{ data: Version[] }>('GET', `/api/data-sources/${id}/mappings`)]);
      setSource(opened);
      setVersions(saved.data);
      setPreview(null);
      setExecution(null);
      const start = saved.data.find((v) => v.status === 'approved') ?? saved.data.find((v) => v.status === 'draft');
      if (start) {
        setTable(start.table);
        setLines(linesFromVersion(start, opened));
        setProposalNote(`Showing version ${start.version} (${start.status}).`);
      } else {
        await propose(id);
      }
    });

  const upload = (form: HTMLFormElement) =>
    run('Uploading', async () => {
      const data = new FormData();
      const name = (form.elements.namedItem('name') as HTMLInputElement).value;
      if (name) data.append('name', name);
      if (businessId) data.append('business_id', businessId);
      const file = (form.elements.namedItem('file') as HTMLInputElement).files?.[0];
      if (!file) throw new Error('Choose a CSV or XLSX file first.');
      data.append('file', file);
      const created = await requestJson<Source>('POST', '/api/data-sources', data);
      form.reset();
      await loadSources();
      await open(created.id);
      if (created.approved_mapping) setNotice(`This layout already has an approved mapping (version ${created.approved_mapping.version}, ${created.approved_mapping.table}): it can be executed at once.`);
    });

  const columnsBody = () =>
    lines
      .filter((line) => line.target !== '')
      .map((line) => (line.source === null ? { target: line.target, expression: line.expression } : { target: line.target, source: line.source, transforms: line.transforms, ...(line.confidence === null ? {} : { confidence: line.confidence }), ...(line.reason ? { reason: line.reason } : {}) }));

  const update = (key: string, change: Partial<EditorLine>) => setLines((current) => current.map((line) => (line.key === key ? { ...line, ...change } : line)));

  const reloadVersions = async (id: string) => {
    const [opened, saved] = await Promise.all([requestJson<Source>('GET', `/api/data-sources/${id}`), requestJson<{ data: Version[] }>('GET', `/api/data-sources/${id}/mappings`)]);
    setSource(opened);
    setVersions(saved.data);
    await loadSources();
  };

  // Follows a running execution until it ends; a failed poll is tried again. Opening another source
  // clears the execution, and a reply that arrives after that is dropped.
  const sourceId = source?.id;
  const runningExecution = execution && execution.status !== 'succeeded' && execution.status !== 'failed' ? execution.id : null;
  useEffect(() => {
    if (runningExecution === null) return;
    return pollEvery(EXECUTION_POLL_MS, async (active) => {
      try {
        const next = await requestJson<Execution>('GET', `/api/mapping/executions/${runningExecution}`);
        if (!active()) return false;
        setExecution(next);
        if (next.status !== 'succeeded' && next.status !== 'failed') return true;
        if (sourceId) reloadVersions(sourceId).catch((reason: Error) => setError(reason.message));
        return false;
      } catch (reason) {
        if (active()) setError(`${(reason as Error).message} (still following the load)`);
        return true;
      }
    });
  }, [runningExecution, sourceId]);

  if (!page) return <Box variant="grey">{error ? <MessageBox variant="danger" message={error} /> : <Loader />}</Box>;
  const catalogTable = page.catalog.tables.find((t) => t.name === table);
  const mappedTargets = new Set(lines.filter((line) => line.target).map((line) => line.target));
  const missingKeys = catalogTable?.columns.filter((c) => c.required && !mappedTargets.has(c.name)).map((c) => c.name) ?? [];

  return (
    <Box variant="grey" data-testid="mapping-page">
      <H2>Data sources</H2>
      <div ref={errorBox}>{error && <MessageBox variant="danger" data-testid="mapping-error" message={error} style={{ whiteSpace: 'pre-line' }} onCloseClick={() => setError(null)} />}</div>
      {notice && <MessageBox variant="info" data-testid="mapping-notice" message={notice} onCloseClick={() => setNotice(null)} />}
      <Box flex flexDirection="row" style={{ gap: 16, alignItems: 'flex-start', flexWrap: 'wrap' }}>
        <Box variant="white" p="lg" style={{ flex: '1 1 280px', maxWidth: 360 }}>
          {page.may.upload && (
            <form data-testid="source-upload" onSubmit={(e) => { e.preventDefault(); upload(e.currentTarget); }}>
              <H5>Upload an export</H5>
              <Text variant="sm">Any CSV or XLSX (first sheet): orders, invoices, customers, products…</Text>
              {page.businesses && (
                <Box mt="default"><BusinessSelect id="src-business" businesses={page.businesses} value={businessId} onChange={setBusinessId} /></Box>
              )}
              <Box mt="default"><Label htmlFor="src-name">Name (optional)</Label><input id="src-name" name="name" placeholder="ERP orders" /></Box>
              <Box mt="default"><input data-testid="source-file" name="file" type="file" accept=".csv,.txt,.tsv,.xlsx" /></Box>
              <Box mt="default"><Button variant="primary" type="submit" disabled={busy !== null}>Upload</Button></Box>
            </form>
          )}
          <H5 mt="xl">Recent sources</H5>
          {sources.length === 0 && <Text variant="sm">No data sources yet.</Text>}
          <Box data-testid="source-list">
            {sources.map((s) => (
              <Box key={s.id} py="sm" style={{ borderBottom: '1px solid #eee', cursor: 'pointer', background: source?.id === s.id ? '#f0f4ff' : undefined }} onClick={() => open(s.id)} data-testid="source-item">
                <Text><b>{s.name}</b> <Text as="span" variant="sm">{s.filename}</Text></Text>
                <Text variant="sm">
                  {s.approved_mapping ? <Badge size="sm" variant="success">{s.approved_mapping.table} v{s.approved_mapping.version}</Badge> : <Badge size="sm" variant="secondary">not approved</Badge>}{' '}
                  {s.last_execution && <Badge size="sm" variant={statusVariant(s.last_execution.status)}>{s.last_execution.status}: {s.last_execution.rows_loaded} rows</Badge>}
                </Text>
              </Box>
            ))}
          </Box>
        </Box>

        <Box style={{ flex: '3 1 640px', minWidth: 0 }}>
          {busy && <Box variant="white" p="default" data-testid="mapping-busy"><Loader /> <Text>{busy}…</Text></Box>}
          {!source && !busy && <Box variant="white" p="lg"><Text>Upload an export or pick a source to map it.</Text></Box>}
          {source && (
            <Box variant="white" p="lg" data-testid="mapping-editor">
              <H5>{source.name} <Text as="span" variant="sm">({source.filename}, {source.columns.length} columns)</Text></H5>
              {proposalNote && <Text variant="sm" data-testid="proposal-note">{proposalNote}</Text>}
              <Box flex flexDirection="row" mt="default" style={{ gap: 8, alignItems: 'center' }}>
                <Label htmlFor="map-table" style={{ margin: 0 }}>Canonical table</Label>
                <select id="map-table" data-testid="map-table" value={table} onChange={(e) => { setTable(e.target.value); setLines((current) => current.map((line) => ({ ...line, target: '', transforms: [] }))); }}>
                  {page.catalog.tables.map((t) => <option key={t.name} value={t.name}>{t.name}</option>)}
                </select>
                <Button size="sm" type="button" variant="outlined" onClick={() => run('Proposing', () => propose(source.id, table))}>Propose for this table</Button>
              </Box>
              <table data-testid="mapping-table" cellPadding={4} style={{ width: '100%', marginTop: 12, borderCollapse: 'collapse', fontSize: 13 }}>
                <thead>
                  <tr style={{ textAlign: 'left', borderBottom: '2px solid #ddd' }}><th>Column</th><th>Samples</th><th>Maps to</th><th>Why</th><th>Transforms</th></tr>
                </thead>
                <tbody>
                  {lines.filter((line) => line.source !== null).map((line) => {
                    const column = source.columns.find((c) => c.header === line.source)!;
                    return (
                      <tr key={line.key} data-testid="mapping-row" data-source={line.source!} style={{ borderBottom: '1px solid #eee', verticalAlign: 'top' }}>
                        <td><b>{line.source}</b><br /><Text as="span" variant="sm">{column.kind}</Text> {column.pii && <Badge size="sm" variant="danger" data-testid="pii-flag" title="Personal data: masked for roles that may not see it, kept out of dashboards">PII: {column.pii}</Badge>}</td>
                        <td style={{ maxWidth: 200, overflow: 'hidden', textOverflow: 'ellipsis' }}>{column.samples.slice(0, 3).join(' · ')}</td>
                        <td>
                          <select aria-label={`target of ${line.source}`} data-testid="target" value={line.target} onChange={(e) => update(line.key, { target: e.target.value, reason: 'chosen by hand', confidence: null })}>
                            <option value="">(ignore)</option>
                            {catalogTable?.columns.map((c) => <option key={c.name} value={c.name}>{c.name}{c.required ? ' *' : ''}</option>)}
                          </select>
                        </td>
                        <td><Text variant="sm">{line.confidence !== null && `${Math.round(line.confidence * 100)} % · `}{line.reason}</Text></td>
                        <td>
                          {line.transforms.map((step, index) => (
                            <Badge key={index} size="sm" variant="secondary" style={{ marginRight: 4 }} data-testid="transform-step">
                              {describeStep(step)} <span role="button" aria-label="remove step" style={{ cursor: 'pointer' }} onClick={() => update(line.key, { transforms: line.transforms.filter((_, i) => i !== index) })}>×</span>
                            </Badge>
                          ))}
                          {line.target && <AddStep catalog={page.catalog} testId="add-step" onAdd={(step) => update(line.key, { transforms: [...line.transforms, step] })} />}
                        </td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
              <H5 mt="lg">Computed columns</H5>
              <Text variant="sm" data-testid="expression-hint">
                An expression over other columns, each named by its header, or by <code>col("…")</code> when it has spaces: e.g.{' '}
                {page.catalog.transforms.expressionExamples.map((example, i) => (
                  <React.Fragment key={example}>{i > 0 && ', '}<code>{example}</code></React.Fragment>
                ))}
                .
              </Text>
              {lines.filter((line) => line.source === null).map((line) => (
                <Box key={line.key} flex flexDirection="row" style={{ gap: 6, alignItems: 'center' }} mt="sm" data-testid="computed-row">
                  <select aria-label="computed target" value={line.target} onChange={(e) => update(line.key, { target: e.target.value })}>
                    <option value="">(choose a column)</option>
                    {catalogTable?.columns.map((c) => <option key={c.name} value={c.name}>{c.name}</option>)}
                  </select>
                  =
                  <input aria-label="expression" value={line.expression} onChange={(e) => update(line.key, { expression: e.target.value })} style={{ flex: 1 }} />
                  <Button size="sm" type="button" variant="text" onClick={() => setLines((current) => current.filter((l) => l.key !== line.key))}>Remove</Button>
                </Box>
              ))}
              <Button size="sm" type="button" variant="text" mt="sm" onClick={() => setLines((current) => [...current, { key: newKey(), source: null, target: '', transforms: [], expression: '', confidence: null, reason: null }])}>+ computed column</Button>
              {missingKeys.length > 0 && <MessageBox variant="warning" mt="default" message={`Map the natural key of ${table}: ${missingKeys.join(', ')}.`} />}
              <Box flex flexDirection="row" mt="lg" style={{ gap: 8 }}>
                {page.may.preview && <Button type="button" data-testid="preview-mapping" disabled={busy !== null} onClick={() => run('Previewing', async () => setPreview(await requestJson<Preview>('POST', '/api/mapping/preview', { data_source_id: source.id, table, columns: columnsBody() })))}>Preview</Button>}
                {page.may.save && (
                  <Button type="button" variant="primary" data-testid="save-mapping" disabled={busy !== null} onClick={() => run('Saving', async () => {
                    const saved = await requestJson<Version>('POST', '/api/mapping/save', { data_source_id: source.id, table, columns: columnsBody() });
                    await reloadVersions(source.id);
                    setNotice(`Saved as version ${saved.version} (draft).${page.may.approve ? '' : ' An administrator approves it before it loads.'}`);
                  })}>Save as new version</Button>
                )}
              </Box>
              {preview && (
                <Box mt="lg" data-testid="mapping-preview" style={{ overflowX: 'auto' }}>
                  <Text variant="sm">{preview.summary.rows} rows after transforms, {preview.summary.rows_with_errors} with errors.</Text>
                  <table cellPadding={4} style={{ borderCollapse: 'collapse', fontSize: 12 }}>
                    <thead><tr><th>Row</th>{Object.keys(preview.rows[0]?.values ?? {}).map((name) => <th key={name} style={{ padding: '0 6px' }}>{name}</th>)}<th>Errors</th></tr></thead>
                    <tbody>
                      {preview.rows.map((row) => (
                        <tr key={row.row_number} data-testid="preview-row" style={{ background: row.errors.length ? '#fff0f0' : undefined }}>
                          <td>{row.row_number}</td>
                          {Object.values(row.values).map((value, i) => <td key={i} style={{ padding: '0 6px' }}>{value === null ? '' : String(value)}</td>)}
                          <td>{row.errors.map((e) => `${e.column}: ${e.reason}`).join('; ')}</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </Box>
              )}
            </Box>
          )}

          {source && (
            <Box variant="white" p="lg" mt="default" data-testid="mapping-versions">
              <H5>Versions of this layout</H5>
              {versions.length === 0 && <Text variant="sm">None saved yet.</Text>}
              {versions.map((v) => (
                <Box key={v.id} flex flexDirection="row" style={{ gap: 8, alignItems: 'center' }} py="sm" data-testid="version-row" data-status={v.status}>
                  <Text>Version {v.version}</Text> <Badge size="sm" variant={statusVariant(v.status)}>{v.status}</Badge> <Text variant="sm">{v.table}, {v.columns.length} columns, saved {formatWhen(v.created_at)}</Text>
                  {v.status === 'draft' && page.may.approve && (
                    <Button size="sm" variant="primary" type="button" data-testid="approve-mapping" disabled={busy !== null} onClick={() => run('Approving', async () => {
                      await requestJson('POST', '/api/mapping/approve', { mapping_version_id: v.id });
                      await reloadVersions(source.id);
                      setProposalNote(`Showing version ${v.version} (approved).`);
                      setNotice(`Version ${v.version} approved: uploads of this layout now load with it.`);
                    })}>Approve</Button>
                  )}
                  {v.status === 'draft' && !page.may.approve && <Text variant="sm" data-testid="awaiting-approval">waiting for an administrator</Text>}
                </Box>
              ))}
              {page.may.execute && (
                <Box mt="default">
                  <Button type="button" variant="primary" data-testid="execute-mapping" disabled={busy !== null || !source.approved_mapping || execution?.status === 'queued' || execution?.status === 'running'} onClick={() => run('Starting', async () => {
                    const started = await requestJson<{ execution_id: string }>('POST', '/api/mapping/execute', { data_source_id: source.id });
                    setExecution(await requestJson<Execution>('GET', `/api/mapping/executions/${started.execution_id}`));
                  })}>Execute: load the whole file</Button>
                  {!source.approved_mapping && <Text variant="sm">Executing needs an approved mapping of this layout.</Text>}
                </Box>
              )}
              {execution && (
                <Box mt="default" data-testid="execution">
                  <Text>
                    <Badge variant={statusVariant(execution.status)} data-testid="execution-status">{execution.status}</Badge>{' '}
                    {execution.rows_loaded} rows loaded, {execution.rows_rejected} rejected
                  </Text>
                  <ProgressBar percent={execution.progress_percent} failed={execution.status === 'failed'} testId="execution-progress" />
                  {execution.error && <MessageBox variant="danger" mt="sm" message={execution.error} />}
                  {execution.first_rejects.length > 0 && (
                    <Box mt="sm" data-testid="rejects">
                      <table cellPadding={4} style={{ borderCollapse: 'collapse', fontSize: 12 }}>
                        <thead><tr><th>Row</th><th>Column</th><th>Value</th><th>Reason</th></tr></thead>
                        <tbody>{execution.first_rejects.map((r, i) => <tr key={i} data-testid="reject-row"><td>{r.row}</td><td>{r.column}</td><td>{r.value}</td><td>{r.reason}</td></tr>)}</tbody>
                      </table>
                      <a href={`/api/mapping/executions/${execution.id}/rejects.csv`} data-testid="rejects-csv">Download every reject (CSV)</a>
                    </Box>
                  )}
                  {execution.status === 'succeeded' && <Text mt="sm"><a href="/admin/pages/dashboards" data-testid="open-dashboards">Open Dashboards</a>: the views this load touched are being refreshed.</Text>}
                </Box>
              )}
            </Box>
          )}
        </Box>
      </Box>
    </Box>
  );
};

export default Mapping;
