-- KPI materialized views over the canonical tables (issue 4). core/warehouse/views.ts is their registry:
-- what each reads, how stale it may get, and the refresh (in dependency order, CONCURRENTLY once
-- populated, under an advisory lock). test/integration/warehouse-views.test.ts checks the registry's
-- dependencies against PostgreSQL's own.
--
-- Every view has a UNIQUE index on its grain (so it refreshes CONCURRENTLY), business_id first; views of
-- team-scoped data (orders and their lines) carry manager_id in their grain. Money stays numeric. No view
-- holds personal data: no emails, phones or addresses, and a customer reference that is an email
-- address is shown as a pseudonym.
--
-- Shared rules:
-- * An order counts towards revenue unless its status says it was cancelled or voided (mappings normalise
--   status spellings to these words with transforms). Orders without a date cannot be placed in time and
--   are left out of the time series.
-- * Amounts are summed per currency: an order's own currency, or its business's when it names none.
--   Nothing converts between currencies.
-- * Calendar dates ("today" for invoice ageing) are the business's own, in its time zone.

CREATE FUNCTION kpi_counts_as_sale(status text) RETURNS boolean LANGUAGE sql IMMUTABLE
  AS $$ SELECT lower(btrim(coalesce(status, ''))) NOT IN ('cancelled', 'canceled', 'void', 'voided') $$;

CREATE FUNCTION kpi_currency(order_currency text, business_currency text) RETURNS text LANGUAGE sql IMMUTABLE
  AS $$ SELECT coalesce(nullif(upper(btrim(order_currency)), ''), business_currency) $$;

-- A reference as a dashboard may show it: an email address becomes a stable pseudonym.
CREATE FUNCTION kpi_safe_ref(ref text) RETURNS text LANGUAGE sql IMMUTABLE
  AS $$ SELECT CASE WHEN ref LIKE '%@%' THEN 'anon-' || md5(lower(btrim(ref))) ELSE ref END $$;

-- Revenue per day, team and currency.
CREATE MATERIALIZED VIEW daily_revenue AS
SELECT o.business_id, o.manager_id, o.order_date AS day, kpi_currency(o.currency, b.currency::text) AS currency,
       sum(coalesce(o.total_amount, 0))::numeric(18,2) AS revenue,
       count(*) AS order_count
FROM canonical_orders o
JOIN businesses b ON b.id = o.business_id
WHERE o.order_date IS NOT NULL AND kpi_counts_as_sale(o.status)
GROUP BY o.business_id, o.manager_id, o.order_date, kpi_currency(o.currency, b.currency::text);
CREATE UNIQUE INDEX daily_revenue_key ON daily_revenue (business_id, manager_id, day, currency) NULLS NOT DISTINCT;

-- Revenue per month, team and currency, with the average order value.
CREATE MATERIALIZED VIEW monthly_revenue AS
SELECT business_id, manager_id, date_trunc('month', day)::date AS month, currency,
       sum(revenue)::numeric(18,2) AS revenue,
       sum(order_count)::bigint AS order_count,
       round(sum(revenue) / nullif(sum(order_count), 0), 2)::numeric(18,2) AS average_order_value
FROM daily_revenue
GROUP BY business_id, manager_id, date_trunc('month', day), currency;
CREATE UNIQUE INDEX monthly_revenue_key ON monthly_revenue (business_id, manager_id, month, currency) NULLS NOT DISTINCT;

-- Revenue per customer (and team and currency), all time: the top customers are its first rows by revenue.
CREATE MATERIALIZED VIEW top_customers AS
SELECT o.business_id, o.manager_id, kpi_safe_ref(o.customer_ref) AS customer_ref, c.name AS customer_name,
       kpi_currency(o.currency, b.currency::text) AS currency,
       sum(coalesce(o.total_amount, 0))::numeric(18,2) AS revenue,
       count(*) AS order_count,
       min(o.order_date) AS first_order_date,
       max(o.order_date) AS last_order_date
