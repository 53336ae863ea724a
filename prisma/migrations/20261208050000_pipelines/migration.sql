-- File pipelines (issue 18): where files come from, the files seen there, and the runs and file jobs that process them.

-- A watched place: a local folder (the default) or a Google Drive folder, polled for new and changed files.
CREATE TABLE pipeline_sources (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  business_id uuid NOT NULL REFERENCES businesses(id) ON DELETE RESTRICT,
  name text NOT NULL,
  kind text NOT NULL DEFAULT 'local' CHECK (kind IN ('local', 'google_drive')),
  -- A folder path for `local`, a Drive folder id for `google_drive`.
  location text NOT NULL,
  enabled boolean NOT NULL DEFAULT true,
  poll_interval_seconds integer NOT NULL DEFAULT 300 CHECK (poll_interval_seconds BETWEEN 5 AND 86400),
  last_polled_at timestamptz,
  last_error text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (business_id, name)
);

-- One row per file a source has listed, as last seen: a file is taken again only when its modified time or checksum changes.
CREATE TABLE pipeline_source_files (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  source_id uuid NOT NULL REFERENCES pipeline_sources(id) ON DELETE CASCADE,
  business_id uuid NOT NULL REFERENCES businesses(id) ON DELETE RESTRICT,
  external_id text NOT NULL,
  name text NOT NULL,
  modified_time timestamptz NOT NULL,
  size bigint,
  checksum text,
  mime_type text,
  -- The pipeline it was routed to; null while unrouted (listed, never dropped), with the reason.
  pipeline_name text,
  unrouted_reason text,
  first_seen_at timestamptz NOT NULL DEFAULT now(),
  last_seen_at timestamptz NOT NULL DEFAULT now(),
  taken_at timestamptz,
  UNIQUE (source_id, external_id)
);
CREATE INDEX pipeline_source_files_unrouted ON pipeline_source_files (business_id) WHERE pipeline_name IS NULL;

-- One run of a pipeline for a business day (the lifecycle lives in core/pipelines/lifecycle.ts).
CREATE TABLE pipeline_runs (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  business_id uuid NOT NULL REFERENCES businesses(id) ON DELETE RESTRICT,
  pipeline_name text NOT NULL,
  date date NOT NULL,
  status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'processing', 'completed', 'completed_with_errors', 'failed')),
  trigger text NOT NULL CHECK (trigger IN ('watcher', 'cli', 'admin')),
  source_id uuid REFERENCES pipeline_sources(id) ON DELETE SET NULL,
  total_files integer NOT NULL DEFAULT 0,
  processed_files integer NOT NULL DEFAULT 0,
  failed_files integer NOT NULL DEFAULT 0,
  total_rows bigint NOT NULL DEFAULT 0,
  created_by uuid REFERENCES users(id) ON DELETE SET NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  started_at timestamptz,
  completed_at timestamptz
);
CREATE INDEX pipeline_runs_day ON pipeline_runs (business_id, pipeline_name, date, created_at DESC);
CREATE INDEX pipeline_runs_recent ON pipeline_runs (created_at DESC);

-- One file of a run.
CREATE TABLE pipeline_file_jobs (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  pipeline_run_id uuid NOT NULL REFERENCES pipeline_runs(id) ON DELETE CASCADE,
  business_id uuid NOT NULL REFERENCES businesses(id) ON DELETE RESTRICT,
  pipeline_name text NOT NULL,
  file_path text NOT NULL,
  file_name text NOT NULL,
  file_size bigint,
  source_file_id uuid REFERENCES pipeline_source_files(id) ON DELETE SET NULL,
  store_id uuid REFERENCES shops(id) ON DELETE SET NULL,
  store_code text,
  status text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'processing', 'completed', 'failed')),
  -- Attempts started so far (the first included); pg-boss retries with backoff until the queue's limit.
  retry_count integer NOT NULL DEFAULT 0,
  rows_processed bigint,
  error text,
  queued_at timestamptz NOT NULL DEFAULT now(),
  started_at timestamptz,
  completed_at timestamptz,
  duration_ms integer,
  UNIQUE (pipeline_run_id, file_path)
);
CREATE INDEX pipeline_file_jobs_run ON pipeline_file_jobs (pipeline_run_id, status);
CREATE INDEX pipeline_file_jobs_recent ON pipeline_file_jobs (pipeline_name, completed_at DESC);
CREATE INDEX pipeline_file_jobs_failed ON pipeline_file_jobs (business_id) WHERE status = 'failed';
