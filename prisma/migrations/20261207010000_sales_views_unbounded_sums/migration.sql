-- The sales views' sums are plain numeric: cast to numeric(18,2) as they were, one business's day past
-- 10^16 failed the refresh of these views (numeric field overflow) for every business, and its dashboards
-- stayed stale until that feed was deleted.
DROP VIEW reporting.sales_daily, reporting.sales_product_daily;
DROP MATERIALIZED VIEW sales_daily, sales_product_daily;

CREATE MATERIALIZED VIEW sales_daily AS
SELECT business_id, date_key AS day,
       count(*) AS records,
       sum(quantity) AS quantity,
       count(DISTINCT order_id) AS orders,
       sum(gross_revenue) AS gross_revenue,
       sum(discount) AS discount,
       sum(cogs_amount) AS cogs_amount,
       sum(gross_margin_amount) AS gross_margin_amount
FROM fact_sales
GROUP BY business_id, date_key;
CREATE UNIQUE INDEX sales_daily_key ON sales_daily (business_id, day);

CREATE MATERIALIZED VIEW sales_product_daily AS
SELECT f.business_id, f.date_key AS day, f.product_id,
       coalesce(p.name, '(unknown product)') AS product_name,
       coalesce(p.category, '(no category)') AS category,
       coalesce(c.name, '(no channel)') AS channel,
       count(*) AS records,
       sum(f.quantity) AS quantity,
       count(DISTINCT f.order_id) AS orders,
       sum(f.gross_revenue) AS gross_revenue,
       sum(f.discount) AS discount,
       sum(f.cogs_amount) AS cogs_amount,
       sum(f.gross_margin_amount) AS gross_margin_amount
FROM fact_sales f
LEFT JOIN products p ON p.id = f.product_id
LEFT JOIN dim_channel c ON c.id = f.channel_id
GROUP BY f.business_id, f.date_key, f.product_id, p.name, p.category, c.name;
CREATE UNIQUE INDEX sales_product_daily_key ON sales_product_daily (business_id, day, product_id, channel) NULLS NOT DISTINCT;
CREATE INDEX sales_product_daily_product_idx ON sales_product_daily (business_id, product_id, day);

CREATE VIEW reporting.sales_daily WITH (security_barrier) AS SELECT * FROM public.sales_daily WHERE business_id = public.reporting_business_id();
CREATE VIEW reporting.sales_product_daily WITH (security_barrier) AS SELECT * FROM public.sales_product_daily WHERE business_id = public.reporting_business_id();
GRANT SELECT ON reporting.sales_daily, reporting.sales_product_daily TO backhouse_reporting;

-- Created with their rows: a full refresh, as the views' registry counts them.
INSERT INTO refresh_jobs (view_name, trigger, status, started_at, finished_at, duration_ms, source_versions)
SELECT v, 'full', 'succeeded', now(), now(), 0, '{}'::jsonb FROM unnest(ARRAY['sales_daily', 'sales_product_daily']) AS v;