FROM canonical_orders o
JOIN businesses b ON b.id = o.business_id
LEFT JOIN canonical_customers c ON c.business_id = o.business_id AND c.customer_ref = o.customer_ref
WHERE o.customer_ref IS NOT NULL AND kpi_counts_as_sale(o.status)
GROUP BY o.business_id, o.manager_id, kpi_safe_ref(o.customer_ref), c.name, kpi_currency(o.currency, b.currency::text);
CREATE UNIQUE INDEX top_customers_key ON top_customers (business_id, manager_id, customer_ref, currency) NULLS NOT DISTINCT;
CREATE INDEX top_customers_by_revenue_idx ON top_customers (business_id, manager_id, revenue DESC);

-- Orders per month, team and status (cancelled ones included), with their amounts.
CREATE MATERIALIZED VIEW orders_by_status AS
SELECT o.business_id, o.manager_id, date_trunc('month', o.order_date)::date AS month,
       coalesce(nullif(lower(btrim(o.status)), ''), 'unknown') AS status,
       kpi_currency(o.currency, b.currency::text) AS currency,
       count(*) AS order_count,
       sum(coalesce(o.total_amount, 0))::numeric(18,2) AS amount
FROM canonical_orders o
JOIN businesses b ON b.id = o.business_id
WHERE o.order_date IS NOT NULL
GROUP BY o.business_id, o.manager_id, date_trunc('month', o.order_date), coalesce(nullif(lower(btrim(o.status)), ''), 'unknown'), kpi_currency(o.currency, b.currency::text);
CREATE UNIQUE INDEX orders_by_status_key ON orders_by_status (business_id, manager_id, month, status, currency) NULLS NOT DISTINCT;

-- Units and revenue per product and month (order lines of dated, not cancelled orders). A line's revenue
-- is its line total, or quantity × unit price when the file gave none.
CREATE MATERIALIZED VIEW product_sales AS
SELECT i.business_id, o.manager_id, date_trunc('month', o.order_date)::date AS month, i.product_ref,
       p.name AS product_name, p.category,
       kpi_currency(o.currency, b.currency::text) AS currency,
       sum(coalesce(i.quantity, 0))::numeric(18,4) AS quantity,
       sum(coalesce(i.line_total, round(i.quantity * i.unit_price, 2), 0))::numeric(18,2) AS revenue,
       count(*) AS order_count
FROM canonical_order_items i
JOIN canonical_orders o ON o.business_id = i.business_id AND o.order_ref = i.order_ref
JOIN businesses b ON b.id = i.business_id
LEFT JOIN canonical_products p ON p.business_id = i.business_id AND p.product_ref = i.product_ref
WHERE o.order_date IS NOT NULL AND kpi_counts_as_sale(o.status)
GROUP BY i.business_id, o.manager_id, date_trunc('month', o.order_date), i.product_ref, p.name, p.category, kpi_currency(o.currency, b.currency::text);
CREATE UNIQUE INDEX product_sales_key ON product_sales (business_id, manager_id, month, product_ref, currency) NULLS NOT DISTINCT;

-- The same per product category.
CREATE MATERIALIZED VIEW category_sales AS
SELECT business_id, manager_id, month, coalesce(nullif(btrim(category), ''), 'Uncategorised') AS category, currency,
       sum(quantity)::numeric(18,4) AS quantity,
       sum(revenue)::numeric(18,2) AS revenue
FROM product_sales
GROUP BY business_id, manager_id, month, coalesce(nullif(btrim(category), ''), 'Uncategorised'), currency;
CREATE UNIQUE INDEX category_sales_key ON category_sales (business_id, manager_id, month, category, currency) NULLS NOT DISTINCT;

-- Customers per month: new (their first order is in that month) and returning (they had ordered before).
-- Business-wide: a customer is new to the business, whichever team sold to them.
CREATE MATERIALIZED VIEW new_returning_customers AS
WITH customer_months AS (
  SELECT DISTINCT business_id, customer_ref, date_trunc('month', order_date)::date AS month
  FROM canonical_orders
  WHERE customer_ref IS NOT NULL AND order_date IS NOT NULL AND kpi_counts_as_sale(status)
), firsts AS (
  SELECT business_id, customer_ref, min(month) AS first_month FROM customer_months GROUP BY business_id, customer_ref
)
SELECT m.business_id, m.month,
       count(*) FILTER (WHERE m.month = f.first_month) AS new_customers,
       count(*) FILTER (WHERE m.month > f.first_month) AS returning_customers,
       count(*) AS active_customers
