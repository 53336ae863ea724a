import React, { useMemo } from 'react';
import { useTranslation, type BasePropertyProps } from 'adminjs';
import { Badge, Box, Text, ValueGroup } from '@adminjs/design-system';
import { FeedChips, FeedProgress, FeedStatusBadge, summaryOf, useFeedPolling, type FeedStatus } from './feed-status.js';

const POLL_MS = 2000;

/**
 * The status of a data feed in the Data Feeds list and on its page: badge, summary chips, warnings and
 * the error of a failed load. While the feed is still loading it asks for its status every two seconds,
 * so the history follows the load without a reload.
 */
const FeedStatusCell: React.FC<BasePropertyProps> = ({ record, property, where }) => {
  const { translateProperty } = useTranslation();
  const feedId = record?.id ?? '';
  const recordStatus = String(record?.params.status ?? '');
  const recordSummary = record?.params.summary as unknown;
  const fromRecord = useMemo<FeedStatus>(() => ({ feed_id: Number(feedId), status: recordStatus, record_count: Number(record?.params.recordCount ?? 0), summary: summaryOf(recordSummary) }), [feedId, recordStatus, recordSummary, record?.params.recordCount]);
  // A newer record from AdminJS (the list refetched) replaces what polling learned.
  const { feed: followed, problem } = useFeedPolling(fromRecord, POLL_MS);
  const feed = followed ?? fromRecord;

  const warnings = (feed.summary.issues ?? []).filter((issue) => issue.type === 'warning');
  const content = (
    <Box flex flexDirection="column" style={{ gap: 6, alignItems: 'flex-start', maxWidth: 460 }} data-testid={`feed-status-cell-${feedId}`}>
      <FeedStatusBadge status={feed.status} />
      <FeedProgress feed={feed} />
      {feed.summary.metrics && <FeedChips metrics={feed.summary.metrics} dataType={String(record?.params.dataType ?? '')} />}
      {warnings.length > 0 && (
        <Box flex flexDirection="row" style={{ gap: 6, alignItems: 'center' }} data-testid="feed-warnings">
          <Badge size="sm" outline variant="info" title={warnings.map((warning) => warning.message).join('\n')}>
            {warnings.length} {warnings.length === 1 ? 'warning' : 'warnings'}
          </Badge>
          <Text variant="sm">{warnings[0]!.message}</Text>
        </Box>
      )}
      {feed.status === 'failed' && feed.summary.error && (
        <Text variant="sm" color="error" data-testid="feed-failure">
          {feed.summary.error.message}
        </Text>
      )}
      {problem && (
        <Text variant="sm" color="grey60" data-testid="feed-status-problem">
          Live status unavailable: {problem}
        </Text>
      )}
    </Box>
  );
  return where === 'show' ? <ValueGroup label={translateProperty(property.label, property.resourceId)}>{content}</ValueGroup> : content;
};

export default FeedStatusCell;
