-- A run's day outputs (stock health: the complete, m2 and emergency CSVs), written once the run is final
-- (core/pipelines/outputs.ts). outputs_status: NULL while there is nothing to write (the pipeline has no
-- outputs, or the run is not final), then pending → written | skipped (the run failed, or a newer run of the
-- day owns the snapshot) | failed; written → superseded (a later run of the day wrote the files again).
-- outputs_message says why for every status but written.
ALTER TABLE pipeline_runs
  ADD COLUMN outputs_status text CHECK (outputs_status IN ('pending', 'written', 'superseded', 'skipped', 'failed')),
  ADD COLUMN outputs_message text;

-- One file a run wrote. A later run of the same day writes the same paths: its rows replace the earlier run's.
CREATE TABLE pipeline_run_outputs (
  pipeline_run_id uuid NOT NULL REFERENCES pipeline_runs(id) ON DELETE CASCADE,
  name text NOT NULL,
  -- The order the pipeline wrote them in (stock health: complete, m2, emergency).
  position integer NOT NULL,
  file_name text NOT NULL,
  path text NOT NULL,
  rows integer NOT NULL CHECK (rows >= 0),
  bytes bigint NOT NULL CHECK (bytes >= 0),
  written_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (pipeline_run_id, name)
);
