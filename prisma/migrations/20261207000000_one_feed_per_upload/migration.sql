-- An upload is committed once: a second commit of its token (a retried request, a second tab) would load
-- the same rows again as another feed. A commit that failed before its rows were staged (it never reached
-- `queued`) leaves the token free to commit again.
-- Feeds that already share a token keep it on the first of them only.
UPDATE data_feeds f SET upload_token = NULL
WHERE f.upload_token IS NOT NULL AND (f.status <> 'failed' OR f.summary ? 'queued_at')
  AND EXISTS (
    SELECT 1 FROM data_feeds g
    WHERE g.upload_token = f.upload_token AND g.id < f.id AND (g.status <> 'failed' OR g.summary ? 'queued_at'));
CREATE UNIQUE INDEX data_feeds_one_per_upload ON data_feeds (upload_token)
WHERE upload_token IS NOT NULL AND (status <> 'failed' OR summary ? 'queued_at');
