-- Dashboards (issue 4): grants get an id of their own, and every installation starts with the dashboard
-- "Orders & customers" over the KPI views, granted to admins, ops and managers.
--
-- The admin's screens and the records service address every record by one id; a grant was addressed by
-- (dashboard, role). That pair stays unique: one grant per role and dashboard.
ALTER TABLE dashboard_permissions ADD COLUMN id uuid NOT NULL DEFAULT gen_random_uuid();
ALTER TABLE dashboard_permissions DROP CONSTRAINT dashboard_permissions_pkey;
ALTER TABLE dashboard_permissions ADD CONSTRAINT dashboard_permissions_pkey PRIMARY KEY (id);
ALTER TABLE dashboard_permissions ADD CONSTRAINT dashboard_permissions_dashboard_id_role_key UNIQUE (dashboard_id, role);

-- Business null: every business has it, and each reader sees only their own business's (and team's) rows.
-- Widget fields are checked by core/warehouse/dashboards.ts (widgetPlan) against the view's columns.
WITH dashboard AS (
  INSERT INTO dashboards (name, description)
  VALUES ('Orders & customers', 'Revenue, customers and invoices from the canonical tables, refreshed with every load.')
  RETURNING id
), widgets AS (
  INSERT INTO dashboard_widgets (dashboard_id, title, type, view_name, fields, refresh_interval_seconds, position)
  SELECT dashboard.id, w.title, w.type, w.view_name, w.fields::jsonb, w.refresh, w.position
  FROM dashboard, (VALUES
    ('Revenue, all time', 'kpi', 'monthly_revenue', '{"value": "revenue", "series": "currency"}', 60, 0),
    ('Orders, all time', 'kpi', 'monthly_revenue', '{"value": "order_count"}', 60, 1),
    ('Monthly revenue', 'line', 'monthly_revenue', '{"x": "month", "y": ["revenue"], "series": "currency"}', 60, 2),
    ('New vs returning customers', 'bar', 'new_returning_customers', '{"x": "month", "y": ["new_customers", "returning_customers"]}', 300, 3),
    ('Invoices by status', 'donut', 'invoice_status', '{"x": "paid", "value": "invoice_count"}', 300, 4),
    ('Top customers', 'table', 'top_customers', '{"columns": ["customer_name", "customer_ref", "currency"], "y": ["revenue", "order_count"], "sort": {"column": "revenue", "direction": "desc"}, "limit": 10}', 120, 5)
  ) AS w(title, type, view_name, fields, refresh, position)
  RETURNING 1
)
INSERT INTO dashboard_permissions (dashboard_id, role, can_view, can_edit)
SELECT dashboard.id, r.role::user_role, true, r.role = 'admin'
FROM dashboard, (VALUES ('admin'), ('ops'), ('manager')) AS r(role);
