-- The feeds' sales as materialized views of the registry, and the Metrics page as a stored dashboard
-- (issue 4: "one rendering path serves every chart"): dashboards may offer filters (a date range with a
-- grouping, a product) that their widgets opt into, and are found by a stable slug.

-- ---------------------------------------------------------------------------------------------------
-- Which sources of the views changed since each view's last refresh. A loader bumps its source's version
-- in the transaction that writes the rows (as its last statement, so the row lock is held only until the
-- commit), and each refresh records the versions it read before refreshing: a view is behind when a
-- source's version is above the one its last successful refresh saw. Versions commit in order (the row
-- lock serialises them), so a refresh never records a version whose rows it could not see.
-- ---------------------------------------------------------------------------------------------------
CREATE TABLE warehouse_changes (
  source      text PRIMARY KEY,
  version     bigint NOT NULL CHECK (version > 0),
  changed_at  timestamptz(6) NOT NULL DEFAULT now()
);
ALTER TABLE refresh_jobs ADD COLUMN source_versions jsonb;

-- Sales per business and day. `orders` counts distinct order ids per day (sales without an order id
-- are not orders); an order whose lines span days counts once per day.
CREATE MATERIALIZED VIEW sales_daily AS
SELECT business_id, date_key AS day,
       count(*) AS records,
       sum(quantity)::numeric(18,4) AS quantity,
       count(DISTINCT order_id) AS orders,
       sum(gross_revenue)::numeric(18,2) AS gross_revenue,
       sum(discount)::numeric(18,2) AS discount,
       sum(cogs_amount)::numeric(18,2) AS cogs_amount,
       sum(gross_margin_amount)::numeric(18,2) AS gross_margin_amount
FROM fact_sales
GROUP BY business_id, date_key;
CREATE UNIQUE INDEX sales_daily_key ON sales_daily (business_id, day);

-- Sales per business, day, product and channel: the grain every product or channel figure is summed
-- from. `orders` counts the orders that had the product that day, so it is not summed across products.
CREATE MATERIALIZED VIEW sales_product_daily AS
SELECT f.business_id, f.date_key AS day, f.product_id,
       coalesce(p.name, '(unknown product)') AS product_name,
       coalesce(p.category, '(no category)') AS category,
       coalesce(c.name, '(no channel)') AS channel,
       count(*) AS records,
       sum(f.quantity)::numeric(18,4) AS quantity,
       count(DISTINCT f.order_id) AS orders,
       sum(f.gross_revenue)::numeric(18,2) AS gross_revenue,
       sum(f.discount)::numeric(18,2) AS discount,
       sum(f.cogs_amount)::numeric(18,2) AS cogs_amount,
       sum(f.gross_margin_amount)::numeric(18,2) AS gross_margin_amount
FROM fact_sales f
LEFT JOIN products p ON p.id = f.product_id
LEFT JOIN dim_channel c ON c.id = f.channel_id
GROUP BY f.business_id, f.date_key, f.product_id, p.name, p.category, c.name;
CREATE UNIQUE INDEX sales_product_daily_key ON sales_product_daily (business_id, day, product_id, channel) NULLS NOT DISTINCT;
CREATE INDEX sales_product_daily_product_idx ON sales_product_daily (business_id, product_id, day);

-- As the views of the earlier migration: the reporting role reads them through schema `reporting`,
-- kept to the business in `backhouse.business_id`. Sales are business-wide (no team).
CREATE VIEW reporting.sales_daily WITH (security_barrier) AS SELECT * FROM public.sales_daily WHERE business_id = public.reporting_business_id();
CREATE VIEW reporting.sales_product_daily WITH (security_barrier) AS SELECT * FROM public.sales_product_daily WHERE business_id = public.reporting_business_id();
GRANT SELECT ON reporting.sales_daily, reporting.sales_product_daily TO backhouse_reporting;

