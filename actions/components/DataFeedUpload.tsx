import React, { useCallback, useEffect, useRef, useState } from 'react';
import { Badge, Box, Button, CheckBox, H3, Icon, Label, Loader, MessageBox, Text } from '@adminjs/design-system';
import type { ProductMatch } from '../../core/feeds/matching.js';
import type { DuplicateChoice } from '../../core/feeds/duplicates.js';
import type { CheckProgress, PreviewResult } from '../../core/feeds/preview.js';
import { BusinessSelect } from '../../dashboards/components/BusinessSelect.js';
import { requestJson as call, requestWithProgress } from '../../dashboards/components/request.js';
import { FeedChips, FeedProgress, FeedStatusBadge, useCommittingFeed, useFeedPolling, type FeedStatus } from './feed-status.js';
import { CheckProgressBar, CommitBlockers, commitBlockers, DuplicatesChoice, InvalidRowsList, NewProductsPanel, PreviewCounts } from './preview-panels.js';
import { DateFormatField } from './DateFormatField.js';
import { MapToProduct } from './MapToProduct.js';

// The answers' shapes as the server defines them (types only: nothing of the server is bundled).
type Match = ProductMatch;
type PreviewRow = PreviewResult['rows'][number];
type Preview = PreviewResult;

const cellStyle: React.CSSProperties = { padding: 6, verticalAlign: 'top' };
const asWrittenStyle: React.CSSProperties = { fontSize: 11, color: '#6b6b80' };

/**
 * A checked cell: the value as it loads, with the cell as written below it when checking changed it (a
 * date in another format, a number with separators); a cell with a problem shows what is written, in red.
 */
function PreviewCell({ row, column, header }: { row: PreviewRow; column: string; header: string }) {
  const written = row.original[header] ?? '';
  const value = row.normalized[column] ?? '';
  const issue = row.issues.find((i) => i.column === column);
  if (issue) {
    return (
      <td style={cellStyle} data-column={column}>
        <span style={{ color: '#c0392b', fontWeight: 600 }} title={`${header} ${issue.reason}`}>{written.trim() === '' ? '(empty)' : written}</span>
      </td>
    );
  }
  return (
    <td style={cellStyle} data-column={column}>
      {value}
      {written.trim() !== '' && written.trim() !== value && <div style={asWrittenStyle}>as written: {written}</div>}
    </td>
  );
}

interface Business {
  id: string;
  name: string;
}

function MatchBadge({ match }: { match: Match | null }) {
  if (!match) return null;
  if (match.status === 'exact') return <Badge size="sm" variant="success">exact</Badge>;
  if (match.status === 'alias') return <Badge size="sm" variant="success" title={`You mapped “${match.alias}” to ${match.product_name}`}>= {match.product_name} (your mapping)</Badge>;
  if (match.status === 'fuzzy') return <Badge size="sm" variant="info">≈ {match.product_name} ({Math.round(match.score * 100)}%)</Badge>;
  const best = match.candidates[0];
  return <Badge size="sm" variant="danger">missing{best ? ` · closest: ${best.product_name} (${Math.round(best.score * 100)}%)` : ''}</Badge>;
}

