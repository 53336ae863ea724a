-- Canonical mapping (issue 4): data sources and their mappings, execution runs and their rejects, the
-- canonical tables any file is mapped onto, view refresh bookkeeping, dashboards, and row-level security
-- for the reporting role. The canonical tables' columns are exactly those of core/mapping/canonical.ts
-- (test/integration/canonical-schema.test.ts keeps the two in step). Large tables lead every key and index
-- with business_id so they can be distributed by business later (ARCHITECTURE.md).

-- Data-source files are kept in the feeds' upload storage (upload_files + upload_chunks).
ALTER TABLE upload_files DROP CONSTRAINT upload_files_data_type_check;
ALTER TABLE upload_files ADD CONSTRAINT upload_files_data_type_check CHECK (data_type IN ('sales', 'costs', 'data_source'));

-- An uploaded export: what its columns look like. `columns` is an array of
-- {header, samples, kind, pii} (kind: a ValueKind of core/mapping/sniff.ts, pii: null or a PII kind).
CREATE TABLE data_sources (
  id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  business_id         uuid NOT NULL REFERENCES businesses(id) ON DELETE RESTRICT,
  name                text NOT NULL,
  filename            text NOT NULL,
  -- The file's bytes; null once the upload has been purged (the metadata stays).
  upload_token        uuid REFERENCES upload_files(token) ON DELETE SET NULL,
  -- Identifies the file's layout (its normalised headers), so later files of that layout reuse an approved mapping.
  header_fingerprint  text NOT NULL,
  columns             jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(columns) = 'array'),
  created_by          uuid REFERENCES users(id) ON DELETE SET NULL,
  created_at          timestamptz(6) NOT NULL DEFAULT now(),
  updated_at          timestamptz(6) NOT NULL DEFAULT now()
);
CREATE INDEX data_sources_business_id_created_at_idx ON data_sources (business_id, created_at DESC);
CREATE INDEX data_sources_business_id_header_fingerprint_idx ON data_sources (business_id, header_fingerprint);

-- A mapping of one file layout (business + header fingerprint) onto one canonical table, versioned:
-- editing an approved mapping makes a new draft; approving it supersedes the previous approved version.
CREATE TABLE mapping_versions (
  id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  business_id         uuid NOT NULL REFERENCES businesses(id) ON DELETE RESTRICT,
  header_fingerprint  text NOT NULL,
  version             integer NOT NULL CHECK (version >= 1),
  target_table        text NOT NULL CHECK (target_table IN ('customers', 'orders', 'order_items', 'invoices', 'products', 'suppliers', 'payments', 'inventory_levels')),
  status              text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'approved', 'superseded')),
  -- The data source the mapping was drawn up for (what "learned from source X" names).
  data_source_id      uuid REFERENCES data_sources(id) ON DELETE SET NULL,
  created_by          uuid REFERENCES users(id) ON DELETE SET NULL,
  approved_by         uuid REFERENCES users(id) ON DELETE SET NULL,
  approved_at         timestamptz(6),
  created_at          timestamptz(6) NOT NULL DEFAULT now(),
  updated_at          timestamptz(6) NOT NULL DEFAULT now(),
  CONSTRAINT mapping_versions_business_id_header_fingerprint_version_key UNIQUE (business_id, header_fingerprint, version),
  CONSTRAINT mapping_versions_approved_has_approved_at CHECK (status = 'draft' OR approved_at IS NOT NULL)
);
-- At most one approved mapping per layout: the one later uploads reuse.
CREATE UNIQUE INDEX mapping_versions_one_approved_idx ON mapping_versions (business_id, header_fingerprint) WHERE status = 'approved';
CREATE INDEX mapping_versions_data_source_id_idx ON mapping_versions (data_source_id);