INSERT INTO refresh_jobs (view_name, trigger, status, started_at, finished_at, duration_ms, source_versions)
SELECT v, 'full', 'succeeded', now(), now(), 0, '{}'::jsonb FROM unnest(ARRAY['sales_daily', 'sales_product_daily']) AS v;

-- ---------------------------------------------------------------------------------------------------
-- Dashboards: a slug pages find them by, and the filters they offer (core/warehouse/dashboards.ts,
-- `dashboardFilters`): {"range": default range, "group_by": default grouping, "product": true}.
-- ---------------------------------------------------------------------------------------------------
ALTER TABLE dashboards ADD COLUMN slug text;
ALTER TABLE dashboards ADD CONSTRAINT dashboards_slug_key UNIQUE (slug);
ALTER TABLE dashboards ADD CONSTRAINT dashboards_slug_shape CHECK (slug ~ '^[a-z0-9][a-z0-9-]{0,62}$');
ALTER TABLE dashboards ADD COLUMN filters jsonb NOT NULL DEFAULT '{}'::jsonb;

-- The Metrics page: the data feeds' KPIs for every business, granted to admins, ops and managers.
WITH dashboard AS (
  INSERT INTO dashboards (name, description, slug, filters)
  VALUES ('Sales & margin', 'Revenue, cost of goods and margin from the data feeds, refreshed after every load.', 'sales',
          '{"range": "last_30_days", "group_by": "day", "product": true}')
  RETURNING id
), widgets AS (
  INSERT INTO dashboard_widgets (dashboard_id, title, type, view_name, fields, refresh_interval_seconds, position)
  SELECT dashboard.id, w.title, w.type, w.view_name, w.fields::jsonb, 15, w.position
  FROM dashboard, (VALUES
    ('Revenue', 'kpi', 'sales_product_daily', '{"value": "gross_revenue", "date": "day", "product": "product_id", "compare": "previous_period"}', 0),
    ('COGS', 'kpi', 'sales_product_daily', '{"value": "cogs_amount", "date": "day", "product": "product_id", "compare": "previous_period"}', 1),
    ('Gross margin', 'kpi', 'sales_product_daily', '{"value": "gross_margin_amount", "date": "day", "product": "product_id", "compare": "previous_period"}', 2),
    ('Margin %', 'kpi', 'sales_product_daily', '{"value": "gross_margin_percent", "ratios": {"gross_margin_percent": {"numerator": "gross_margin_amount", "denominator": "gross_revenue", "percent": true}}, "date": "day", "product": "product_id", "compare": "previous_period"}', 3),
    ('Orders', 'kpi', 'sales_daily', '{"value": "orders", "date": "day", "compare": "previous_period"}', 4),
    ('Average order value', 'kpi', 'sales_daily', '{"value": "average_order_value", "ratios": {"average_order_value": {"numerator": "gross_revenue", "denominator": "orders"}}, "date": "day", "compare": "previous_period"}', 5),
    ('Revenue and margin', 'line', 'sales_product_daily', '{"x": "day", "y": ["gross_revenue", "gross_margin_amount"], "date": "day", "product": "product_id"}', 6),
    ('Revenue by channel', 'donut', 'sales_product_daily', '{"x": "channel", "value": "gross_revenue", "date": "day", "product": "product_id"}', 7),
    ('Top products by revenue (click one for its figures)', 'bar', 'sales_product_daily', '{"x": "product_name", "y": ["gross_revenue"], "drill": "product_id", "date": "day", "sort": {"column": "gross_revenue", "direction": "desc"}, "limit": 10}', 8)
  ) AS w(title, type, view_name, fields, position)
  RETURNING 1
)
INSERT INTO dashboard_permissions (dashboard_id, role, can_view, can_edit)
SELECT dashboard.id, r.role::user_role, true, r.role = 'admin'
FROM dashboard, (VALUES ('admin'), ('ops'), ('manager')) AS r(role);