/** The Data Feeds workbench: drop a file, check the preview, create missing products, commit, watch it load. */
const DataFeedUpload: React.FC = () => {
  const [dataType, setDataType] = useState<'sales' | 'costs'>('sales');
  const [businesses, setBusinesses] = useState<Business[] | null>(null);
  const [businessId, setBusinessId] = useState('');
  const [preview, setPreview] = useState<Preview | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [skipInvalid, setSkipInvalid] = useState(false);
  const [duplicateChoice, setDuplicateChoice] = useState<DuplicateChoice | null>(null);
  // How far the whole-file check of the file being previewed has read (null when none runs).
  const [checking, setChecking] = useState<{ filename: string; progress: CheckProgress | null } | null>(null);
  // A refused commit's answer, shown beside the Commit button.
  const [commitError, setCommitError] = useState<string | null>(null);
  const [committed, setCommitted] = useState<FeedStatus | null>(null);
  const [committedType, setCommittedType] = useState<string | null>(null);
  const { feed, problem: statusProblem } = useFeedPolling(committed, 1000);
  // While the commit request runs, its feed is listed as processing with how far the commit has read.
  const [committingToken, setCommittingToken] = useState<string | null>(null);
  const committing = useCommittingFeed(committingToken, 1000);
  const [dragging, setDragging] = useState(false);
  const input = useRef<HTMLInputElement>(null);

  useEffect(() => {
    // Admins choose the business the file is for; everyone else loads into their own.
    call<{ data: { user: { role: string } } }>('GET', '/api/me')
      .then(async ({ data }) => {
        if (data.user.role === 'admin') setBusinesses((await call<{ data: Business[] }>('GET', '/api/businesses?perPage=500&sortBy=name&direction=asc')).data);
      })
      .catch((reason: Error) => setError(`The list of businesses could not be loaded: ${reason.message}`));
  }, []);

  const upload = useCallback(
    async (file: File) => {
      if (businesses && !businessId) {
        setError(`Choose the business ${file.name} is for, then drop it again.`);
        return;
      }
      setError(null);
      setCommitError(null);
      setPreview(null);
      setCommitted(null);
      setSkipInvalid(false);
      setDuplicateChoice(null);
      setBusy(`Reading ${file.name}…`);
      try {
        const form = new FormData();
        form.append('data_type', dataType);
        if (businessId) form.append('business_id', businessId);
        form.append('file', file);
        setPreview(await checkFile(file.name, 'POST', '/dashboard/data-feeds/preview', form));
      } catch (reason) {
        setError((reason as Error).message);
      } finally {
        setBusy(null);
      }
    },
    [dataType, businessId, businesses],
  );

  /** The whole-file check of an upload (its preview), its progress shown while it reads. */
  const checkFile = async (filename: string, method: string, url: string, form?: FormData): Promise<Preview> => {
    setChecking({ filename, progress: null });
    try {
      return await requestWithProgress<Preview, CheckProgress>(method, url, form, (progress) => setChecking({ filename, progress }));
    } finally {
      setChecking(null);
    }
  };

  const createMissing = async (body: unknown) => {
    if (!preview) return;
    setBusy('Creating products…');
    setError(null);
    try {
      await call('POST', '/dashboard/data-feeds/auto-create-products', body);
      setPreview(await checkFile(preview.filename, 'GET', `/dashboard/data-feeds/preview/${preview.upload_token}`));
    } catch (reason) {
      setError((reason as Error).message);
    } finally {
      setBusy(null);
    }
  };

  /** The preview read again: after names are mapped to products, each row shows its new match. */
  const refreshPreview = async () => {
    if (preview) setPreview(await checkFile(preview.filename, 'GET', `/dashboard/data-feeds/preview/${preview.upload_token}`));
  };

  const commit = async () => {
    if (!preview) return;
    setBusy('Committing…');
    setError(null);
    setCommitError(null);
    setCommittingToken(preview.upload_token);
    try {
      const result = await call<{ feed_id: number; record_count: number; status: string }>('POST', '/dashboard/data-feeds/commit', {
        upload_token: preview.upload_token,
        data_type: preview.data_type,
        business_id: businessId || undefined,
        skip_invalid_rows: skipInvalid,
        duplicates: duplicateChoice ?? undefined,
      });
      setCommitted({ feed_id: result.feed_id, status: result.status, record_count: result.record_count, summary: { stage: result.status } });
      setCommittedType(preview.data_type);
    } catch (reason) {
      setCommitError((reason as Error).message);
    } finally {
      setCommittingToken(null);
      setBusy(null);
    }
  };

  // The template's columns the file has, besides the product, in the template's order (each cell under its own header).
  const shownColumns = preview ? Object.keys(preview.rows[0]?.normalized ?? {}).filter((column) => column !== 'product_name' && preview.column_mapping[column] !== undefined) : [];
  const hasInvalidRows = (preview?.summary.invalid_rows ?? 0) > 0;
  const blockers = preview ? commitBlockers(preview.summary, { skipInvalid, duplicateChoice }) : [];
  const columnLabel = (column: string) => preview?.column_mapping[column] ?? column;
  const metrics = feed?.summary.metrics;
  const adminRoot = window.location.pathname.split('/resources/')[0];
  return (
    <Box variant="white" p="xl" data-testid="data-feed-upload">
      <H3>Load a sales or cost file</H3>
      <Text mb="lg">
        CSV (any delimiter, UTF-8, UTF-16 or Windows-1252) or Excel .xlsx (first sheet). Templates:{' '}
        <a href="/dashboard/data-feeds/templates/sales.csv">sales</a> · <a href="/dashboard/data-feeds/templates/costs.csv">costs</a>
      </Text>
      <Box flex flexDirection="row" style={{ gap: 16 }} mb="lg">
        <Box>
          <Label htmlFor="data-type">Data type</Label>
          <select id="data-type" data-testid="data-type" value={dataType} onChange={(e) => setDataType(e.target.value as 'sales' | 'costs')}>
            <option value="sales">Sales</option>
            <option value="costs">Costs</option>
          </select>
        </Box>
        {businesses && (
          <Box>
            <BusinessSelect id="business" testId="business" businesses={businesses} value={businessId} onChange={setBusinessId} prompt="Choose…" />
          </Box>
        )}
      </Box>
      <Box
        data-testid="drop-zone"
        p="xxl"
        mb="lg"
        style={{ border: `2px dashed ${dragging ? '#3040d6' : '#c0c0ca'}`, borderRadius: 8, textAlign: 'center', cursor: 'pointer', background: dragging ? '#f0f2ff' : undefined }}
        onClick={() => input.current?.click()}
        onDragOver={(e: React.DragEvent) => {
          e.preventDefault();
          setDragging(true);
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={(e: React.DragEvent) => {
          e.preventDefault();
          setDragging(false);
          const file = e.dataTransfer.files[0];
          if (file) void upload(file);
        }}
      >
        <Text>{businesses && !businessId ? 'Choose the business first, then drop a file here or click to choose one' : 'Drop a file here, or click to choose one'}</Text>
        <input
          ref={input}
          data-testid="feed-file"
          type="file"
          accept=".csv,.txt,.tsv,.xlsx"
          style={{ display: 'none' }}
          onChange={(e) => {
            const file = e.target.files?.[0];
            if (file) void upload(file);
            e.target.value = '';
          }}
        />
      </Box>
      {checking && <CheckProgressBar filename={checking.filename} progress={checking.progress} />}
      {busy && (
        <Box mb="lg" data-testid="busy">
          <Loader />
          <Text>{busy}</Text>
        </Box>
      )}
      {error && <MessageBox mb="lg" variant="danger" message={error} style={{ whiteSpace: 'pre-line' }} data-testid="feed-error" />}
      {preview && !feed && (
        <Box data-testid="preview">
          <Box flex flexDirection="row" style={{ gap: 8, flexWrap: 'wrap' }} mb="lg">
            <PreviewCounts summary={preview.summary} />
            {Object.entries(preview.summary.date_formats).map(([column, format]) =>
              preview.summary.date_formats_assumed.includes(column) ? (
                <Badge key={column} variant="danger" data-testid="date-format-assumed" title="Each of the first rows reads as well with day and month swapped. Check a date you know in the table below.">
                  {preview.column_mapping[column] ?? column}: {format} assumed (no day above 12 in the first rows)
                </Badge>
              ) : (
                <Badge key={column} variant="secondary">{preview.column_mapping[column] ?? column}: {format ?? 'unreadable'}</Badge>
              ),
            )}
            {new Set(Object.values(preview.summary.decimal_marks)).size === 1 ? (
              <Badge variant="secondary" data-testid="decimal-mark">decimal mark {Object.values(preview.summary.decimal_marks)[0]}</Badge>
            ) : (
              Object.entries(preview.summary.decimal_marks).map(([column, mark]) => (
                <Badge key={column} variant="secondary" data-testid="decimal-mark">{preview.column_mapping[column] ?? column}: decimal mark {mark}</Badge>
              ))
            )}
            <Badge variant="secondary">{[preview.summary.format, preview.summary.encoding, preview.summary.delimiter === '\t' ? 'tab' : preview.summary.delimiter].filter(Boolean).join(' · ')}</Badge>
          </Box>
          {preview.summary.encoding_warning && <MessageBox mb="lg" variant="info" message={preview.summary.encoding_warning} data-testid="encoding-warning" />}
          <DateFormatField key={preview.upload_token} preview={preview} onPreview={setPreview} onError={setError} />
          {preview.summary.currency_warning && <MessageBox mb="lg" variant="danger" message={preview.summary.currency_warning} data-testid="currency-warning" />}
          <DuplicatesChoice summary={preview.summary} choice={duplicateChoice} onChoose={setDuplicateChoice} />
          <InvalidRowsList token={preview.upload_token} summary={preview.summary} label={columnLabel} />
          <Box flex flexDirection="row" style={{ gap: 24, alignItems: 'flex-start' }}>
            <Box style={{ flex: '1 1 auto', minWidth: 0, overflowX: 'auto' }}>
              <table style={{ borderCollapse: 'collapse', width: '100%' }} data-testid="preview-table">
                <thead>
                  <tr>
                    {['Row', 'Status', preview.column_mapping.product_name ?? 'Product', 'Match', ...shownColumns.map((column) => preview.column_mapping[column]!)].map((h, i) => (
                      <th key={i} style={{ textAlign: 'left', padding: 6, borderBottom: '1px solid #ddd' }}>{h}</th>
                    ))}
                    {preview.summary.ignored_columns.map((h) => (
                      <th key={`ignored-${h}`} style={{ textAlign: 'left', padding: 6, borderBottom: '1px solid #ddd', color: '#9a9aae', fontWeight: 400 }} title="Not a column of the template: not loaded">
                        {h} (not loaded)
                      </th>
                    ))}
                  </tr>
                </thead>
                <tbody>
                  {preview.rows.map((row) => (
                    <tr key={row.row_number} data-testid={`preview-row-${row.row_number}`} style={{ background: row.product_match?.status === 'missing' ? '#fff8db' : undefined }}>
                      <td style={cellStyle}>{row.row_number}</td>
                      <td style={{ ...cellStyle, maxWidth: 280, whiteSpace: 'normal' }}>
                        {row.valid ? (
                          <Badge size="sm" variant="success">valid</Badge>
                        ) : (
                          <Badge size="sm" variant="danger" style={{ whiteSpace: 'normal', textAlign: 'left', lineHeight: 1.4, borderRadius: 6 }}>
                            invalid: {row.issues.map((i) => `${preview.column_mapping[i.column] ?? i.column} ${i.reason}`).join('; ')}
                          </Badge>
                        )}
                      </td>
                      <PreviewCell row={row} column="product_name" header={preview.column_mapping.product_name ?? ''} />
                      <td style={cellStyle}>
                        <MatchBadge match={row.product_match} />
                      </td>
                      {shownColumns.map((column) => (
                        <PreviewCell key={column} row={row} column={column} header={preview.column_mapping[column]!} />
                      ))}
                      {preview.summary.ignored_columns.map((h) => (
                        <td key={`ignored-${h}`} style={{ ...cellStyle, color: '#9a9aae' }}>{row.original[h] ?? ''}</td>
                      ))}
                    </tr>
                  ))}
                </tbody>
              </table>
            </Box>
            <Box variant="grey" p="lg" style={{ flex: '0 0 360px' }} data-testid="missing-panel">
              <H3>Products</H3>
              <NewProductsPanel
                token={preview.upload_token}
                summary={preview.summary}
                businessId={businessId}
                busy={!!busy}
                onCreate={createMissing}
                mapTo={(name) => <MapToProduct name={name} businessId={businessId} onMapped={refreshPreview} onError={setError} />}
              />
            </Box>
          </Box>
          {commitError && <MessageBox mt="xl" variant="danger" message={commitError} style={{ whiteSpace: 'pre-line' }} data-testid="commit-error" />}
          <Box mt="xl" flex flexDirection="row" style={{ gap: 16, alignItems: 'center' }}>
            {hasInvalidRows && (
              <Box flex flexDirection="row" style={{ gap: 8, alignItems: 'center' }}>
                <CheckBox id="skip-invalid" checked={skipInvalid} onChange={() => setSkipInvalid(!skipInvalid)} />
                <Label inline htmlFor="skip-invalid">Skip invalid rows</Label>
              </Box>
            )}
            <Button variant="contained" onClick={commit} disabled={!!busy || blockers.length > 0} data-testid="commit">
              Commit {preview.filename}
            </Button>
            <CommitBlockers blockers={blockers} />
            {/* Beside the button the commit was started with, which a long preview puts far below the top. */}
            {committingToken && (
              <Box flex flexDirection="row" style={{ gap: 8, alignItems: 'center' }} data-testid="committing">
                <Icon icon="Loader" spin />
                {committing && <FeedProgress feed={committing} />}
              </Box>
            )}
          </Box>
        </Box>
      )}
      {feed && (
        <Box data-testid="feed-progress" mt="lg">
          <Text mb="md">
            Feed #{feed.feed_id}: <FeedStatusBadge status={feed.status} />
          </Text>
          {metrics && <FeedChips metrics={metrics} dataType={committedType ?? undefined} />}
          {(feed.summary.issues ?? []).map((issue) => (
            <MessageBox key={issue.code} mt="md" variant={issue.type === 'error' ? 'danger' : 'info'} message={issue.message} />
          ))}
          {feed.summary.error && <MessageBox mt="md" variant="danger" message={feed.summary.error.message} />}
          {statusProblem && <Text variant="sm" data-testid="feed-status-problem">Live status unavailable, asking again: {statusProblem}</Text>}
          {feed.status === 'transformed' && (
            <Text mt="lg">
              <a href={`${adminRoot}/pages/metrics`} data-testid="open-metrics">Open Metrics</a> · <a href={`${adminRoot}/resources/DataFeed`}>All feeds</a>
            </Text>
          )}
        </Box>
      )}
    </Box>
  );
};

export default DataFeedUpload;
