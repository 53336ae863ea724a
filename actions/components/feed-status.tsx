import React, { useEffect, useState } from 'react';
import { Badge, Box, Icon, Text } from '@adminjs/design-system';
import { formatMoney, formatNumber } from '../../dashboards/components/format.js';
import { pollEvery } from '../../dashboards/components/poll.js';
import { ProgressBar } from '../../dashboards/components/ProgressBar.js';
import { RequestError, requestJson } from '../../dashboards/components/request.js';

/**
 * A data feed's state as the upload workbench and the Data Feeds list both show it: the same badge,
 * the same summary chips, the same answer from `GET /dashboard/data-feeds/:id/transform-status`.
 */

export interface FeedMetrics {
  records: number;
  gross_revenue: number;
  cogs_amount: number;
  gross_margin_amount: number;
  gross_margin_percent: number | null;
  /** Products of the feed without a cost: their sales are left out of COGS and margin. */
  products_without_cost?: number;
}

export interface FeedIssue {
  type: string;
  code: string;
  message: string;
}

export interface FeedSummary {
  stage?: string;
  /** While the commit checks and stages the rows: rows read so far and the share of the file read. */
  progress?: { rows_read: number; percent: number };
  metrics?: FeedMetrics;
  issues?: FeedIssue[];
  error?: { message: string } | null;
}

export interface FeedStatus {
  feed_id: number;
  status: string;
  record_count: number;
  summary: FeedSummary;
}

export const transformStatusUrl = (feedId: number | string) => `/dashboard/data-feeds/${feedId}/transform-status`;

/** A feed record carries its summary as JSON text (see RecordsResource); an unreadable one shows as empty. */
export function summaryOf(value: unknown): FeedSummary {
  if (typeof value !== 'string' || value === '') return {};
  try {
    const parsed: unknown = JSON.parse(value);
    return parsed !== null && typeof parsed === 'object' ? (parsed as FeedSummary) : {};
  } catch {
    return {};
  }
}

/** transformed and failed are final: nothing changes them but a re-run. */
export const isFinalStatus = (status: string) => status === 'transformed' || status === 'failed';

/**
 * Follows a feed while it loads: from `start` (a commit's answer, a listed record), asks for its status
 * every `intervalMs` until it is final. A failed request is reported as `problem` and asked again (a
 * network blip or a restarting server must not freeze the page); a refusal (4xx: deleted, not ours)
 * stops, because asking again will not change it. When the caller hands over a newer `start`, it wins.
 */
export function useFeedPolling(start: FeedStatus | null, intervalMs: number): { feed: FeedStatus | null; problem: string | null } {
  const [live, setLive] = useState<{ basis: FeedStatus; feed: FeedStatus } | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  useEffect(() => {
    setProblem(null);
    if (!start || isFinalStatus(start.status)) return undefined;
    return pollEvery(intervalMs, async (active) => {
      try {
        const next = await requestJson<FeedStatus>('GET', transformStatusUrl(start.feed_id));
        if (!active()) return false;
        setLive({ basis: start, feed: next });
        setProblem(null);
        return !isFinalStatus(next.status);
      } catch (reason) {
        if (!active()) return false;
        setProblem((reason as Error).message);
        return !(reason instanceof RequestError && reason.status >= 400 && reason.status < 500);
      }
    });
  }, [start, intervalMs]);
  return { feed: live && live.basis === start ? live.feed : start, problem };
}

const statusVariant: Record<string, 'primary' | 'success' | 'danger' | 'info' | 'secondary'> = { processing: 'secondary', queued: 'info', transforming: 'primary', transformed: 'success', failed: 'danger' };

/** The status in its colour; a status still moving carries a small spinner. */
export const FeedStatusBadge: React.FC<{ status: string; testId?: string }> = ({ status, testId = 'feed-status' }) => (
  <Badge variant={statusVariant[status] ?? 'secondary'} data-testid={testId} data-status={status}>
    {!isFinalStatus(status) && <Icon icon="Loader" spin size={12} mr="sm" />}
    {status}
  </Badge>
);

/** A count with its noun, singular for one ("1 record", "2,400 records"). */
export const countOf = (count: number, noun: string) => `${count.toLocaleString()} ${noun}${count === 1 ? '' : 's'}`;

/**
 * Records, gross revenue, COGS, margin and margin % of a loaded sales feed; a cost feed has only its rows
 * (its money figures are not sales).
 */
export const FeedChips: React.FC<{ metrics: FeedMetrics; dataType?: string }> = ({ metrics, dataType }) => (
  <Box flex flexDirection="row" style={{ gap: 8, flexWrap: 'wrap' }} data-testid="feed-chips">
    <Badge variant="secondary" data-testid="chip-records">{countOf(metrics.records, dataType === 'costs' ? 'cost row' : 'record')}</Badge>
    {dataType !== 'costs' && (
      <>
        <Badge variant="info" data-testid="chip-revenue">revenue {formatMoney(metrics.gross_revenue)}</Badge>
        <Badge variant="secondary" data-testid="chip-cogs">COGS {formatMoney(metrics.cogs_amount)}</Badge>
        <Badge variant="success" data-testid="chip-margin">margin {formatMoney(metrics.gross_margin_amount)}</Badge>
        <Badge variant="success" data-testid="chip-margin-percent">{metrics.gross_margin_percent === null ? '–' : `${formatNumber(metrics.gross_margin_percent, 2, true)}%`}</Badge>
        {(metrics.products_without_cost ?? 0) > 0 && (
          // COGS and margin above leave these products' sales out: said on the chips, not in a tooltip.
          <Badge variant="danger" data-testid="chip-margin-incomplete">margin incomplete: {countOf(metrics.products_without_cost!, 'product')} without cost</Badge>
        )}
      </>
    )}
  </Box>
);

/**
 * The feed its commit is still checking and staging (`processing`) among an upload's feeds, asked for every
 * `intervalMs` while `uploadToken` is set: the commit request answers only once every row is staged.
 */
export function useCommittingFeed(uploadToken: string | null, intervalMs: number): FeedStatus | null {
  const [committing, setCommitting] = useState<FeedStatus | null>(null);
  useEffect(() => {
    setCommitting(null);
    if (!uploadToken) return undefined;
    return pollEvery(intervalMs, async (active) => {
      try {
        const { feeds } = await requestJson<{ feeds: (Omit<FeedStatus, 'feed_id'> & { id: number })[] }>('GET', `/dashboard/data-feeds?upload_token=${encodeURIComponent(uploadToken)}&limit=5`);
        const feed = feeds.find((listed) => listed.status === 'processing');
        if (active()) setCommitting(feed ? { feed_id: feed.id, status: feed.status, record_count: feed.record_count, summary: feed.summary } : null);
      } catch {
        // The commit's own answer reports what went wrong; until then the page just shows no progress.
      }
      return true;
    });
  }, [uploadToken, intervalMs]);
  return committing;
}

/** How far a commit has read its file, while the feed is `processing`. */
export const FeedProgress: React.FC<{ feed: FeedStatus }> = ({ feed }) => {
  const progress = feed.summary.progress;
  if (feed.status !== 'processing' || !progress) return null;
  return (
    <Box data-testid="feed-commit-progress" data-percent={progress.percent} style={{ minWidth: 200 }}>
      <ProgressBar percent={progress.percent} />
      <Text variant="sm" mt="sm">
        Checking and staging rows: {progress.percent}% of the file read, {progress.rows_read.toLocaleString()} rows so far
      </Text>
    </Box>
  );
};
