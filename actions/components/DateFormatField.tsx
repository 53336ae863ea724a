import React, { useState } from 'react';
import { Box, Button, Label, Text } from '@adminjs/design-system';
import type { PreviewResult } from '../../core/feeds/preview.js';
import { requestJson as call } from '../../dashboards/components/request.js';

/**
 * How the preview reads the file's dates, and a field to type the format the file uses where detection is
 * unsure (day and month could be either way round, no format read the dates, or some dates did not read).
 * The format is kept with the upload, so the commit reads the dates as the preview shows them.
 */
export function DateFormatField({ preview, onPreview, onError }: { preview: PreviewResult; onPreview: (preview: PreviewResult) => void; onError: (message: string | null) => void }) {
  const column = Object.keys(preview.summary.date_formats)[0];
  const detected = column ? preview.summary.date_formats[column] : undefined;
  const [typed, setTyped] = useState(preview.summary.date_format_given ?? '');
  const [busy, setBusy] = useState(false);
  if (!column) return null;
  const header = preview.column_mapping[column] ?? column;
  const unreadable = preview.rows.some((row) => row.issues.some((issue) => issue.column === column && issue.value.trim() !== ''));
  const unsure = !detected || unreadable || preview.summary.date_formats_assumed.includes(column);
  const readAs = async (format: string | null) => {
    setBusy(true);
    onError(null);
    try {
      onPreview(await call<PreviewResult>('POST', `/dashboard/data-feeds/preview/${preview.upload_token}/date-format`, { date_format: format }));
      if (format === null) setTyped('');
    } catch (reason) {
      onError((reason as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Box
      mb="lg"
      p="md"
      data-testid="date-format-field"
      style={{ border: `1px solid ${unsure ? '#e6a23c' : '#e0e0e6'}`, borderRadius: 6, background: unsure ? '#fff8db' : undefined }}
    >
      <Text mb="sm" data-testid="date-format-read">
        {header}: {preview.summary.date_format_given ? `read as ${preview.summary.date_format_given}, the format you gave` : detected ? `read as ${detected}, found in the file` : 'no date format we know reads these dates'}
        {unsure && !preview.summary.date_format_given ? '. Not sure: type the format the file uses.' : ''}
      </Text>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (typed.trim()) void readAs(typed.trim());
        }}
        style={{ display: 'flex', gap: 8, alignItems: 'center', flexWrap: 'wrap' }}
      >
        <Label htmlFor="date-format" style={{ margin: 0 }}>Date format</Label>
        <input id="date-format" data-testid="date-format-input" value={typed} onChange={(e) => setTyped(e.target.value)} placeholder="e.g. MM/DD/YYYY, MMM D, YYYY, D. MMMM YYYY" style={{ width: 280 }} />
        <Button size="sm" type="submit" disabled={busy || !typed.trim()} data-testid="date-format-apply">Read dates as this</Button>
        {preview.summary.date_format_given && (
          <Button size="sm" variant="text" type="button" disabled={busy} onClick={() => void readAs(null)} data-testid="date-format-detect">Detect again</Button>
        )}
      </form>
      <Text variant="sm" mt="sm" style={{ color: '#6b6b80' }}>
        YYYY year, MM month, MMM month name (English, German, French, Spanish, Dutch), DD day, HH:mm or h:mm A time, [text] as written.
      </Text>
    </Box>
  );
}
