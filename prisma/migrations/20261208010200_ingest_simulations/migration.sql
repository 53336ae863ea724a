-- Runs of the traffic simulator started from the admin or the command line (core/ingest/simulator.ts):
-- what was asked, how far it got. Any web process may ask a run to stop (status 'stopping'); the process
-- running it sees that within a second and ends it. heartbeat_at tells a run whose process died.
CREATE TABLE ingest_simulations (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  business_id   uuid NOT NULL REFERENCES businesses(id) ON DELETE CASCADE,
  stores        int NOT NULL,
  minutes       double precision NOT NULL,
  rate          double precision NOT NULL,
  status        text NOT NULL DEFAULT 'running',
  started_by    uuid REFERENCES users(id) ON DELETE SET NULL,
  started_at    timestamptz(6) NOT NULL DEFAULT now(),
  heartbeat_at  timestamptz(6) NOT NULL DEFAULT now(),
  finished_at   timestamptz(6),
  sent          int NOT NULL DEFAULT 0,
  accepted      int NOT NULL DEFAULT 0,
  duplicates    int NOT NULL DEFAULT 0,
  refused       int NOT NULL DEFAULT 0,
  failed        int NOT NULL DEFAULT 0,
  error         text,
  CONSTRAINT ingest_simulations_status_check CHECK (status IN ('running', 'stopping', 'finished', 'stopped', 'failed'))
);
CREATE INDEX ingest_simulations_started_at_idx ON ingest_simulations (started_at DESC);