-- The rows of a mapping version: one per target column. A computed column has an expression over other
-- source columns instead of (or besides) a source column; transforms are JSON data applied by
-- core/mapping/transforms.ts, never code. Unmapped source columns are ignored.
CREATE TABLE field_mappings (
  id                   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  mapping_version_id   uuid NOT NULL REFERENCES mapping_versions(id) ON DELETE CASCADE,
  position             integer NOT NULL DEFAULT 0,
  source_column        text,
  target_column        text NOT NULL,
  transforms           jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(transforms) = 'array'),
  computed_expression  text,
  confidence           double precision CHECK (confidence BETWEEN 0 AND 1),
  reason               text,
  pii_kind             text CHECK (pii_kind IN ('email', 'phone', 'card', 'address')),
  created_at           timestamptz(6) NOT NULL DEFAULT now(),
  CONSTRAINT field_mappings_mapping_version_id_target_column_key UNIQUE (mapping_version_id, target_column),
  CONSTRAINT field_mappings_has_input CHECK (source_column IS NOT NULL OR computed_expression IS NOT NULL)
);

-- One run of an approved mapping over a data source's file (a pg-boss job).
CREATE TABLE mapping_executions (
  id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  business_id         uuid NOT NULL REFERENCES businesses(id) ON DELETE RESTRICT,
  data_source_id      uuid NOT NULL REFERENCES data_sources(id) ON DELETE CASCADE,
  mapping_version_id  uuid NOT NULL REFERENCES mapping_versions(id) ON DELETE RESTRICT,
  job_id              uuid,
  status              text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
  rows_total          integer CHECK (rows_total >= 0),
  rows_loaded         integer NOT NULL DEFAULT 0 CHECK (rows_loaded >= 0),
  rows_rejected       integer NOT NULL DEFAULT 0 CHECK (rows_rejected >= 0),
  progress            double precision NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 1),
  started_at          timestamptz(6),
  finished_at         timestamptz(6),
  error               text,
  created_by          uuid REFERENCES users(id) ON DELETE SET NULL,
  created_at          timestamptz(6) NOT NULL DEFAULT now(),
  updated_at          timestamptz(6) NOT NULL DEFAULT now(),
  CONSTRAINT mapping_executions_finished_when_done CHECK ((status IN ('succeeded', 'failed')) = (finished_at IS NOT NULL))
);
CREATE INDEX mapping_executions_business_id_created_at_idx ON mapping_executions (business_id, created_at DESC);
CREATE INDEX mapping_executions_data_source_id_idx ON mapping_executions (data_source_id, created_at DESC);
CREATE INDEX mapping_executions_mapping_version_id_idx ON mapping_executions (mapping_version_id);
-- A data source is loaded by one run at a time: a second execute while one is queued or running is refused.
CREATE UNIQUE INDEX mapping_executions_one_active_idx ON mapping_executions (data_source_id) WHERE status IN ('queued', 'running');

-- Rows an execution could not load, with the reason (column null: the row as a whole).
CREATE TABLE mapping_rejects (
  id                    bigserial PRIMARY KEY,
  mapping_execution_id  uuid NOT NULL REFERENCES mapping_executions(id) ON DELETE CASCADE,
  row_number            integer NOT NULL,
  column_name           text,
  value                 text,
  reason                text NOT NULL
);
CREATE INDEX mapping_rejects_execution_row_idx ON mapping_rejects (mapping_execution_id, row_number);

-- ---------------------------------------------------------------------------------------------------
-- Canonical tables. Types: dates `date`, money numeric(18,2), quantities numeric(18,4), flags boolean,
-- everything else text. Every row keeps its lineage: the data source and the row of its file that last
-- wrote it. Natural keys are UNIQUE so the loader upserts on them (re-running loads no duplicates).
-- ---------------------------------------------------------------------------------------------------

