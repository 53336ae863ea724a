import React from 'react';
import { Box } from '@adminjs/design-system';

/** A thin bar filled to `percent` (red once `failed`): how far a long piece of work has got. */
export const ProgressBar: React.FC<{ percent: number; failed?: boolean; testId?: string }> = ({ percent, failed = false, testId }) => (
  <Box role="progressbar" aria-valuenow={percent} aria-valuemin={0} aria-valuemax={100} style={{ background: '#eee', height: 8, borderRadius: 4, marginTop: 6, minWidth: 160 }}>
    <Box data-testid={testId} style={{ background: failed ? '#c20012' : '#4268f6', width: `${percent}%`, height: 8, borderRadius: 4 }} />
  </Box>
);
