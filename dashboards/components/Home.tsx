import React, { useEffect, useState } from 'react';
import { ApiClient, useTranslation } from 'adminjs';
import { Box, H2, H5, Text, Loader, MessageBox } from '@adminjs/design-system';

interface Tile {
  key: string;
  label: string;
  value: number;
  resourceId: string;
  query?: string;
}
interface HomeSummary {
  who: { email: string; role: string } | null;
  business: { name: string; timezone: string; currency: string } | null;
  tiles: Tile[];
}

const api = new ApiClient();

/** The home page: who you are, which business you are looking at, and counts that link to their screens. */
const Home: React.FC = () => {
  const [summary, setSummary] = useState<HomeSummary | null>(null);
  const [error, setError] = useState<string | null>(null);
  const { translateLabel } = useTranslation();

  useEffect(() => {
    api
      .getDashboard<HomeSummary>()
      .then((response) => setSummary(response.data))
      .catch((reason: unknown) => setError(reason instanceof Error ? reason.message : 'Could not load the summary.'));
  }, []);

  if (error) return <MessageBox m="xl" variant="danger" message={error} />;
  if (!summary) return <Loader />;
  return (
    <Box variant="grey" data-testid="home">
      <Box variant="white" p="xl" mb="xl">
        <H2>{summary.business ? summary.business.name : 'All businesses'}</H2>
        <Text>
          Signed in as {summary.who?.email} ({summary.who?.role})
          {summary.business ? ` · ${summary.business.timezone} · ${summary.business.currency}` : ''}
        </Text>
      </Box>
      <Box flex flexDirection="row" flexWrap="wrap" style={{ gap: 24 }}>
        {summary.tiles.map((tile) => (
          <Box
            key={tile.key}
            as="a"
            href={`${window.location.pathname.replace(/\/$/, '')}/resources/${tile.resourceId}${tile.query ?? ''}`}
            variant="white"
            p="xl"
            style={{ minWidth: 200, textDecoration: 'none' }}
            data-testid={`tile-${tile.key}`}
          >
            <H5>{translateLabel(tile.label)}</H5>
            <H2 style={{ color: tile.key === 'failedJobs' && tile.value > 0 ? '#c20012' : undefined }}>{tile.value}</H2>
          </Box>
        ))}
      </Box>
    </Box>
  );
};

export default Home;