FROM customer_months m
JOIN firsts f ON f.business_id = m.business_id AND f.customer_ref = m.customer_ref
GROUP BY m.business_id, m.month;
CREATE UNIQUE INDEX new_returning_customers_key ON new_returning_customers (business_id, month);

-- Retention by cohort: customers grouped by the month of their first order; per later month, how many of
-- them ordered again, and what share of the cohort that is.
CREATE MATERIALIZED VIEW customer_retention AS
WITH customer_months AS (
  SELECT DISTINCT business_id, customer_ref, date_trunc('month', order_date)::date AS month
  FROM canonical_orders
  WHERE customer_ref IS NOT NULL AND order_date IS NOT NULL AND kpi_counts_as_sale(status)
), firsts AS (
  SELECT business_id, customer_ref, min(month) AS cohort_month FROM customer_months GROUP BY business_id, customer_ref
), cohorts AS (
  SELECT business_id, cohort_month, count(*) AS cohort_size FROM firsts GROUP BY business_id, cohort_month
)
SELECT f.business_id, f.cohort_month, m.month AS activity_month,
       ((extract(year FROM m.month) - extract(year FROM f.cohort_month)) * 12 + extract(month FROM m.month) - extract(month FROM f.cohort_month))::integer AS months_since_first,
       c.cohort_size,
       count(*) AS active_customers,
       round(count(*)::numeric / c.cohort_size, 4) AS retention_rate
FROM customer_months m
JOIN firsts f ON f.business_id = m.business_id AND f.customer_ref = m.customer_ref
JOIN cohorts c ON c.business_id = f.business_id AND c.cohort_month = f.cohort_month
GROUP BY f.business_id, f.cohort_month, m.month, c.cohort_size;
CREATE UNIQUE INDEX customer_retention_key ON customer_retention (business_id, cohort_month, activity_month);

-- Each invoice with what has been paid on it: settled when marked paid or when its payments cover it.
CREATE MATERIALIZED VIEW invoice_balances AS
SELECT i.business_id, i.invoice_ref, i.invoice_date, i.due_date,
       coalesce(i.amount, 0)::numeric(18,2) AS amount,
       coalesce(p.paid_amount, 0)::numeric(18,2) AS paid_amount,
       (CASE WHEN i.paid IS TRUE THEN 0 ELSE greatest(coalesce(i.amount, 0) - coalesce(p.paid_amount, 0), 0) END)::numeric(18,2) AS outstanding_amount,
       (i.paid IS TRUE OR coalesce(p.paid_amount, 0) >= coalesce(i.amount, 0)) AS settled
FROM canonical_invoices i
LEFT JOIN (
  SELECT business_id, invoice_ref, sum(amount) AS paid_amount
  FROM canonical_payments WHERE invoice_ref IS NOT NULL
  GROUP BY business_id, invoice_ref
) p ON p.business_id = i.business_id AND p.invoice_ref = i.invoice_ref;
CREATE UNIQUE INDEX invoice_balances_key ON invoice_balances (business_id, invoice_ref);

-- Invoices per month of issue, paid and unpaid.
CREATE MATERIALIZED VIEW invoice_status AS
SELECT business_id, date_trunc('month', invoice_date)::date AS month, settled AS paid,
       count(*) AS invoice_count,
       sum(amount)::numeric(18,2) AS amount,
       sum(outstanding_amount)::numeric(18,2) AS outstanding_amount
FROM invoice_balances
WHERE invoice_date IS NOT NULL
GROUP BY business_id, date_trunc('month', invoice_date), settled;
CREATE UNIQUE INDEX invoice_status_key ON invoice_status (business_id, month, paid);