CREATE TABLE canonical_customers (
  business_id     uuid NOT NULL REFERENCES businesses(id) ON DELETE CASCADE,
  id              bigserial,
  customer_ref    text NOT NULL,
  name            text,
  email           text,
  phone           text,
  city            text,
  country         text,
  -- The catalog's "customer since" day, not when the row was loaded (loaded_at).
  created_at      date,
  data_source_id  uuid NOT NULL REFERENCES data_sources(id) ON DELETE RESTRICT,
  source_row      integer NOT NULL,
  loaded_at       timestamptz(6) NOT NULL DEFAULT now(),
  updated_at      timestamptz(6) NOT NULL DEFAULT now(),
  PRIMARY KEY (business_id, id),
  CONSTRAINT canonical_customers_natural_key UNIQUE (business_id, customer_ref)
);
CREATE INDEX canonical_customers_data_source_idx ON canonical_customers (business_id, data_source_id);

CREATE TABLE canonical_orders (
  business_id     uuid NOT NULL REFERENCES businesses(id) ON DELETE CASCADE,
  id              bigserial,
  order_ref       text NOT NULL,
  customer_ref    text,
  order_date      date,
  status          text,
  total_amount    numeric(18,2),
  currency        text,
  manager_ref     text,
  -- The user who manages this order's team: resolved at load time from manager_ref (a user's email within
  -- the business), null when none matches. Team-scoped reads (a manager's) keep to their own rows.
  manager_id      uuid REFERENCES users(id) ON DELETE SET NULL,
  data_source_id  uuid NOT NULL REFERENCES data_sources(id) ON DELETE RESTRICT,
  source_row      integer NOT NULL,
  loaded_at       timestamptz(6) NOT NULL DEFAULT now(),
  updated_at      timestamptz(6) NOT NULL DEFAULT now(),
  PRIMARY KEY (business_id, id),
  CONSTRAINT canonical_orders_natural_key UNIQUE (business_id, order_ref)
);
CREATE INDEX canonical_orders_order_date_idx ON canonical_orders (business_id, order_date);
CREATE INDEX canonical_orders_customer_idx ON canonical_orders (business_id, customer_ref, order_date);
CREATE INDEX canonical_orders_manager_idx ON canonical_orders (business_id, manager_id, order_date);
CREATE INDEX canonical_orders_data_source_idx ON canonical_orders (business_id, data_source_id);

-- Natural key: (order, product). The catalog has no line number, and a line number would not survive a
-- re-export anyway; an order line is "this product in this order", so any later file that lists the same
-- order updates its lines instead of adding them again. A file that lists one product twice in an order
-- is merged by the loader (quantities and totals summed) before the upsert.
CREATE TABLE canonical_order_items (
  business_id     uuid NOT NULL REFERENCES businesses(id) ON DELETE CASCADE,
  id              bigserial,
  order_ref       text NOT NULL,
  product_ref     text NOT NULL,
  quantity        numeric(18,4),
  unit_price      numeric(18,2),
  line_total      numeric(18,2),
  data_source_id  uuid NOT NULL REFERENCES data_sources(id) ON DELETE RESTRICT,
  source_row      integer NOT NULL,
  loaded_at       timestamptz(6) NOT NULL DEFAULT now(),
  updated_at      timestamptz(6) NOT NULL DEFAULT now(),
  PRIMARY KEY (business_id, id),
  CONSTRAINT canonical_order_items_natural_key UNIQUE (business_id, order_ref, product_ref)
);
CREATE INDEX canonical_order_items_product_idx ON canonical_order_items (business_id, product_ref);
CREATE INDEX canonical_order_items_data_source_idx ON canonical_order_items (business_id, data_source_id);

CREATE TABLE canonical_invoices (
  business_id     uuid NOT NULL REFERENCES businesses(id) ON DELETE CASCADE,
  id              bigserial,
  invoice_ref     text NOT NULL,
  customer_ref    text,
  invoice_date    date,
  due_date        date,
  amount          numeric(18,2),
  paid            boolean,
  data_source_id  uuid NOT NULL REFERENCES data_sources(id) ON DELETE RESTRICT,
  source_row      integer NOT NULL,
  loaded_at       timestamptz(6) NOT NULL DEFAULT now(),
  updated_at      timestamptz(6) NOT NULL DEFAULT now(),
  PRIMARY KEY (business_id, id),
  CONSTRAINT canonical_invoices_natural_key UNIQUE (business_id, invoice_ref)
);
CREATE INDEX canonical_invoices_invoice_date_idx ON canonical_invoices (business_id, invoice_date);
CREATE INDEX canonical_invoices_customer_idx ON canonical_invoices (business_id, customer_ref);
CREATE INDEX canonical_invoices_data_source_idx ON canonical_invoices (business_id, data_source_id);

