-- The stock health and PO snapshot pipelines (issue 18): one day snapshot table per output. The key columns
-- (business_id, business_date, pipeline_run_id, file_job_id) are filled by the pipelines' aggregator, which
-- replaces a business's day in one transaction: a day holds the rows of one run.

-- The supplier master as of a day: who supplies a SKU, lead time, MOQ and pack size.
CREATE TABLE supplier_master_snapshots (
  id bigserial PRIMARY KEY,
  business_id uuid NOT NULL REFERENCES businesses(id) ON DELETE RESTRICT,
  business_date date NOT NULL,
  pipeline_run_id uuid NOT NULL,
  file_job_id uuid NOT NULL,
  sku text NOT NULL,
  supplier text NOT NULL,
  lead_time_days integer NOT NULL CHECK (lead_time_days >= 0),
  moq integer NOT NULL CHECK (moq >= 0),
  pack_size integer NOT NULL CHECK (pack_size >= 1),
  -- Lineage: the row of the file it was read from.
  source_row integer NOT NULL
);
CREATE INDEX supplier_master_snapshots_day ON supplier_master_snapshots (business_id, business_date, sku);

-- Purchase-order lines as exported on a day, with what is still to arrive and whether it is late.
CREATE TABLE po_snapshots (
  id bigserial PRIMARY KEY,
  business_id uuid NOT NULL REFERENCES businesses(id) ON DELETE RESTRICT,
  business_date date NOT NULL,
  pipeline_run_id uuid NOT NULL,
  file_job_id uuid NOT NULL,
  po_number text NOT NULL,
  supplier text NOT NULL,
  sku text NOT NULL,
  -- The store the PO delivers to (optional column of the export); null for the business as a whole.
  store_code text,
  shop_id uuid REFERENCES shops(id) ON DELETE SET NULL,
  qty_ordered integer NOT NULL,
  qty_received integer NOT NULL,
  open_qty integer NOT NULL,
  order_date date NOT NULL,
  expected_date date,
  status text NOT NULL CHECK (status IN ('open', 'partial', 'received', 'closed', 'cancelled')),
  is_late boolean NOT NULL,
  days_late integer,
  source_row integer NOT NULL
);
CREATE INDEX po_snapshots_day ON po_snapshots (business_id, business_date, sku, store_code);
CREATE INDEX po_snapshots_supplier ON po_snapshots (business_id, business_date, supplier);

-- Per supplier and day: open quantity, late PO lines and fill rate (received over ordered, cancelled lines left out).
CREATE VIEW po_supplier_metrics AS
SELECT business_id,
       business_date,
       supplier,
       count(*)::integer AS po_lines,
       count(*) FILTER (WHERE open_qty > 0)::integer AS open_lines,
       coalesce(sum(open_qty), 0)::bigint AS open_qty,
       count(*) FILTER (WHERE is_late)::integer AS late_lines,
       count(DISTINCT po_number) FILTER (WHERE is_late)::integer AS late_pos,
       coalesce(sum(qty_ordered) FILTER (WHERE status <> 'cancelled'), 0)::bigint AS qty_ordered,
       coalesce(sum(least(qty_received, qty_ordered)) FILTER (WHERE status <> 'cancelled'), 0)::bigint AS qty_received,
       round(sum(least(qty_received, qty_ordered)) FILTER (WHERE status <> 'cancelled')::numeric
             / nullif(sum(qty_ordered) FILTER (WHERE status <> 'cancelled'), 0), 4) AS fill_rate
FROM po_snapshots
GROUP BY business_id, business_date, supplier;

-- Stock health per business, day, store and SKU.
CREATE TABLE stock_health_snapshots (
  id bigserial PRIMARY KEY,
  business_id uuid NOT NULL REFERENCES businesses(id) ON DELETE RESTRICT,
  business_date date NOT NULL,
  pipeline_run_id uuid NOT NULL,
  file_job_id uuid NOT NULL,
  store_code text NOT NULL,
  shop_id uuid REFERENCES shops(id) ON DELETE SET NULL,
  sku text NOT NULL,
  product_name text NOT NULL,
  on_hand integer NOT NULL,
  sold_last_30_days integer NOT NULL,
  unit_cost_cents bigint NOT NULL,
  -- From the supplier master; null when the SKU is not in it.
  supplier text,
  lead_time_days integer,
  moq integer,
  pack_size integer,
  open_po_qty integer NOT NULL,
  avg_daily_sales numeric(14,4) NOT NULL,
  -- Null when nothing sells (the stock lasts for ever).
  days_of_cover numeric(14,2),
  safety_stock integer NOT NULL,
  reorder_point integer NOT NULL,
  suggested_order_qty integer NOT NULL,
  status text NOT NULL CHECK (status IN ('stockout', 'critical', 'low', 'healthy', 'overstock')),
  stock_value_cents bigint NOT NULL,
  order_value_cents bigint NOT NULL,
  source_row integer NOT NULL
);
CREATE INDEX stock_health_snapshots_day ON stock_health_snapshots (business_id, business_date, store_code, sku);
CREATE INDEX stock_health_snapshots_status ON stock_health_snapshots (business_id, business_date, status);