-- Unpaid invoices by how long they are overdue (from the due date, or the invoice date when there is
-- none), as of the refresh day in the business's time zone. Refreshed nightly, so the buckets move.
CREATE MATERIALIZED VIEW invoice_ageing AS
WITH open_invoices AS (
  SELECT v.business_id, v.outstanding_amount,
         (now() AT TIME ZONE b.timezone)::date AS as_of,
         (now() AT TIME ZONE b.timezone)::date - coalesce(v.due_date, v.invoice_date) AS days_overdue
  FROM invoice_balances v
  JOIN businesses b ON b.id = v.business_id
  WHERE NOT v.settled
), bucketed AS (
  SELECT business_id, as_of, outstanding_amount,
         CASE WHEN days_overdue IS NULL THEN 'no_date'
              WHEN days_overdue <= 0 THEN 'not_due'
              WHEN days_overdue <= 30 THEN '1_30'
              WHEN days_overdue <= 60 THEN '31_60'
              WHEN days_overdue <= 90 THEN '61_90'
              ELSE 'over_90' END AS bucket
  FROM open_invoices
)
SELECT business_id, bucket,
       array_position(ARRAY['not_due', '1_30', '31_60', '61_90', 'over_90', 'no_date'], bucket)::smallint AS bucket_order,
       as_of,
       count(*) AS invoice_count,
       sum(outstanding_amount)::numeric(18,2) AS outstanding_amount
FROM bucketed
GROUP BY business_id, bucket, as_of;
CREATE UNIQUE INDEX invoice_ageing_key ON invoice_ageing (business_id, bucket);

-- Payments received per month and method.
CREATE MATERIALIZED VIEW payments_monthly AS
SELECT business_id, date_trunc('month', paid_at)::date AS month,
       coalesce(nullif(lower(btrim(method)), ''), 'unknown') AS method,
       count(*) AS payment_count,
       sum(coalesce(amount, 0))::numeric(18,2) AS amount
FROM canonical_payments
WHERE paid_at IS NOT NULL
GROUP BY business_id, date_trunc('month', paid_at), coalesce(nullif(lower(btrim(method)), ''), 'unknown');
CREATE UNIQUE INDEX payments_monthly_key ON payments_monthly (business_id, month, method);

-- Current stock: the latest count per product and location, valued at the product's cost.
CREATE MATERIALIZED VIEW inventory_current AS
SELECT DISTINCT ON (l.business_id, l.product_ref, l.location)
       l.business_id, l.product_ref, l.location, p.name AS product_name, p.category,
       l.on_hand, l.counted_at,
       round(l.on_hand * p.cost, 2)::numeric(18,2) AS stock_value
FROM canonical_inventory_levels l
LEFT JOIN canonical_products p ON p.business_id = l.business_id AND p.product_ref = l.product_ref
ORDER BY l.business_id, l.product_ref, l.location, l.counted_at DESC;
CREATE UNIQUE INDEX inventory_current_key ON inventory_current (business_id, product_ref, location) NULLS NOT DISTINCT;

-- The views were populated as they were created: record that as their first (full) refresh, so their
-- freshness counts from now rather than raising "never refreshed" alerts on a new installation.
INSERT INTO refresh_jobs (view_name, trigger, status, started_at, finished_at, duration_ms)
SELECT matviewname, 'full', 'succeeded', now(), now(), 0 FROM pg_matviews WHERE schemaname = 'public';

-- ---------------------------------------------------------------------------------------------------
-- The reporting role reads the views through schema `reporting`: one security-barrier view per
-- materialized view, keeping to the business in `backhouse.business_id` (and, for team-scoped views, to
-- the team in `backhouse.manager_id` when set), like the canonical tables' row-level security.
-- Materialized views cannot have row-level security themselves; the role gets no grant on them.
-- ---------------------------------------------------------------------------------------------------

CREATE SCHEMA reporting;
GRANT USAGE ON SCHEMA reporting TO backhouse_reporting;

DO $$
DECLARE
  mv record;
  team_filter text;
BEGIN
  FOR mv IN SELECT c.oid, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind = 'm' ORDER BY c.relname
  LOOP
    team_filter := CASE WHEN EXISTS (SELECT FROM pg_attribute WHERE attrelid = mv.oid AND attname = 'manager_id' AND NOT attisdropped)
      THEN ' AND (public.reporting_manager_id() IS NULL OR manager_id = public.reporting_manager_id())' ELSE '' END;
    EXECUTE format('CREATE VIEW reporting.%I WITH (security_barrier) AS SELECT * FROM public.%I WHERE business_id = public.reporting_business_id()%s', mv.relname, mv.relname, team_filter);
    EXECUTE format('GRANT SELECT ON reporting.%I TO backhouse_reporting', mv.relname);
  END LOOP;
END
$$;