CREATE TABLE canonical_products (
  business_id     uuid NOT NULL REFERENCES businesses(id) ON DELETE CASCADE,
  id              bigserial,
  product_ref     text NOT NULL,
  name            text,
  category        text,
  price           numeric(18,2),
  cost            numeric(18,2),
  data_source_id  uuid NOT NULL REFERENCES data_sources(id) ON DELETE RESTRICT,
  source_row      integer NOT NULL,
  loaded_at       timestamptz(6) NOT NULL DEFAULT now(),
  updated_at      timestamptz(6) NOT NULL DEFAULT now(),
  PRIMARY KEY (business_id, id),
  CONSTRAINT canonical_products_natural_key UNIQUE (business_id, product_ref)
);
CREATE INDEX canonical_products_data_source_idx ON canonical_products (business_id, data_source_id);

CREATE TABLE canonical_suppliers (
  business_id     uuid NOT NULL REFERENCES businesses(id) ON DELETE CASCADE,
  id              bigserial,
  supplier_ref    text NOT NULL,
  name            text,
  email           text,
  phone           text,
  data_source_id  uuid NOT NULL REFERENCES data_sources(id) ON DELETE RESTRICT,
  source_row      integer NOT NULL,
  loaded_at       timestamptz(6) NOT NULL DEFAULT now(),
  updated_at      timestamptz(6) NOT NULL DEFAULT now(),
  PRIMARY KEY (business_id, id),
  CONSTRAINT canonical_suppliers_natural_key UNIQUE (business_id, supplier_ref)
);
CREATE INDEX canonical_suppliers_data_source_idx ON canonical_suppliers (business_id, data_source_id);

CREATE TABLE canonical_payments (
  business_id     uuid NOT NULL REFERENCES businesses(id) ON DELETE CASCADE,
  id              bigserial,
  payment_ref     text NOT NULL,
  invoice_ref     text,
  paid_at         date,
  amount          numeric(18,2),
  method          text,
  data_source_id  uuid NOT NULL REFERENCES data_sources(id) ON DELETE RESTRICT,
  source_row      integer NOT NULL,
  loaded_at       timestamptz(6) NOT NULL DEFAULT now(),
  updated_at      timestamptz(6) NOT NULL DEFAULT now(),
  PRIMARY KEY (business_id, id),
  CONSTRAINT canonical_payments_natural_key UNIQUE (business_id, payment_ref)
);
CREATE INDEX canonical_payments_invoice_idx ON canonical_payments (business_id, invoice_ref);
CREATE INDEX canonical_payments_paid_at_idx ON canonical_payments (business_id, paid_at);
CREATE INDEX canonical_payments_data_source_idx ON canonical_payments (business_id, data_source_id);

-- Natural key: (product, location, day counted). Each count is a snapshot, so stock keeps its history
-- (the latest count per product and location is the current level) and re-loading a snapshot updates it.
-- A business with one stock room leaves location empty: NULLS NOT DISTINCT makes "no location" one place.
-- A count without a date is taken as of the day it is loaded.
CREATE TABLE canonical_inventory_levels (
  business_id     uuid NOT NULL REFERENCES businesses(id) ON DELETE CASCADE,
  id              bigserial,
  product_ref     text NOT NULL,
  location        text,
  on_hand         numeric(18,4),
  counted_at      date NOT NULL DEFAULT current_date,
  data_source_id  uuid NOT NULL REFERENCES data_sources(id) ON DELETE RESTRICT,
  source_row      integer NOT NULL,
  loaded_at       timestamptz(6) NOT NULL DEFAULT now(),
  updated_at      timestamptz(6) NOT NULL DEFAULT now(),
  PRIMARY KEY (business_id, id),
  CONSTRAINT canonical_inventory_levels_natural_key UNIQUE NULLS NOT DISTINCT (business_id, product_ref, location, counted_at)
);
CREATE INDEX canonical_inventory_levels_data_source_idx ON canonical_inventory_levels (business_id, data_source_id);

