-- Top customers with their names (issue 16): the view pseudonymised every customer reference that is an
-- email address for every reader, admins included, so the widget showed "anon-5fa1…" and no name to
-- people allowed to see them. The view now keeps the reference and the name as loaded, and the reporting
-- role's view of it decides per reader: `backhouse.personal_data` = 'shown' (set for roles that may see
-- personal data, core/warehouse/reporting.ts) shows them; anything else (unset included) shows
-- pseudonyms: an email reference as "anon-" and ten hex digits of its hash, the name as "Customer" and
-- six of them, stable across reads so rows still add up per customer.
DROP VIEW reporting.top_customers;
DROP MATERIALIZED VIEW top_customers;
DROP FUNCTION kpi_safe_ref(text);

CREATE MATERIALIZED VIEW top_customers AS
SELECT o.business_id, o.manager_id, o.customer_ref, c.name AS customer_name,
       kpi_currency(o.currency, b.currency::text) AS currency,
       sum(coalesce(o.total_amount, 0))::numeric(18,2) AS revenue,
       count(*) AS order_count,
       min(o.order_date) AS first_order_date,
       max(o.order_date) AS last_order_date
FROM canonical_orders o
JOIN businesses b ON b.id = o.business_id
LEFT JOIN canonical_customers c ON c.business_id = o.business_id AND c.customer_ref = o.customer_ref
WHERE o.customer_ref IS NOT NULL AND kpi_counts_as_sale(o.status)
GROUP BY o.business_id, o.manager_id, o.customer_ref, c.name, kpi_currency(o.currency, b.currency::text);
CREATE UNIQUE INDEX top_customers_key ON top_customers (business_id, manager_id, customer_ref, currency) NULLS NOT DISTINCT;
CREATE INDEX top_customers_by_revenue_idx ON top_customers (business_id, manager_id, revenue DESC);

-- Whether the reader of this transaction may see personal data (names, email addresses).
CREATE FUNCTION reporting_shows_personal_data() RETURNS boolean LANGUAGE sql STABLE
  AS $$ SELECT coalesce(current_setting('backhouse.personal_data', true), '') = 'shown' $$;
GRANT EXECUTE ON FUNCTION reporting_shows_personal_data() TO backhouse_reporting;

-- A stable pseudonym of a customer reference: its hash's first hex digits.
CREATE FUNCTION kpi_pseudonym(ref text, digits integer) RETURNS text LANGUAGE sql IMMUTABLE
  AS $$ SELECT left(md5(lower(btrim(ref))), digits) $$;

CREATE VIEW reporting.top_customers WITH (security_barrier) AS
SELECT business_id, manager_id,
       CASE WHEN public.reporting_shows_personal_data() OR customer_ref NOT LIKE '%@%' THEN customer_ref
            ELSE 'anon-' || public.kpi_pseudonym(customer_ref, 10) END AS customer_ref,
       CASE WHEN public.reporting_shows_personal_data() THEN customer_name
            WHEN customer_name IS NULL THEN NULL
            ELSE 'Customer ' || upper(public.kpi_pseudonym(customer_ref, 6)) END AS customer_name,
       currency, revenue, order_count, first_order_date, last_order_date
FROM public.top_customers
WHERE business_id = public.reporting_business_id()
  AND (public.reporting_manager_id() IS NULL OR manager_id = public.reporting_manager_id());
GRANT SELECT ON reporting.top_customers TO backhouse_reporting;

INSERT INTO refresh_jobs (view_name, trigger, status, started_at, finished_at, duration_ms, source_versions)
VALUES ('top_customers', 'full', 'succeeded', now(), now(), 0, '{}'::jsonb);
