-- Requests per ingest API key per minute, for the keys' list (last use, requests in the last minute and
-- hour). Each web process counts in memory and adds its counts every few seconds (core/ingest/keys.ts), so a
-- request costs no write here. Rows older than a day are pruned as counts are added.
CREATE TABLE ingest_api_key_usage (
  api_key_id  uuid NOT NULL REFERENCES ingest_api_keys(id) ON DELETE CASCADE,
  minute      timestamptz(6) NOT NULL,
  requests    int NOT NULL DEFAULT 0,
  PRIMARY KEY (api_key_id, minute)
);
