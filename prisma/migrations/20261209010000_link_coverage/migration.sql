-- Product link coverage (the share of line items linked to a catalog product) on the Pipeline health
-- dashboard. Read from gold's product mix, which every silver batch and every confirm or re-link folds, so it
-- costs what the business's product-days hold, not its line items. Simulated lines count like real ones here:
-- the simulator's traffic is linked by the same matcher.
CREATE VIEW reporting.v_link_coverage WITH (security_barrier) AS
SELECT g.business_id, g.shop_id, g.simulated, g.day,
       g.lines AS line_items,
       CASE WHEN g.product_id IS NULL THEN 0 ELSE g.lines END AS linked_line_items
FROM public.gold_product_mix_daily g
WHERE g.business_id = public.reporting_business_id()
  AND (public.reporting_shop_ids() IS NULL OR g.shop_id = ANY (public.reporting_shop_ids()));
GRANT SELECT ON reporting.v_link_coverage TO backhouse_reporting;

-- Beside the other KPIs: the charts move one place down.
UPDATE dashboard_widgets w SET position = w.position + 1
FROM dashboards d WHERE d.id = w.dashboard_id AND d.slug = 'pipeline-health' AND w.position >= 5;
INSERT INTO dashboard_widgets (dashboard_id, title, type, view_name, fields, refresh_interval_seconds, position)
SELECT d.id, 'Product link coverage (% of line items linked)', 'kpi', 'v_link_coverage',
       '{"value": "coverage", "ratios": {"coverage": {"numerator": "linked_line_items", "denominator": "line_items", "percent": true}}}'::jsonb, 10, 5
FROM dashboards d WHERE d.slug = 'pipeline-health';