-- ---------------------------------------------------------------------------------------------------
-- Materialized-view refreshes (core/warehouse/views.ts records one row per view refreshed) and the
-- alerts raised when a view is older than its refresh policy allows (open until it is fresh again).
-- ---------------------------------------------------------------------------------------------------

CREATE TABLE refresh_jobs (
  id           bigserial PRIMARY KEY,
  view_name    text NOT NULL,
  trigger      text NOT NULL CHECK (trigger IN ('full', 'incremental', 'manual')),
  status       text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'succeeded', 'failed')),
  started_at   timestamptz(6) NOT NULL DEFAULT now(),
  finished_at  timestamptz(6),
  duration_ms  integer CHECK (duration_ms >= 0),
  error        text,
  CONSTRAINT refresh_jobs_finished_when_done CHECK ((status = 'running') = (finished_at IS NULL))
);
CREATE INDEX refresh_jobs_view_name_started_at_idx ON refresh_jobs (view_name, started_at DESC);
CREATE INDEX refresh_jobs_running_idx ON refresh_jobs (view_name) WHERE status = 'running';

CREATE TABLE warehouse_alerts (
  id                     bigserial PRIMARY KEY,
  view_name              text NOT NULL,
  kind                   text NOT NULL DEFAULT 'stale' CHECK (kind IN ('stale')),
  message                text NOT NULL,
  -- The view's last successful refresh when the alert opened (null: never refreshed).
  last_refreshed_at      timestamptz(6),
  max_staleness_seconds  integer NOT NULL CHECK (max_staleness_seconds > 0),
  opened_at              timestamptz(6) NOT NULL DEFAULT now(),
  closed_at              timestamptz(6)
);
CREATE UNIQUE INDEX warehouse_alerts_one_open_idx ON warehouse_alerts (view_name, kind) WHERE closed_at IS NULL;
CREATE INDEX warehouse_alerts_opened_at_idx ON warehouse_alerts (opened_at DESC);

-- ---------------------------------------------------------------------------------------------------
-- Dashboards: widgets read materialized views; permissions grant a dashboard to roles.
-- ---------------------------------------------------------------------------------------------------

CREATE TABLE dashboards (
  id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  -- Null: a dashboard every business has (each caller still sees only their own rows).
  business_id  uuid REFERENCES businesses(id) ON DELETE CASCADE,
  name         text NOT NULL,
  description  text,
  created_by   uuid REFERENCES users(id) ON DELETE SET NULL,
  created_at   timestamptz(6) NOT NULL DEFAULT now(),
  updated_at   timestamptz(6) NOT NULL DEFAULT now(),
  CONSTRAINT dashboards_business_id_name_key UNIQUE NULLS NOT DISTINCT (business_id, name)
);

CREATE TABLE dashboard_widgets (
  id                        uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  dashboard_id              uuid NOT NULL REFERENCES dashboards(id) ON DELETE CASCADE,
  title                     text NOT NULL,
  type                      text NOT NULL CHECK (type IN ('kpi', 'line', 'bar', 'table', 'donut')),
  -- A materialized view of the registry in core/warehouse/views.ts (checked there: it knows them all).
  view_name                 text NOT NULL,
  -- Which of the view's columns the widget shows and how: {x, y, series, value, filters…}.
  fields                    jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(fields) = 'object'),
  refresh_interval_seconds  integer NOT NULL DEFAULT 300 CHECK (refresh_interval_seconds >= 5),
  position                  integer NOT NULL DEFAULT 0,
  created_at                timestamptz(6) NOT NULL DEFAULT now(),
  updated_at                timestamptz(6) NOT NULL DEFAULT now()
);
CREATE INDEX dashboard_widgets_dashboard_id_position_idx ON dashboard_widgets (dashboard_id, position);

