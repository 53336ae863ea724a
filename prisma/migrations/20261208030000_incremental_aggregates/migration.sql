-- Incremental aggregates (core/warehouse/aggregates.ts): tables their writers fold deltas into, checked
-- by recomputing them from their sources. Each check that ran is kept here; a difference opens an alert
-- in warehouse_alerts (kind 'aggregate_mismatch', view_name = the aggregate's table).
CREATE TABLE aggregate_checks (
  id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  aggregate      text NOT NULL,
  started_at     timestamptz(6) NOT NULL DEFAULT now(),
  finished_at    timestamptz(6) NOT NULL DEFAULT now(),
  -- Write counters of the aggregate and its sources when checked: unchanged since a clean check, nothing to do.
  write_version  text NOT NULL,
  differences    integer NOT NULL CHECK (differences >= 0),
  repaired       boolean NOT NULL DEFAULT false,
  -- The first differences: {key, stored, expected}.
  sample         jsonb NOT NULL DEFAULT '[]'::jsonb,
  duration_ms    integer NOT NULL CHECK (duration_ms >= 0)
);
CREATE INDEX aggregate_checks_aggregate_idx ON aggregate_checks (aggregate, started_at DESC);

-- Alerts of the warehouse are also raised by aggregate checks, which have no staleness policy.
ALTER TABLE warehouse_alerts DROP CONSTRAINT warehouse_alerts_kind_check;
ALTER TABLE warehouse_alerts ADD CONSTRAINT warehouse_alerts_kind_check CHECK (kind IN ('stale', 'aggregate_mismatch'));
ALTER TABLE warehouse_alerts ALTER COLUMN max_staleness_seconds DROP NOT NULL;
