-- The Shop dashboard (issue 19): Tekmetric's daily shop and technician metrics, the days whose totals differ
-- from Tekmetric's, and work in progress, as materialized views of the warehouse registry
-- (core/warehouse/views.ts), drawn by the one dashboard page. Money in the business's currency units
-- (the tables keep cents). The sync marks tm_daily_shop_metrics, tm_tech_daily_metrics and tm_repair_orders
-- changed after each page, so the every-minute refresh keeps them (and work in progress) within a sync of now.
--
-- Shop isolation: the reporting views keep to the business (`backhouse.business_id`) and, for a reader limited
-- to some of our shops (a manager of one shop), to those shops (`backhouse.shop_ids`, reporting_shop_ids()).

CREATE MATERIALIZED VIEW tm_shop_daily AS
SELECT m.business_id, s.backhouse_shop_id AS shop_id, m.shop_id AS tm_shop_id, s.name AS shop_name, m.metric_date AS day,
       m.car_count, m.ro_count,
       (m.total_sales_cents / 100.0)::numeric(18,2) AS total_sales,
       (m.labor_sales_cents / 100.0)::numeric(18,2) AS labor_sales,
       (m.parts_sales_cents / 100.0)::numeric(18,2) AS parts_sales,
       (m.sublet_sales_cents / 100.0)::numeric(18,2) AS sublet_sales,
       (m.gross_profit_cents / 100.0)::numeric(18,2) AS gross_profit,
       ((m.total_sales_cents - m.taxes_cents) / 100.0)::numeric(18,2) AS sales_before_tax,
       (m.parts_gross_profit_cents / 100.0)::numeric(18,2) AS parts_gross_profit,
       (m.labor_gross_profit_cents / 100.0)::numeric(18,2) AS labor_gross_profit,
       (m.sublet_gross_profit_cents / 100.0)::numeric(18,2) AS sublet_gross_profit,
       (m.authorized_cents / 100.0)::numeric(18,2) AS authorized,
       (m.presented_cents / 100.0)::numeric(18,2) AS presented,
       m.labor_hours_sold,
       (m.tm_total_sales_cents / 100.0)::numeric(18,2) AS tekmetric_total_sales,
       (m.variance_cents / 100.0)::numeric(18,2) AS variance,
       (m.variance_cents <> 0)::integer AS days_with_variance
FROM tm_daily_shop_metrics m
JOIN tm_shops s ON s.id = m.shop_id;
CREATE UNIQUE INDEX tm_shop_daily_key ON tm_shop_daily (business_id, tm_shop_id, day);

CREATE MATERIALIZED VIEW tm_tech_daily AS
SELECT t.business_id, s.backhouse_shop_id AS shop_id, t.shop_id AS tm_shop_id, s.name AS shop_name, t.metric_date AS day,
       t.technician_id,
       coalesce(nullif(trim(concat_ws(' ', e.first_name, e.last_name)), ''), 'Technician ' || t.technician_id) AS technician,
       t.hours_sold, t.hours_worked,
       (t.labor_sales_cents / 100.0)::numeric(18,2) AS labor_sales,
       (t.labor_cost_cents / 100.0)::numeric(18,2) AS labor_cost,
       t.job_count, t.ro_count
FROM tm_tech_daily_metrics t
JOIN tm_shops s ON s.id = t.shop_id
LEFT JOIN tm_employees e ON e.shop_id = t.shop_id AND e.id = t.technician_id;
CREATE UNIQUE INDEX tm_tech_daily_key ON tm_tech_daily (business_id, tm_shop_id, day, technician_id);

-- Only the days whose totals differ from Tekmetric's: the dashboard lists them as flagged.
CREATE MATERIALIZED VIEW tm_variance_days AS
SELECT m.business_id, s.backhouse_shop_id AS shop_id, m.shop_id AS tm_shop_id, s.name AS shop_name, m.metric_date AS day,
       m.ro_count,
       (m.total_sales_cents / 100.0)::numeric(18,2) AS total_sales,
       (m.tm_total_sales_cents / 100.0)::numeric(18,2) AS tekmetric_total_sales,
       (m.variance_cents / 100.0)::numeric(18,2) AS variance
FROM tm_daily_shop_metrics m
JOIN tm_shops s ON s.id = m.shop_id
WHERE m.variance_cents <> 0;
CREATE UNIQUE INDEX tm_variance_days_key ON tm_variance_days (business_id, tm_shop_id, day);

