import React, { useEffect, useState } from 'react';
import { MessageBox } from '@adminjs/design-system';
import type { MarginIncomplete } from '../../core/warehouse/metrics.js';
import { requestJson } from './request.js';

/**
 * "Margin incomplete: N products without cost" above the Metrics page's widgets, for the range and product
 * shown (`query`, the dashboard's filters as the metrics API reads them): their sales have no COGS or margin.
 */
export const MarginIncompleteNotice: React.FC<{ query: string }> = ({ query }) => {
  const [incomplete, setIncomplete] = useState<MarginIncomplete | null>(null);
  useEffect(() => {
    let live = true;
    setIncomplete(null);
    requestJson<{ margin_incomplete: MarginIncomplete | null }>('GET', `/dashboard/metrics/kpi?${query}`).then(
      (res) => live && setIncomplete(res.margin_incomplete),
      // The widgets show their own errors; this notice is only ever an addition to them.
      () => undefined,
    );
    return () => {
      live = false;
    };
  }, [query]);
  if (!incomplete) return null;
  return <MessageBox mb="lg" variant="danger" message={incomplete.message} data-testid="margin-incomplete" />;
};