CREATE TABLE dashboard_permissions (
  dashboard_id  uuid NOT NULL REFERENCES dashboards(id) ON DELETE CASCADE,
  role          user_role NOT NULL,
  can_view      boolean NOT NULL DEFAULT true,
  can_edit      boolean NOT NULL DEFAULT false,
  PRIMARY KEY (dashboard_id, role),
  CONSTRAINT dashboard_permissions_edit_needs_view CHECK (can_view OR NOT can_edit)
);

-- ---------------------------------------------------------------------------------------------------
-- Row-level security for the reporting role. The app reads dashboards' data with
--   SET LOCAL ROLE backhouse_reporting; SELECT set_config('backhouse.business_id', $1, true);
--   (and for a team-limited reader) SELECT set_config('backhouse.manager_id', $2, true);
-- and then sees only that business's rows (and that team's orders and order lines); without the setting
-- it sees nothing. The app's own role owns the tables and keeps full access (RLS is not forced).
-- Roles are cluster-wide and many databases share one server (the test suite), hence "if not there yet".
-- ---------------------------------------------------------------------------------------------------

DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'backhouse_reporting') THEN
    CREATE ROLE backhouse_reporting NOLOGIN;
  END IF;
EXCEPTION
  -- Another database of the same server created it at the same moment.
  WHEN duplicate_object OR unique_violation THEN NULL;
END
$$;
GRANT backhouse_reporting TO CURRENT_USER;
GRANT USAGE ON SCHEMA public TO backhouse_reporting;

-- The business the reader works for, or null (nothing visible) when the setting is absent or empty.
CREATE FUNCTION reporting_business_id() RETURNS uuid LANGUAGE sql STABLE
  AS $$ SELECT nullif(current_setting('backhouse.business_id', true), '')::uuid $$;
-- The team the reader is limited to, or null when they see the whole business.
CREATE FUNCTION reporting_manager_id() RETURNS uuid LANGUAGE sql STABLE
  AS $$ SELECT nullif(current_setting('backhouse.manager_id', true), '')::uuid $$;
GRANT EXECUTE ON FUNCTION reporting_business_id(), reporting_manager_id() TO backhouse_reporting;

DO $$
DECLARE
  tbl text;
BEGIN
  FOREACH tbl IN ARRAY ARRAY['canonical_customers', 'canonical_invoices', 'canonical_products', 'canonical_suppliers', 'canonical_payments', 'canonical_inventory_levels']
  LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', tbl);
    EXECUTE format('GRANT SELECT ON %I TO backhouse_reporting', tbl);
    EXECUTE format('CREATE POLICY %I ON %I FOR SELECT TO backhouse_reporting USING (business_id = reporting_business_id())', tbl || '_reporting', tbl);
  END LOOP;
END
$$;

-- Orders are team-scoped: with a manager set, only that manager's orders.
ALTER TABLE canonical_orders ENABLE ROW LEVEL SECURITY;
GRANT SELECT ON canonical_orders TO backhouse_reporting;
CREATE POLICY canonical_orders_reporting ON canonical_orders FOR SELECT TO backhouse_reporting
  USING (business_id = reporting_business_id() AND (reporting_manager_id() IS NULL OR manager_id = reporting_manager_id()));

-- Order lines belong to their order's team: with a manager set, only lines of orders that reader sees
-- (the subquery is itself under canonical_orders' policy).
ALTER TABLE canonical_order_items ENABLE ROW LEVEL SECURITY;
GRANT SELECT ON canonical_order_items TO backhouse_reporting;
CREATE POLICY canonical_order_items_reporting ON canonical_order_items FOR SELECT TO backhouse_reporting
  USING (business_id = reporting_business_id() AND (reporting_manager_id() IS NULL OR EXISTS (
    SELECT 1 FROM canonical_orders o WHERE o.business_id = canonical_order_items.business_id AND o.order_ref = canonical_order_items.order_ref
  )));