-- Work in progress: open repair orders (estimate, in progress, complete but not posted) by status and age
-- (days since created, in the shop's calendar). Ages move with the clock: each refresh moves them.
CREATE MATERIALIZED VIEW tm_wip AS
SELECT ro.business_id, s.backhouse_shop_id AS shop_id, ro.shop_id AS tm_shop_id, s.name AS shop_name,
       st.name AS status, ro.status_id,
       CASE WHEN age.days <= 1 THEN '0-1 days' WHEN age.days <= 3 THEN '2-3 days' WHEN age.days <= 7 THEN '4-7 days'
            WHEN age.days <= 14 THEN '8-14 days' ELSE '15+ days' END AS age,
       count(*) AS open_ros,
       (sum(ro.total_sales_cents) / 100.0)::numeric(18,2) AS open_sales,
       sum(age.days) AS age_days
FROM tm_repair_orders ro
JOIN tm_shops s ON s.id = ro.shop_id
JOIN tm_repair_order_statuses st ON st.id = ro.status_id
CROSS JOIN LATERAL (SELECT greatest(0, (now() AT TIME ZONE s.timezone)::date - coalesce(ro.created_on, (ro.created_date AT TIME ZONE s.timezone)::date, (now() AT TIME ZONE s.timezone)::date)) AS days) age
WHERE ro.status_id IN (1, 2, 3) AND ro.deleted_at IS NULL
GROUP BY ro.business_id, s.backhouse_shop_id, ro.shop_id, s.name, st.name, ro.status_id, 7;
CREATE UNIQUE INDEX tm_wip_key ON tm_wip (business_id, tm_shop_id, status_id, age);

CREATE VIEW reporting.tm_shop_daily WITH (security_barrier) AS SELECT * FROM public.tm_shop_daily
  WHERE business_id = public.reporting_business_id() AND (public.reporting_shop_ids() IS NULL OR shop_id = ANY (public.reporting_shop_ids()));
CREATE VIEW reporting.tm_tech_daily WITH (security_barrier) AS SELECT * FROM public.tm_tech_daily
  WHERE business_id = public.reporting_business_id() AND (public.reporting_shop_ids() IS NULL OR shop_id = ANY (public.reporting_shop_ids()));
CREATE VIEW reporting.tm_variance_days WITH (security_barrier) AS SELECT * FROM public.tm_variance_days
  WHERE business_id = public.reporting_business_id() AND (public.reporting_shop_ids() IS NULL OR shop_id = ANY (public.reporting_shop_ids()));
CREATE VIEW reporting.tm_wip WITH (security_barrier) AS SELECT * FROM public.tm_wip
  WHERE business_id = public.reporting_business_id() AND (public.reporting_shop_ids() IS NULL OR shop_id = ANY (public.reporting_shop_ids()));
GRANT SELECT ON reporting.tm_shop_daily, reporting.tm_tech_daily, reporting.tm_variance_days, reporting.tm_wip TO backhouse_reporting;

INSERT INTO refresh_jobs (view_name, trigger, status, started_at, finished_at, duration_ms, source_versions)
SELECT v, 'full', 'succeeded', now(), now(), 0, '{}'::jsonb FROM unnest(ARRAY['tm_shop_daily', 'tm_tech_daily', 'tm_variance_days', 'tm_wip']) AS v;

-- The Shop dashboard, for admins, ops and managers (a manager sees their own shops' rows only).
WITH dashboard AS (
  INSERT INTO dashboards (name, description, slug, filters)
  VALUES ('Shop', 'Tekmetric shops: car count, average repair order, sales and gross profit, authorized vs presented work, technicians, work in progress, and the days whose totals differ from Tekmetric''s.', 'shop',
          '{"range": "last_30_days", "group_by": "day", "compare": "previous_period"}')
  RETURNING id
), widgets AS (
  INSERT INTO dashboard_widgets (dashboard_id, title, type, view_name, fields, refresh_interval_seconds, position)
  SELECT dashboard.id, w.title, w.type, w.view_name, w.fields::jsonb, 60, w.position
  FROM dashboard, (VALUES
    ('Car count', 'kpi', 'tm_shop_daily', '{"value": "car_count", "date": "day", "compare": "previous_period"}', 0),
    ('Average repair order', 'kpi', 'tm_shop_daily', '{"value": "average_repair_order", "ratios": {"average_repair_order": {"numerator": "total_sales", "denominator": "ro_count"}}, "date": "day", "compare": "previous_period"}', 1),
    ('Total sales', 'kpi', 'tm_shop_daily', '{"value": "total_sales", "date": "day", "compare": "previous_period"}', 2),
    ('Gross profit', 'kpi', 'tm_shop_daily', '{"value": "gross_profit", "date": "day", "compare": "previous_period"}', 3),
    ('GP %', 'kpi', 'tm_shop_daily', '{"value": "gp_percent", "ratios": {"gp_percent": {"numerator": "gross_profit", "denominator": "sales_before_tax", "percent": true}}, "date": "day", "compare": "previous_period"}', 4),
    ('Authorized / presented %', 'kpi', 'tm_shop_daily', '{"value": "closing_percent", "ratios": {"closing_percent": {"numerator": "authorized", "denominator": "presented", "percent": true}}, "date": "day", "compare": "previous_period"}', 5),
    ('Parts GP %', 'kpi', 'tm_shop_daily', '{"value": "parts_gp_percent", "ratios": {"parts_gp_percent": {"numerator": "parts_gross_profit", "denominator": "parts_sales", "percent": true}}, "date": "day"}', 6),
    ('Labor GP %', 'kpi', 'tm_shop_daily', '{"value": "labor_gp_percent", "ratios": {"labor_gp_percent": {"numerator": "labor_gross_profit", "denominator": "labor_sales", "percent": true}}, "date": "day"}', 7),
    ('Sublet GP %', 'kpi', 'tm_shop_daily', '{"value": "sublet_gp_percent", "ratios": {"sublet_gp_percent": {"numerator": "sublet_gross_profit", "denominator": "sublet_sales", "percent": true}}, "date": "day"}', 8),
    ('Days whose totals differ from Tekmetric''s', 'kpi', 'tm_shop_daily', '{"value": "days_with_variance", "date": "day"}', 9),
    ('Sales and gross profit', 'line', 'tm_shop_daily', '{"x": "day", "y": ["total_sales", "gross_profit"], "date": "day"}', 10),
    ('Car count and average repair order', 'line', 'tm_shop_daily', '{"x": "day", "y": ["car_count", "average_repair_order"], "ratios": {"average_repair_order": {"numerator": "total_sales", "denominator": "ro_count"}}, "date": "day"}', 11),
    ('Authorized vs presented', 'bar', 'tm_shop_daily', '{"x": "day", "y": ["presented", "authorized"], "date": "day"}', 12),
    ('Gross profit by kind', 'bar', 'tm_shop_daily', '{"x": "day", "y": ["parts_gross_profit", "labor_gross_profit", "sublet_gross_profit"], "date": "day"}', 13),
    ('Technicians: hours sold, hours worked, efficiency', 'table', 'tm_tech_daily', '{"columns": ["technician", "shop_name"], "y": ["hours_sold", "hours_worked", "efficiency_percent", "labor_sales"], "ratios": {"efficiency_percent": {"numerator": "hours_sold", "denominator": "hours_worked", "percent": true}}, "date": "day", "sort": {"column": "hours_sold", "direction": "desc"}, "limit": 50}', 14),
    ('Work in progress by status and age', 'bar', 'tm_wip', '{"x": "status", "series": "age", "y": ["open_ros"]}', 15),
    ('Open repair orders', 'table', 'tm_wip', '{"columns": ["shop_name", "status", "age"], "y": ["open_ros", "open_sales"], "sort": {"column": "open_ros", "direction": "desc"}, "limit": 50}', 16),
    ('Flagged: days whose totals differ from Tekmetric''s', 'table', 'tm_variance_days', '{"columns": ["day", "shop_name"], "y": ["total_sales", "tekmetric_total_sales", "variance"], "date": "day", "sort": {"column": "day", "direction": "desc"}, "limit": 50}', 17)
  ) AS w(title, type, view_name, fields, position)
  RETURNING 1
)
INSERT INTO dashboard_permissions (dashboard_id, role, can_view, can_edit)
SELECT dashboard.id, r.role::user_role, true, r.role = 'admin'
FROM dashboard, (VALUES ('admin'), ('ops'), ('manager')) AS r(role);
