-- A flush finds (and deletes) the rows of a file processed again by its run and file job, without reading
-- the whole day: before, every flush scanned the day's rows so far, so a day of 30 files read ~15 days' worth.
CREATE INDEX stock_health_snapshots_file_job ON stock_health_snapshots (pipeline_run_id, file_job_id);
CREATE INDEX po_snapshots_file_job ON po_snapshots (pipeline_run_id, file_job_id);
CREATE INDEX supplier_master_snapshots_file_job ON supplier_master_snapshots (pipeline_run_id, file_job_id);
