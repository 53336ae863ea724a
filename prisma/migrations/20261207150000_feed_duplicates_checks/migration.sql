-- Issue 16: the same file loaded twice, whole-file previews, products priced from the file.

-- The SHA-256 of an upload's bytes, computed as it is stored, and kept on the feed committed from it: a file
-- committed before (same content) is recognised whatever its name. What the person chose when the preview
-- found rows already loaded (skip them, replace the earlier feeds, load anyway) is recorded on the feed.
ALTER TABLE upload_files ADD COLUMN content_sha256 text;
ALTER TABLE data_feeds ADD COLUMN content_sha256 text;
ALTER TABLE data_feeds ADD COLUMN duplicate_choice text CHECK (duplicate_choice IN ('skip', 'replace', 'load_anyway'));
CREATE INDEX data_feeds_content ON data_feeds (business_id, content_sha256) WHERE content_sha256 IS NOT NULL;

-- A whole-file check's findings, paged through by the upload page: every invalid row with its problems, and
-- every product the catalog lacks with its rows and the price the file gives it most often. Replaced at each
-- check of the upload; they go with it.
CREATE TABLE upload_invalid_rows (
  token       uuid NOT NULL REFERENCES upload_files(token) ON DELETE CASCADE,
  row_number  integer NOT NULL,
  issues      jsonb NOT NULL,
  PRIMARY KEY (token, row_number)
);
CREATE TABLE upload_new_products (
  token       uuid NOT NULL REFERENCES upload_files(token) ON DELETE CASCADE,
  name        text NOT NULL,
  row_count   integer NOT NULL,
  first_row   integer NOT NULL,
  -- The file's most frequent price for the product (the lowest among equally frequent ones); null if none is readable.
  price       numeric(18,2),
  PRIMARY KEY (token, name)
);

-- A product's cost may be unknown (created from a file that gives none): null, not 0, so that COGS is never
-- silently taken as 0.
ALTER TABLE products ALTER COLUMN cost_price_cents DROP NOT NULL;
ALTER TABLE products ALTER COLUMN cost_price_cents DROP DEFAULT;

-- A sale of a product whose cost is unknown has no cost of goods and no margin (null), rather than a COGS of
-- 0 that made its whole revenue margin: sums of COGS and margin cover the lines with a known cost, and a
-- margin percent is taken over those lines' revenue. The readers say how many products lack a cost.
ALTER TABLE fact_sales ALTER COLUMN unit_cost DROP NOT NULL;
ALTER TABLE fact_sales ALTER COLUMN unit_cost DROP DEFAULT;
ALTER TABLE fact_sales ALTER COLUMN cogs_amount DROP NOT NULL;
ALTER TABLE fact_sales ALTER COLUMN gross_margin_amount DROP NOT NULL;

-- The sales views carry the revenue of the lines with a known cost, so that the Metrics page's margin % is
-- taken over it as the metrics API's is (margin / revenue of the lines with a cost). COGS and margin sum the
-- lines with a cost (0 on a day with none). As migration 20261207010000 otherwise.
DROP VIEW reporting.sales_daily, reporting.sales_product_daily;
DROP MATERIALIZED VIEW sales_daily, sales_product_daily;

CREATE MATERIALIZED VIEW sales_daily AS
SELECT business_id, date_key AS day,
       count(*) AS records,
       sum(quantity) AS quantity,
       count(DISTINCT order_id) AS orders,
       sum(gross_revenue) AS gross_revenue,
       sum(discount) AS discount,
       coalesce(sum(cogs_amount), 0) AS cogs_amount,
       coalesce(sum(gross_margin_amount), 0) AS gross_margin_amount,
       coalesce(sum(gross_revenue) FILTER (WHERE cogs_amount IS NOT NULL), 0) AS revenue_with_cost
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
       coalesce(sum(f.cogs_amount), 0) AS cogs_amount,
       coalesce(sum(f.gross_margin_amount), 0) AS gross_margin_amount,
       coalesce(sum(f.gross_revenue) FILTER (WHERE f.cogs_amount IS NOT NULL), 0) AS revenue_with_cost
FROM fact_sales f
LEFT JOIN products p ON p.id = f.product_id
LEFT JOIN dim_channel c ON c.id = f.channel_id
GROUP BY f.business_id, f.date_key, f.product_id, p.name, p.category, c.name;
CREATE UNIQUE INDEX sales_product_daily_key ON sales_product_daily (business_id, day, product_id, channel) NULLS NOT DISTINCT;
CREATE INDEX sales_product_daily_product_idx ON sales_product_daily (business_id, product_id, day);

CREATE VIEW reporting.sales_daily WITH (security_barrier) AS SELECT * FROM public.sales_daily WHERE business_id = public.reporting_business_id();
CREATE VIEW reporting.sales_product_daily WITH (security_barrier) AS SELECT * FROM public.sales_product_daily WHERE business_id = public.reporting_business_id();
GRANT SELECT ON reporting.sales_daily, reporting.sales_product_daily TO backhouse_reporting;

INSERT INTO refresh_jobs (view_name, trigger, status, started_at, finished_at, duration_ms, source_versions)
SELECT v, 'full', 'succeeded', now(), now(), 0, '{}'::jsonb FROM unnest(ARRAY['sales_daily', 'sales_product_daily']) AS v;

-- Margin % widgets over these views divide by the revenue with a known cost.
UPDATE dashboard_widgets SET fields = jsonb_set(fields, '{ratios,gross_margin_percent,denominator}', '"revenue_with_cost"')
WHERE view_name IN ('sales_daily', 'sales_product_daily') AND fields #>> '{ratios,gross_margin_percent,denominator}' = 'gross_revenue';
