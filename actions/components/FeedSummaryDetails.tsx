import React from 'react';
import { useTranslation, type BasePropertyProps } from 'adminjs';
import { Box, Text, ValueGroup } from '@adminjs/design-system';
import { summaryOf } from './feed-status.js';
import { formatWhen } from '../../dashboards/components/format.js';

/** The summary's timestamps, in the order a feed passes them. */
const milestones: [key: string, label: string][] = [
  ['processing_started_at', 'Commit started'],
  ['queued_at', 'Queued'],
  ['transform_started_at', 'Load started'],
  ['transform_finished_at', 'Load finished'],
  ['updated_at', 'Last update'],
];

interface SkippedRow {
  row: number;
  column: string;
  value: string;
  reason: string;
}

const cell: React.CSSProperties = { padding: '4px 12px 4px 0', textAlign: 'left', verticalAlign: 'top' };

/**
 * A feed's summary on its page, as a person reads it: when it passed each step, and the rows a commit
 * skipped with why (the status above shows the badge, figures, warnings and error).
 */
const FeedSummaryDetails: React.FC<BasePropertyProps> = ({ record, property }) => {
  const { translateProperty } = useTranslation();
  const summary = summaryOf(record?.params.summary) as Record<string, unknown> & { issues?: { code: string; message: string; rows?: SkippedRow[] }[] };
  const reached = milestones.filter(([key]) => typeof summary[key] === 'string');
  const skipped = (summary.issues ?? []).flatMap((issue) => issue.rows ?? []);
  return (
    <ValueGroup label={translateProperty(property.label, property.resourceId)}>
      <Box data-testid="feed-summary">
        {reached.length === 0 ? (
          <Text>Nothing recorded yet.</Text>
        ) : (
          <table style={{ borderCollapse: 'collapse' }} data-testid="feed-milestones">
            <tbody>
              {reached.map(([key, label]) => (
                <tr key={key}>
                  <th style={{ ...cell, fontWeight: 400, color: '#6b6b80' }}>{label}</th>
                  <td style={cell}>{formatWhen(summary[key] as string, true)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {skipped.length > 0 && (
          <Box mt="lg">
            <Text mb="sm">Rows skipped by the commit{skipped.length === 50 ? ' (the first 50)' : ''}:</Text>
            <table style={{ borderCollapse: 'collapse' }} data-testid="feed-skipped-rows">
              <thead>
                <tr>
                  {['Row', 'Column', 'Value', 'Why'].map((heading) => (
                    <th key={heading} style={{ ...cell, borderBottom: '1px solid #ddd' }}>{heading}</th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {skipped.map((row, index) => (
                  <tr key={index}>
                    <td style={cell}>{row.row}</td>
                    <td style={cell}>{row.column}</td>
                    <td style={cell}>{row.value === '' ? '(empty)' : row.value}</td>
                    <td style={cell}>{row.reason}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </Box>
        )}
      </Box>
    </ValueGroup>
  );
};

export default FeedSummaryDetails;
