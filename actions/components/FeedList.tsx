import React, { useEffect, useState } from 'react';
import { List, type ActionProps } from 'adminjs';
import { useLocation, useNavigate } from 'react-router';
import { Box, Button, MessageBox } from '@adminjs/design-system';
import { pollEvery } from '../../dashboards/components/poll.js';
import { requestJson } from '../../dashboards/components/request.js';

/** How often the list asks whether feeds were committed since it was fetched. */
const NEW_FEEDS_POLL_MS = 5000;

/**
 * The Data Feeds list (AdminJS's own), which also notices feeds committed since it was fetched, by anyone and
 * in any tab, and offers to show them: AdminJS's list fetches once per visit, while the rows it shows follow
 * their own status. Asking again from the list's newest feed keeps the count right across reloads.
 */
const FeedList: React.FC<ActionProps> = (props) => {
  const location = useLocation();
  const navigate = useNavigate();
  const [committedSince, setCommittedSince] = useState(0);
  useEffect(() => {
    setCommittedSince(0);
    let newestAtLoad: number | null = null;
    return pollEvery(
      NEW_FEEDS_POLL_MS,
      async (active) => {
        try {
          const { feeds } = await requestJson<{ feeds: { id: number }[] }>('GET', '/dashboard/data-feeds?limit=200');
          const newest = feeds.reduce((max, feed) => Math.max(max, feed.id), 0);
          if (newestAtLoad === null) newestAtLoad = newest;
          if (active()) setCommittedSince(feeds.filter((feed) => feed.id > newestAtLoad!).length);
        } catch {
          // The list itself still works; the next poll asks again.
        }
        return true;
      },
      { immediately: true },
    );
  }, [location.search]);

  const showThem = () => {
    const search = new URLSearchParams(location.search);
    // AdminJS's list fetches again when asked to refresh (and drops the parameter itself).
    search.set('refresh', 'true');
    navigate({ pathname: location.pathname, search: search.toString() });
  };
  return (
    <>
      {committedSince > 0 && (
        <Box mb="lg" data-testid="new-feeds">
          <MessageBox variant="info" message={`${committedSince} feed${committedSince === 1 ? ' was' : 's were'} committed since this list was loaded.`}>
            <Button size="sm" mt="sm" onClick={showThem} data-testid="show-new-feeds">
              Show {committedSince === 1 ? 'it' : 'them'}
            </Button>
          </MessageBox>
        </Box>
      )}
      <List {...props} />
    </>
  );
};

export default FeedList;
