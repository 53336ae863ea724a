-- The Stock health dashboard (issue 18): the latest snapshot day of the stock_health pipeline, per business,
-- drawn by the one dashboard page. Plain views (live views, core/warehouse/liveViews.ts): the pipeline replaces
-- a day's snapshot atomically, so a read always sees one whole day and nothing needs refreshing.
-- Shop isolation as the other reporting views: the business (`backhouse.business_id`) and, for a reader limited
-- to some shops (a manager), those shops (`backhouse.shop_ids`, reporting_shop_ids()).

-- One row per store and SKU of the business's latest snapshot day, with 0/1 flags the KPIs sum.
CREATE VIEW stock_health_latest AS
SELECT s.business_id, s.business_date AS day, s.shop_id, s.store_code,
       coalesce(sh.name, s.store_code) AS store_name,
       s.sku, s.product_name, s.supplier, s.status,
       s.on_hand, s.open_po_qty, s.reorder_point, s.days_of_cover, s.suggested_order_qty,
       (s.stock_value_cents / 100.0)::numeric(18,2) AS stock_value,
       (s.order_value_cents / 100.0)::numeric(18,2) AS order_value,
       1 AS items,
       (s.status = 'stockout')::integer AS stockouts,
       (s.status = 'critical')::integer AS critical_items,
       (s.status = 'low')::integer AS low_items,
       (s.status = 'overstock')::integer AS overstock_items,
       (s.suggested_order_qty > 0)::integer AS items_to_order,
       -- Days of cover averages over the items that sell (an item that does not sell has no cover figure).
       (s.days_of_cover IS NOT NULL)::integer AS selling_items
FROM stock_health_snapshots s
LEFT JOIN shops sh ON sh.id = s.shop_id
WHERE s.business_date = (SELECT max(l.business_date) FROM stock_health_snapshots l WHERE l.business_id = s.business_id);

-- The items to order: those of the latest day with a suggested order.
CREATE VIEW stock_orders_latest AS
SELECT * FROM stock_health_latest WHERE suggested_order_qty > 0;

CREATE VIEW reporting.stock_health_latest WITH (security_barrier) AS SELECT * FROM public.stock_health_latest
  WHERE business_id = public.reporting_business_id() AND (public.reporting_shop_ids() IS NULL OR shop_id = ANY (public.reporting_shop_ids()));
CREATE VIEW reporting.stock_orders_latest WITH (security_barrier) AS SELECT * FROM public.stock_orders_latest
  WHERE business_id = public.reporting_business_id() AND (public.reporting_shop_ids() IS NULL OR shop_id = ANY (public.reporting_shop_ids()));
GRANT SELECT ON reporting.stock_health_latest, reporting.stock_orders_latest TO backhouse_reporting;

-- The dashboard, for admins, ops and managers (a manager sees their own stores' rows only).
WITH dashboard AS (
  INSERT INTO dashboards (name, description, slug, filters)
  VALUES ('Stock health', 'The latest stock health snapshot: stockouts, critical items, days of cover and suggested orders, by store.', 'stock-health', '{}')
  RETURNING id
), widgets AS (
  INSERT INTO dashboard_widgets (dashboard_id, title, type, view_name, fields, refresh_interval_seconds, position)
  SELECT dashboard.id, w.title, w.type, w.view_name, w.fields::jsonb, 60, w.position
  FROM dashboard, (VALUES
    ('Stockouts', 'kpi', 'stock_health_latest', '{"value": "stockouts"}', 0),
    ('Critical items', 'kpi', 'stock_health_latest', '{"value": "critical_items"}', 1),
    ('Average days of cover', 'kpi', 'stock_health_latest', '{"value": "average_days_of_cover", "ratios": {"average_days_of_cover": {"numerator": "days_of_cover", "denominator": "selling_items"}}}', 2),
    ('Items to order', 'kpi', 'stock_health_latest', '{"value": "items_to_order"}', 3),
    ('Suggested order value', 'kpi', 'stock_health_latest', '{"value": "order_value"}', 4),
    ('Status by store', 'bar', 'stock_health_latest', '{"x": "store_name", "y": ["stockouts", "critical_items", "low_items", "overstock_items"]}', 5),
    ('Items to order, by store', 'table', 'stock_orders_latest', '{"columns": ["store_name", "sku", "product_name", "status"], "y": ["on_hand", "open_po_qty", "suggested_order_qty", "order_value"], "sort": {"column": "order_value", "direction": "desc"}, "limit": 100}', 6)
  ) AS w(title, type, view_name, fields, position)
  RETURNING 1
)
INSERT INTO dashboard_permissions (dashboard_id, role, can_view, can_edit)
SELECT dashboard.id, r.role::user_role, true, r.role = 'admin'
FROM dashboard, (VALUES ('admin'), ('ops'), ('manager')) AS r(role);
