-- The ingest pipeline's stored dashboards, drawn by the Dashboards page like every other: sales of ingested
-- transactions (gold, current at every read) and the pipeline's health. Granted per role: sales to admins
-- (who edit), ops, managers (their shops only) and dashboard readers; health to admins and ops, since ETL
-- runs serve every business at once.

WITH dashboard AS (
  INSERT INTO dashboards (name, description, slug, filters)
  VALUES ('Store sales (ingested)', 'Point-of-sale transactions by store, hour and day, product mix, basket size and peak hours: folded into gold with every silver batch, so current within seconds.', 'ingest-sales',
          '{"range": "last_7_days", "group_by": "day", "compare": "previous_period"}')
  RETURNING id
), widgets AS (
  INSERT INTO dashboard_widgets (dashboard_id, title, type, view_name, fields, refresh_interval_seconds, position)
  SELECT dashboard.id, w.title, w.type, w.view_name, w.fields::jsonb, 10, w.position
  FROM dashboard, (VALUES
    ('Sales', 'kpi', 'gold_sales_daily', '{"value": "sales", "date": "day", "compare": "previous_period"}', 0),
    ('Transactions', 'kpi', 'gold_sales_daily', '{"value": "transactions", "date": "day", "compare": "previous_period"}', 1),
    ('Average basket value', 'kpi', 'gold_sales_daily', '{"value": "average_basket", "ratios": {"average_basket": {"numerator": "sales", "denominator": "transactions"}}, "date": "day", "compare": "previous_period"}', 2),
    ('Items per basket', 'kpi', 'gold_sales_daily', '{"value": "units_per_basket", "ratios": {"units_per_basket": {"numerator": "units", "denominator": "transactions"}}, "date": "day"}', 3),
    ('Sales by store by day', 'line', 'gold_sales_daily', '{"x": "day", "y": ["sales"], "series": "store", "date": "day", "limit": 1000}', 4),
    ('Sales by hour', 'line', 'gold_sales_hourly', '{"x": "hour", "y": ["sales"], "date": "day", "limit": 400}', 5),
    ('Sales by store', 'bar', 'gold_sales_daily', '{"x": "store", "y": ["sales"], "date": "day", "sort": {"column": "sales", "direction": "desc"}, "limit": 30}', 6),
    ('Real and simulated sales', 'donut', 'gold_sales_daily', '{"x": "traffic", "value": "sales", "date": "day"}', 7),
    ('Product mix: top products', 'bar', 'gold_product_mix_daily', '{"x": "product_name", "y": ["sales"], "date": "day", "sort": {"column": "sales", "direction": "desc"}, "limit": 15}', 8),
    ('Product mix by category', 'donut', 'gold_product_mix_daily', '{"x": "category", "value": "sales", "date": "day"}', 9),
    ('Baskets by number of items', 'bar', 'gold_basket_sizes_daily', '{"x": "items_per_basket", "y": ["transactions"], "date": "day", "sort": {"column": "items_per_basket", "direction": "asc"}}', 10),
    ('Peak hours: transactions by hour and weekday', 'line', 'gold_peak_hours', '{"x": "hour_label", "y": ["transactions"], "series": "weekday_name", "date": "day", "sort": {"column": "hour_label", "direction": "asc"}, "limit": 200}', 11),
    ('Busiest hours', 'table', 'gold_peak_hours', '{"columns": ["weekday_name", "hour_label"], "y": ["transactions", "sales"], "date": "day", "limit": 10}', 12)
  ) AS w(title, type, view_name, fields, position)
  RETURNING 1
)
INSERT INTO dashboard_permissions (dashboard_id, role, can_view, can_edit)
SELECT dashboard.id, r.role::user_role, true, r.role = 'admin'
FROM dashboard, (VALUES ('admin'), ('ops'), ('manager'), ('dashboard_reader')) AS r(role);

WITH dashboard AS (
  INSERT INTO dashboards (name, description, slug, filters)
  VALUES ('Pipeline health', 'Ingestion over the last day: events per minute into bronze and silver, bronze → silver latency, gold freshness, the silver worker''s runs and open data-quality alerts; simulated traffic beside real.', 'pipeline-health', '{}')
  RETURNING id
), widgets AS (
  INSERT INTO dashboard_widgets (dashboard_id, title, type, view_name, fields, refresh_interval_seconds, position)
  SELECT dashboard.id, w.title, w.type, w.view_name, w.fields::jsonb, 10, w.position
  FROM dashboard, (VALUES
    ('Gold freshness (s waited by the oldest event not yet in gold)', 'kpi', 'v_gold_freshness', '{"value": "freshness_seconds"}', 0),
    ('Events waiting for silver', 'kpi', 'v_gold_freshness', '{"value": "pending_events"}', 1),
    ('Newest acceptance in gold (s ago)', 'kpi', 'v_gold_freshness', '{"value": "seconds_since_newest_in_gold"}', 2),
    ('Bronze → silver latency (average s)', 'kpi', 'v_ingest_latency', '{"value": "average_latency", "ratios": {"average_latency": {"numerator": "latency_seconds", "denominator": "events"}}}', 3),
    ('Open data-quality alerts', 'kpi', 'v_data_quality_open', '{"value": "alerts"}', 4),
    ('Throughput per minute (bronze events, silver transactions)', 'line', 'v_pipeline_throughput', '{"x": "minute_label", "y": ["bronze_events", "silver_transactions"], "limit": 120}', 5),
    ('Events per minute: simulated and real', 'line', 'v_pipeline_throughput', '{"x": "minute_label", "y": ["bronze_events"], "series": "traffic", "limit": 240}', 6),
    ('Bronze → silver latency per minute (average s)', 'line', 'v_ingest_latency', '{"x": "minute_label", "y": ["average_latency"], "series": "traffic", "ratios": {"average_latency": {"numerator": "latency_seconds", "denominator": "events"}}, "limit": 240}', 7),
    ('ETL runs per minute', 'bar', 'v_etl_performance', '{"x": "minute_label", "y": ["runs", "events_failed"], "limit": 120}', 8),
    ('ETL run duration (average ms)', 'line', 'v_etl_performance', '{"x": "minute_label", "y": ["average_duration_ms"], "ratios": {"average_duration_ms": {"numerator": "duration_ms", "denominator": "runs"}}, "limit": 120}', 9),
    ('Events, last 24 hours: simulated and real', 'donut', 'v_pipeline_throughput', '{"x": "traffic", "value": "bronze_events"}', 10),
    ('Open data-quality alerts by rule', 'table', 'v_data_quality_open', '{"columns": ["severity", "rule"], "y": ["alerts"]}', 11)
  ) AS w(title, type, view_name, fields, position)
  RETURNING 1
)
INSERT INTO dashboard_permissions (dashboard_id, role, can_view, can_edit)
SELECT dashboard.id, r.role::user_role, true, r.role = 'admin'
FROM dashboard, (VALUES ('admin'), ('ops')) AS r(role);
