-- The seed's observability views over bronze, silver and the silver worker's runs, for the Pipeline health
-- dashboard. Plain views over the last day (indexed by received_at / processed_at / finished_at), so they
-- are current at every read and cost what a day holds. Minutes are labelled in the business's time zone.
-- Simulated traffic is its own series, beside real traffic.

CREATE INDEX IF NOT EXISTS ingest_events_processed_at_idx ON ingest_events (business_id, processed_at) WHERE processed_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS transactions_business_processed_idx ON transactions (business_id, processed_at);

-- Events received into bronze and transactions written to silver, per business, minute and traffic.
CREATE VIEW v_pipeline_throughput AS
SELECT m.business_id, m.minute, to_char(m.minute AT TIME ZONE b.timezone, 'YYYY-MM-DD HH24:MI') AS minute_label,
       (m.minute AT TIME ZONE b.timezone)::date AS day,
       CASE WHEN m.simulated THEN 'simulated' ELSE 'real' END AS traffic,
       sum(m.bronze_events)::bigint AS bronze_events, sum(m.silver_transactions)::bigint AS silver_transactions
FROM (
  SELECT business_id, date_trunc('minute', received_at) AS minute, simulated, count(*) AS bronze_events, 0 AS silver_transactions
    FROM ingest_events WHERE received_at > now() - interval '24 hours' GROUP BY 1, 2, 3
  UNION ALL
  SELECT business_id, date_trunc('minute', processed_at), simulated, 0, count(*)
    FROM transactions WHERE processed_at > now() - interval '24 hours' GROUP BY 1, 2, 3
) m JOIN businesses b ON b.id = m.business_id
GROUP BY m.business_id, m.minute, b.timezone, m.simulated;

-- Bronze → silver latency per event processed in the last day (received → processed).
CREATE VIEW v_ingest_latency AS
SELECT e.business_id, e.id AS event_id, e.store_code, e.transaction_id, e.received_at, e.processed_at AS silver_processed_at,
       to_char(date_trunc('minute', e.processed_at) AT TIME ZONE b.timezone, 'YYYY-MM-DD HH24:MI') AS minute_label,
       (e.processed_at AT TIME ZONE b.timezone)::date AS day,
       CASE WHEN e.simulated THEN 'simulated' ELSE 'real' END AS traffic,
       1 AS events,
       round(extract(epoch FROM e.processed_at - e.received_at)::numeric, 3) AS latency_seconds
FROM ingest_events e JOIN businesses b ON b.id = e.business_id
WHERE e.status = 'processed' AND e.processed_at > now() - interval '24 hours';

-- Gold freshness per business: gold is folded in the silver batch's transaction, so the newest event in
-- silver is the newest acceptance visible in gold. `freshness_seconds`: how long the oldest event not yet in
-- gold has waited (0 when none waits); `seconds_since_newest_in_gold`: now − the newest acceptance in gold.
CREATE VIEW v_gold_freshness AS
SELECT b.id AS business_id, now() AS measured_at, newest.received_at AS newest_in_gold_at,
       round(extract(epoch FROM now() - newest.received_at)::numeric, 3) AS seconds_since_newest_in_gold,
       pending.events AS pending_events, pending.oldest AS oldest_pending_at,
       round(coalesce(extract(epoch FROM now() - pending.oldest), 0)::numeric, 3) AS freshness_seconds
FROM businesses b
LEFT JOIN LATERAL (SELECT e.received_at FROM ingest_events e WHERE e.business_id = b.id AND e.status = 'processed' ORDER BY e.received_at DESC LIMIT 1) newest ON true
LEFT JOIN LATERAL (SELECT count(*) AS events, min(e.received_at) AS oldest FROM ingest_events e WHERE e.business_id = b.id AND e.status = 'pending') pending ON true
WHERE newest.received_at IS NOT NULL OR pending.events > 0;

-- The silver worker's batches of the last day (they serve every business at once).
CREATE VIEW v_etl_performance AS
SELECT r.id AS run_id, r.started_at, r.finished_at, r.worker,
       to_char(date_trunc('minute', r.finished_at), 'YYYY-MM-DD HH24:MI') AS minute_label, r.finished_at::date AS day,
       1 AS runs, r.events_claimed, r.transactions_written, r.events_failed, r.duration_ms,
       round(r.events_claimed / greatest(r.duration_ms, 1) * 1000.0, 1) AS events_per_second
FROM ingest_etl_runs r
WHERE r.finished_at > now() - interval '24 hours';

-- Open data-quality alerts (not acknowledged), per business, severity and rule.
CREATE VIEW v_data_quality_open AS
SELECT a.business_id, a.severity, a.rule, a.store_code, a.opened_at::date AS day, 1 AS alerts
FROM data_quality_alerts a
WHERE a.acknowledged_at IS NULL;

-- Dashboards read them through schema reporting, kept to the reader's business. ETL runs are shared by
-- every business (one batch moves everyone's events): their counts are shown to each business's readers.
CREATE VIEW reporting.v_pipeline_throughput WITH (security_barrier) AS SELECT * FROM public.v_pipeline_throughput WHERE business_id = public.reporting_business_id();
CREATE VIEW reporting.v_ingest_latency WITH (security_barrier) AS SELECT * FROM public.v_ingest_latency WHERE business_id = public.reporting_business_id();
CREATE VIEW reporting.v_gold_freshness WITH (security_barrier) AS SELECT * FROM public.v_gold_freshness WHERE business_id = public.reporting_business_id();
CREATE VIEW reporting.v_etl_performance WITH (security_barrier) AS SELECT public.reporting_business_id() AS business_id, v.* FROM public.v_etl_performance v WHERE public.reporting_business_id() IS NOT NULL;
CREATE VIEW reporting.v_data_quality_open WITH (security_barrier) AS SELECT * FROM public.v_data_quality_open WHERE business_id = public.reporting_business_id();
GRANT SELECT ON reporting.v_pipeline_throughput, reporting.v_ingest_latency, reporting.v_gold_freshness, reporting.v_etl_performance, reporting.v_data_quality_open TO backhouse_reporting;
