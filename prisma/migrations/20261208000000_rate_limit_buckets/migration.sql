-- Token buckets shared by every process (core/ratelimit): an ingest key's requests per second, the calls a
-- set of API credentials may make per minute. Unlogged: after a crash the buckets start full again, which
-- costs at most one burst; every take is a write, and the WAL would double its cost for nothing.
CREATE UNLOGGED TABLE rate_limit_buckets (
  key          text PRIMARY KEY,
  tokens       double precision NOT NULL,
  refilled_at  timestamptz(6) NOT NULL,
  last_granted boolean NOT NULL
);
