-- Tekmetric warehouse (issue 19): the seed document's 16 tables under a `tm_` prefix (our own `shops` and
-- `canonical_customers` already exist), the connections, sync cursors, runs and their log, raw payloads.
--
-- Design decisions (the seed's, kept):
-- - Money is integer cents (bigint), as the API sends it. Hours are numeric(10,2), quantities numeric(12,3).
-- - Instants are timestamptz; shop-local business days are `date`, computed in the shop's time zone at upsert
--   (`posted_date`, `completed_date`, `created_on`...). A job's `authorizedDate` and appointment times come
--   without a zone: they are read as shop-local wall time.
-- - Keys: every synced row is keyed on (Tekmetric shop id, Tekmetric id): `(shop_id, id)`; upserts conflict on
--   it. `business_id` is carried on every row for row-level security (and a distribution key later).
-- - Cascades: tm_shops → everything of the shop; repair order → jobs, sublets, fees, discounts, concerns,
--   snapshots; job → parts, labor, its fees and discounts. Customers, vehicles and employees that a repair
--   order names are not foreign keys: the upstream references are not guaranteed to resolve.
-- - Deleted upstream: `deleted_at` set (rows are kept for history and metrics of the past).
-- - Controlled vocabularies: repair-order statuses as a lookup table; the rest as CHECK constraints.

-- ---------------------------------------------------------------------------------------------------
-- Connections: a base URL and client credentials. The secret is sealed (core/secrets) when stored, or
-- null when the connection takes its credentials from the environment (TEKMETRIC_CLIENT_SECRET).
-- ---------------------------------------------------------------------------------------------------
CREATE TABLE tekmetric_connections (
  id                     uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name                   text NOT NULL,
  base_url               text NOT NULL CHECK (base_url ~ '^https?://'),
  client_id              text NOT NULL,
  client_secret_sealed   text,
  from_environment       boolean NOT NULL DEFAULT false,
  requests_per_minute    integer NOT NULL DEFAULT 600 CHECK (requests_per_minute BETWEEN 1 AND 100000),
  sync_interval_minutes  integer NOT NULL DEFAULT 15 CHECK (sync_interval_minutes BETWEEN 1 AND 1440),
  enabled                boolean NOT NULL DEFAULT true,
  scope_shop_ids         bigint[] NOT NULL DEFAULT '{}',
  last_connected_at      timestamptz(6),
  last_error             text,
  created_at             timestamptz(6) NOT NULL DEFAULT now(),
  updated_at             timestamptz(6) NOT NULL DEFAULT now(),
  CONSTRAINT tekmetric_connections_secret_source CHECK (from_environment OR client_secret_sealed IS NOT NULL),
  CONSTRAINT tekmetric_connections_base_url_client_id_key UNIQUE (base_url, client_id)
);

-- ---------------------------------------------------------------------------------------------------
-- 1. Shops: the root. `id` is Tekmetric's shop id; each is linked to one of our shops (and so a business).
-- ---------------------------------------------------------------------------------------------------
CREATE TABLE tm_shops (
  id                    bigint PRIMARY KEY,
  business_id           uuid NOT NULL REFERENCES businesses(id) ON DELETE CASCADE,
  backhouse_shop_id     uuid NOT NULL UNIQUE REFERENCES shops(id) ON DELETE CASCADE,
  connection_id         uuid REFERENCES tekmetric_connections(id) ON DELETE SET NULL,
  name                  text NOT NULL,
  nickname              text,
  phone                 text,
  email                 text,
  website               text,
  address               jsonb,
  timezone              text NOT NULL DEFAULT 'UTC',
  -- Labor cost when a technician has no pay rate and the shop no average (the "default" rate source).
  default_pay_rate_cents bigint NOT NULL DEFAULT 2500 CHECK (default_pay_rate_cents >= 0),
  sync_enabled          boolean NOT NULL DEFAULT true,
  synced_at             timestamptz(6),
  deleted_at            timestamptz(6),
  created_at            timestamptz(6) NOT NULL DEFAULT now(),
  updated_at            timestamptz(6) NOT NULL DEFAULT now()
);
CREATE INDEX tm_shops_business_id_idx ON tm_shops (business_id);

-- ---------------------------------------------------------------------------------------------------
-- 2. Employees
-- ---------------------------------------------------------------------------------------------------
CREATE TABLE tm_employees (
  shop_id              bigint NOT NULL REFERENCES tm_shops(id) ON DELETE CASCADE,
  id                   bigint NOT NULL,
  business_id          uuid NOT NULL,
  email                text,
  first_name           text,
  last_name            text,
  address              jsonb,
  role_id              integer,
  role_code            text,
  role_name            text,
  can_perform_work     boolean NOT NULL DEFAULT false,
  certification_number text,
  -- The technician's pay rate per hour, set here (the API does not give it): the "assigned" rate source.
  pay_rate_cents       bigint CHECK (pay_rate_cents >= 0),
  status               text NOT NULL DEFAULT 'ACTIVE' CHECK (status IN ('ACTIVE', 'INACTIVE')),
  created_date         timestamptz(6),
  updated_date         timestamptz(6),
  deleted_at           timestamptz(6),
  synced_at            timestamptz(6) NOT NULL DEFAULT now(),
  PRIMARY KEY (shop_id, id)
);
CREATE INDEX tm_employees_business_id_idx ON tm_employees (business_id);

-- ---------------------------------------------------------------------------------------------------
-- 3. Customers (personal data: managers read `customers_analytics` instead)
-- ---------------------------------------------------------------------------------------------------
CREATE TABLE tm_customers (
  shop_id            bigint NOT NULL REFERENCES tm_shops(id) ON DELETE CASCADE,
  id                 bigint NOT NULL,
  business_id        uuid NOT NULL,
  first_name         text,
  last_name          text,
  email              text,
  phones             jsonb,
  customer_type_id   integer CHECK (customer_type_id IN (1, 2)),
  contact_first_name text,
  contact_last_name  text,
  address            jsonb,
  ok_for_marketing   boolean,
  notes              text,
  birthday           text,
  created_date       timestamptz(6),
  updated_date       timestamptz(6),
  deleted_at         timestamptz(6),
  synced_at          timestamptz(6) NOT NULL DEFAULT now(),
  PRIMARY KEY (shop_id, id)
);
CREATE INDEX tm_customers_business_id_idx ON tm_customers (business_id);
CREATE INDEX tm_customers_last_name_idx ON tm_customers (shop_id, lower(last_name));

-- ---------------------------------------------------------------------------------------------------
-- 4. Vehicles
-- ---------------------------------------------------------------------------------------------------
CREATE TABLE tm_vehicles (
  shop_id        bigint NOT NULL REFERENCES tm_shops(id) ON DELETE CASCADE,
  id             bigint NOT NULL,
  business_id    uuid NOT NULL,
  customer_id    bigint,
  year           integer,
  make           text,
  model          text,
  sub_model      text,
  engine         text,
  color          text,
  license_plate  text,
  state          text,
  vin            text,
  drive_type     text,
  transmission   text,
  body_type      text,
  notes          text,
  unit_number    text,
  created_date   timestamptz(6),
  updated_date   timestamptz(6),
  deleted_at     timestamptz(6),
  synced_at      timestamptz(6) NOT NULL DEFAULT now(),
  PRIMARY KEY (shop_id, id)
);
CREATE INDEX tm_vehicles_business_id_idx ON tm_vehicles (business_id);
CREATE INDEX tm_vehicles_customer_idx ON tm_vehicles (shop_id, customer_id);

-- ---------------------------------------------------------------------------------------------------
-- 5. Repair orders
-- ---------------------------------------------------------------------------------------------------
CREATE TABLE tm_repair_order_statuses (
  id    integer PRIMARY KEY,
  code  text NOT NULL UNIQUE,
  name  text NOT NULL
);
INSERT INTO tm_repair_order_statuses (id, code, name) VALUES
  (1, 'ESTIMATE', 'Estimate'),
  (2, 'WORKINPROGRESS', 'Work-in-Progress'),
  (3, 'COMPLETE', 'Complete'),
  (4, 'SAVEDFORLATER', 'Saved for Later'),
  (5, 'POSTED', 'Posted'),
  (6, 'ACCOUNTSRECEIVABLE', 'Accounts Receivable'),
  (7, 'DELETED', 'Deleted');

CREATE TABLE tm_repair_orders (
  shop_id                 bigint NOT NULL REFERENCES tm_shops(id) ON DELETE CASCADE,
  id                      bigint NOT NULL,
  business_id             uuid NOT NULL,
  repair_order_number     integer,
  status_id               integer NOT NULL REFERENCES tm_repair_order_statuses(id),
  label                   text,
  color                   text,
  appointment_start_time  timestamptz(6),
  customer_id             bigint,
  vehicle_id              bigint,
  technician_id           bigint,
  service_writer_id       bigint,
  miles_in                integer,
  miles_out               integer,
  keytag                  text,
  -- Money as Tekmetric gives it (cents): totalSales = labor + parts + sublets + fees - discounts + taxes.
  labor_sales_cents       bigint NOT NULL DEFAULT 0,
  parts_sales_cents       bigint NOT NULL DEFAULT 0,
  sublet_sales_cents      bigint NOT NULL DEFAULT 0,
  discount_total_cents    bigint NOT NULL DEFAULT 0,
  fee_total_cents         bigint NOT NULL DEFAULT 0,
  taxes_cents             bigint NOT NULL DEFAULT 0,
  amount_paid_cents       bigint NOT NULL DEFAULT 0,
  total_sales_cents       bigint NOT NULL DEFAULT 0,
  completed_at            timestamptz(6),
  posted_at               timestamptz(6),
  created_date            timestamptz(6),
  updated_date            timestamptz(6),
  deleted_at              timestamptz(6),
  -- Shop-local days of the instants above (the shop's time zone).
  created_on              date,
  completed_date          date,
  posted_date             date,
  synced_at               timestamptz(6) NOT NULL DEFAULT now(),
  PRIMARY KEY (shop_id, id)
);
CREATE INDEX tm_repair_orders_business_id_idx ON tm_repair_orders (business_id);
CREATE INDEX tm_repair_orders_posted_date_idx ON tm_repair_orders (shop_id, posted_date);
CREATE INDEX tm_repair_orders_status_idx ON tm_repair_orders (shop_id, status_id);
CREATE INDEX tm_repair_orders_number_idx ON tm_repair_orders (shop_id, repair_order_number);

-- ---------------------------------------------------------------------------------------------------
-- 6. Jobs (taken from their repair order)
-- ---------------------------------------------------------------------------------------------------
CREATE TABLE tm_jobs (
  shop_id               bigint NOT NULL,
  id                    bigint NOT NULL,
  business_id           uuid NOT NULL,
  repair_order_id       bigint NOT NULL,
  vehicle_id            bigint,
  customer_id           bigint,
  name                  text,
  authorized            boolean,
  authorized_at         timestamptz(6),
  selected              boolean,
  technician_id         bigint,
  note                  text,
  job_category_name     text,
  parts_total_cents     bigint NOT NULL DEFAULT 0,
  labor_total_cents     bigint NOT NULL DEFAULT 0,
  discount_total_cents  bigint NOT NULL DEFAULT 0,
  fee_total_cents       bigint NOT NULL DEFAULT 0,
  subtotal_cents        bigint NOT NULL DEFAULT 0,
  archived              boolean NOT NULL DEFAULT false,
  labor_hours           numeric(10,2) NOT NULL DEFAULT 0,
  logged_hours          numeric(10,2) NOT NULL DEFAULT 0,
  created_date          timestamptz(6),
  updated_date          timestamptz(6),
  completed_at          timestamptz(6),
  PRIMARY KEY (shop_id, id),
  FOREIGN KEY (shop_id, repair_order_id) REFERENCES tm_repair_orders(shop_id, id) ON DELETE CASCADE
);
CREATE INDEX tm_jobs_repair_order_idx ON tm_jobs (shop_id, repair_order_id);
CREATE INDEX tm_jobs_technician_idx ON tm_jobs (shop_id, technician_id);
CREATE INDEX tm_jobs_business_id_idx ON tm_jobs (business_id);

-- ---------------------------------------------------------------------------------------------------
-- 7. Parts (job lines)
-- ---------------------------------------------------------------------------------------------------
CREATE TABLE tm_job_parts (
  shop_id          bigint NOT NULL,
  id               bigint NOT NULL,
  business_id      uuid NOT NULL,
  repair_order_id  bigint NOT NULL,
  job_id           bigint NOT NULL,
  quantity         numeric(12,3) NOT NULL DEFAULT 0,
  brand            text,
  name             text,
  part_number      text,
  description      text,
  cost_cents       bigint NOT NULL DEFAULT 0,
  retail_cents     bigint NOT NULL DEFAULT 0,
  part_type        text NOT NULL DEFAULT 'PART' CHECK (part_type IN ('PART', 'TIRE')),
  PRIMARY KEY (shop_id, id),
  FOREIGN KEY (shop_id, job_id) REFERENCES tm_jobs(shop_id, id) ON DELETE CASCADE
);
CREATE INDEX tm_job_parts_job_idx ON tm_job_parts (shop_id, job_id);
CREATE INDEX tm_job_parts_repair_order_idx ON tm_job_parts (shop_id, repair_order_id);

-- ---------------------------------------------------------------------------------------------------
-- 8. Labor (job lines)
-- ---------------------------------------------------------------------------------------------------
CREATE TABLE tm_job_labor (
  shop_id          bigint NOT NULL,
  id               bigint NOT NULL,
  business_id      uuid NOT NULL,
  repair_order_id  bigint NOT NULL,
  job_id           bigint NOT NULL,
  name             text,
  rate_cents       bigint NOT NULL DEFAULT 0,
  hours            numeric(10,2) NOT NULL DEFAULT 0,
  complete         boolean NOT NULL DEFAULT false,
  technician_id    bigint,
  PRIMARY KEY (shop_id, id),
  FOREIGN KEY (shop_id, job_id) REFERENCES tm_jobs(shop_id, id) ON DELETE CASCADE
);
CREATE INDEX tm_job_labor_job_idx ON tm_job_labor (shop_id, job_id);
CREATE INDEX tm_job_labor_repair_order_idx ON tm_job_labor (shop_id, repair_order_id);

-- ---------------------------------------------------------------------------------------------------
-- 9. Sublets (on the repair order; their items as sent)
-- ---------------------------------------------------------------------------------------------------
CREATE TABLE tm_sublets (
  shop_id          bigint NOT NULL,
  id               bigint NOT NULL,
  business_id      uuid NOT NULL,
  repair_order_id  bigint NOT NULL,
  name             text,
  vendor_id        bigint,
  vendor_name      text,
  authorized       boolean,
  authorized_at    timestamptz(6),
  selected         boolean,
  note             text,
  items            jsonb NOT NULL DEFAULT '[]',
  price_cents      bigint NOT NULL DEFAULT 0,
  cost_cents       bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (shop_id, id),
  FOREIGN KEY (shop_id, repair_order_id) REFERENCES tm_repair_orders(shop_id, id) ON DELETE CASCADE
);
CREATE INDEX tm_sublets_repair_order_idx ON tm_sublets (shop_id, repair_order_id);

-- ---------------------------------------------------------------------------------------------------
-- 10. Fees (of a job, or of the repair order itself when job_id is null)
-- ---------------------------------------------------------------------------------------------------
CREATE TABLE tm_fees (
  shop_id          bigint NOT NULL,
  id               bigint NOT NULL,
  business_id      uuid NOT NULL,
  repair_order_id  bigint NOT NULL,
  job_id           bigint,
  name             text,
  fee_type         text NOT NULL DEFAULT 'other' CHECK (fee_type IN ('shop_supplies', 'environmental', 'disposal', 'hazmat', 'other')),
  total_cents      bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (shop_id, id),
  FOREIGN KEY (shop_id, repair_order_id) REFERENCES tm_repair_orders(shop_id, id) ON DELETE CASCADE,
  FOREIGN KEY (shop_id, job_id) REFERENCES tm_jobs(shop_id, id) ON DELETE CASCADE
);
CREATE INDEX tm_fees_repair_order_idx ON tm_fees (shop_id, repair_order_id);
CREATE INDEX tm_fees_job_idx ON tm_fees (shop_id, job_id);

-- ---------------------------------------------------------------------------------------------------
-- 11. Discounts (of a job, or of the repair order when job_id is null)
-- ---------------------------------------------------------------------------------------------------
CREATE TABLE tm_discounts (
  shop_id          bigint NOT NULL,
  id               bigint NOT NULL,
  business_id      uuid NOT NULL,
  repair_order_id  bigint NOT NULL,
  job_id           bigint,
  name             text,
  total_cents      bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (shop_id, id),
  FOREIGN KEY (shop_id, repair_order_id) REFERENCES tm_repair_orders(shop_id, id) ON DELETE CASCADE,
  FOREIGN KEY (shop_id, job_id) REFERENCES tm_jobs(shop_id, id) ON DELETE CASCADE
);
CREATE INDEX tm_discounts_repair_order_idx ON tm_discounts (shop_id, repair_order_id);
CREATE INDEX tm_discounts_job_idx ON tm_discounts (shop_id, job_id);

-- ---------------------------------------------------------------------------------------------------
-- 12. Customer concerns (of the repair order)
-- ---------------------------------------------------------------------------------------------------
CREATE TABLE tm_concerns (
  shop_id          bigint NOT NULL,
  id               bigint NOT NULL,
  business_id      uuid NOT NULL,
  repair_order_id  bigint NOT NULL,
  concern          text,
  tech_comment     text,
  PRIMARY KEY (shop_id, id),
  FOREIGN KEY (shop_id, repair_order_id) REFERENCES tm_repair_orders(shop_id, id) ON DELETE CASCADE
);
CREATE INDEX tm_concerns_repair_order_idx ON tm_concerns (shop_id, repair_order_id);

-- ---------------------------------------------------------------------------------------------------
-- 13. Appointments
-- ---------------------------------------------------------------------------------------------------
CREATE TABLE tm_appointments (
  shop_id             bigint NOT NULL REFERENCES tm_shops(id) ON DELETE CASCADE,
  id                  bigint NOT NULL,
  business_id         uuid NOT NULL,
  customer_id         bigint,
  vehicle_id          bigint,
  start_time          timestamptz(6),
  end_time            timestamptz(6),
  appointment_date    date,
  description         text,
  arrived             boolean,
  appointment_status  text,
  lead_source         text,
  created_date        timestamptz(6),
  updated_date        timestamptz(6),
  deleted_at          timestamptz(6),
  synced_at           timestamptz(6) NOT NULL DEFAULT now(),
  PRIMARY KEY (shop_id, id)
);
CREATE INDEX tm_appointments_date_idx ON tm_appointments (shop_id, appointment_date);
CREATE INDEX tm_appointments_business_id_idx ON tm_appointments (business_id);

-- ---------------------------------------------------------------------------------------------------
-- 14. Repair-order snapshots: the figures of a repair order when it became posted or completed (or taken
-- by hand), so later edits upstream do not rewrite what was reported.
-- ---------------------------------------------------------------------------------------------------
CREATE TABLE tm_ro_snapshots (
  id                    bigserial PRIMARY KEY,
  shop_id               bigint NOT NULL,
  repair_order_id       bigint NOT NULL,
  business_id           uuid NOT NULL,
  trigger               text NOT NULL CHECK (trigger IN ('posted', 'completed', 'manual')),
  status_id             integer NOT NULL REFERENCES tm_repair_order_statuses(id),
  taken_at              timestamptz(6) NOT NULL DEFAULT now(),
  snapshot_date         date NOT NULL,
  labor_sales_cents     bigint NOT NULL DEFAULT 0,
  parts_sales_cents     bigint NOT NULL DEFAULT 0,
  sublet_sales_cents    bigint NOT NULL DEFAULT 0,
  fee_total_cents       bigint NOT NULL DEFAULT 0,
  discount_total_cents  bigint NOT NULL DEFAULT 0,
  taxes_cents           bigint NOT NULL DEFAULT 0,
  total_sales_cents     bigint NOT NULL DEFAULT 0,
  parts_cost_cents      bigint NOT NULL DEFAULT 0,
  labor_cost_cents      bigint NOT NULL DEFAULT 0,
  sublet_cost_cents     bigint NOT NULL DEFAULT 0,
  gross_profit_cents    bigint NOT NULL DEFAULT 0,
  authorized_cents      bigint NOT NULL DEFAULT 0,
  presented_cents       bigint NOT NULL DEFAULT 0,
  labor_hours           numeric(10,2) NOT NULL DEFAULT 0,
  details               jsonb NOT NULL DEFAULT '{}',
  FOREIGN KEY (shop_id, repair_order_id) REFERENCES tm_repair_orders(shop_id, id) ON DELETE CASCADE
);
CREATE INDEX tm_ro_snapshots_repair_order_idx ON tm_ro_snapshots (shop_id, repair_order_id, taken_at);
CREATE INDEX tm_ro_snapshots_date_idx ON tm_ro_snapshots (shop_id, snapshot_date);

-- ---------------------------------------------------------------------------------------------------
-- 15. Daily shop metrics (one row per shop and shop-local day; updated for the days that changed)
-- ---------------------------------------------------------------------------------------------------
CREATE TABLE tm_daily_shop_metrics (
  shop_id                  bigint NOT NULL REFERENCES tm_shops(id) ON DELETE CASCADE,
  metric_date              date NOT NULL,
  business_id              uuid NOT NULL,
  car_count                integer NOT NULL DEFAULT 0,
  ro_count                 integer NOT NULL DEFAULT 0,
  total_sales_cents        bigint NOT NULL DEFAULT 0,
  labor_sales_cents        bigint NOT NULL DEFAULT 0,
  parts_sales_cents        bigint NOT NULL DEFAULT 0,
  sublet_sales_cents       bigint NOT NULL DEFAULT 0,
  fee_total_cents          bigint NOT NULL DEFAULT 0,
  discount_total_cents     bigint NOT NULL DEFAULT 0,
  taxes_cents              bigint NOT NULL DEFAULT 0,
  parts_cost_cents         bigint NOT NULL DEFAULT 0,
  labor_cost_cents         bigint NOT NULL DEFAULT 0,
  sublet_cost_cents        bigint NOT NULL DEFAULT 0,
  parts_gross_profit_cents  bigint NOT NULL DEFAULT 0,
  labor_gross_profit_cents  bigint NOT NULL DEFAULT 0,
  sublet_gross_profit_cents bigint NOT NULL DEFAULT 0,
  gross_profit_cents       bigint NOT NULL DEFAULT 0,
  average_ro_cents         bigint NOT NULL DEFAULT 0,
  authorized_cents         bigint NOT NULL DEFAULT 0,
  presented_cents          bigint NOT NULL DEFAULT 0,
  labor_hours_sold         numeric(12,2) NOT NULL DEFAULT 0,
  -- Tekmetric's own repair-order totals for the day, and ours minus theirs.
  tm_total_sales_cents     bigint NOT NULL DEFAULT 0,
  variance_cents           bigint NOT NULL DEFAULT 0,
  computed_at              timestamptz(6) NOT NULL DEFAULT now(),
  PRIMARY KEY (shop_id, metric_date)
);
CREATE INDEX tm_daily_shop_metrics_business_idx ON tm_daily_shop_metrics (business_id, metric_date);

-- ---------------------------------------------------------------------------------------------------
-- 16. Technician daily metrics
-- ---------------------------------------------------------------------------------------------------
CREATE TABLE tm_tech_daily_metrics (
  shop_id            bigint NOT NULL REFERENCES tm_shops(id) ON DELETE CASCADE,
  metric_date        date NOT NULL,
  technician_id      bigint NOT NULL,
  business_id        uuid NOT NULL,
  hours_sold         numeric(12,2) NOT NULL DEFAULT 0,
  hours_worked       numeric(12,2) NOT NULL DEFAULT 0,
  efficiency_percent numeric(8,2),
  labor_sales_cents  bigint NOT NULL DEFAULT 0,
  labor_cost_cents   bigint NOT NULL DEFAULT 0,
  pay_rate_cents     bigint NOT NULL DEFAULT 0,
  rate_source        text NOT NULL CHECK (rate_source IN ('assigned', 'shop_avg', 'default')),
  job_count          integer NOT NULL DEFAULT 0,
  ro_count           integer NOT NULL DEFAULT 0,
  computed_at        timestamptz(6) NOT NULL DEFAULT now(),
  PRIMARY KEY (shop_id, metric_date, technician_id)
);
CREATE INDEX tm_tech_daily_metrics_business_idx ON tm_tech_daily_metrics (business_id, metric_date);

-- ---------------------------------------------------------------------------------------------------
-- Sync machinery: runs (one lifecycle, core/tekmetric/sync/runs.ts), their log per shop and entity,
-- cursors per shop and entity, raw payloads (optional, kept TEKMETRIC_RAW_RETENTION_DAYS).
-- ---------------------------------------------------------------------------------------------------
CREATE TABLE tm_sync_runs (
  id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  connection_id   uuid REFERENCES tekmetric_connections(id) ON DELETE SET NULL,
  shop_id         bigint REFERENCES tm_shops(id) ON DELETE CASCADE,
  business_id     uuid REFERENCES businesses(id) ON DELETE CASCADE,
  kind            text NOT NULL CHECK (kind IN ('incremental', 'backfill', 'entities', 'repair_order')),
  entities        text[] NOT NULL DEFAULT '{}',
  params          jsonb NOT NULL DEFAULT '{}',
  status          text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
  trigger         text NOT NULL DEFAULT 'manual' CHECK (trigger IN ('manual', 'schedule', 'cli', 'demo')),
  progress        jsonb NOT NULL DEFAULT '{}',
  counts          jsonb NOT NULL DEFAULT '{}',
  error           text,
  requested_by    uuid REFERENCES users(id) ON DELETE SET NULL,
  job_id          uuid,
  created_at      timestamptz(6) NOT NULL DEFAULT now(),
  started_at      timestamptz(6),
  heartbeat_at    timestamptz(6),
  finished_at     timestamptz(6)
);
CREATE INDEX tm_sync_runs_shop_idx ON tm_sync_runs (shop_id, created_at DESC);
CREATE INDEX tm_sync_runs_open_idx ON tm_sync_runs (status) WHERE status IN ('queued', 'running');

CREATE TABLE tm_sync_log (
  id            bigserial PRIMARY KEY,
  run_id        uuid NOT NULL REFERENCES tm_sync_runs(id) ON DELETE CASCADE,
  shop_id       bigint NOT NULL REFERENCES tm_shops(id) ON DELETE CASCADE,
  business_id   uuid NOT NULL,
  entity        text NOT NULL CHECK (entity IN ('shops', 'employees', 'customers', 'vehicles', 'repair_orders', 'appointments')),
  status        text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'succeeded', 'failed')),
  started_at    timestamptz(6) NOT NULL DEFAULT now(),
  finished_at   timestamptz(6),
  requests      integer NOT NULL DEFAULT 0,
  pages         integer NOT NULL DEFAULT 0,
  fetched       integer NOT NULL DEFAULT 0,
  written       integer NOT NULL DEFAULT 0,
  deleted       integer NOT NULL DEFAULT 0,
  error         text,
  CONSTRAINT tm_sync_log_run_shop_entity_key UNIQUE (run_id, shop_id, entity)
);
CREATE INDEX tm_sync_log_shop_entity_idx ON tm_sync_log (shop_id, entity, started_at DESC);

-- A cursor per shop and stream ("customers" and "customers_deleted" are separate calls upstream).
-- `updated_through`: every record updated (or deleted) up to it is synced. A window reads every record
-- changed since `window_start` (open-ended); unfinished, it is resumed at `next_page`. `window_end` is the
-- latest change seen in it so far, `window_opened_at` when it was opened (our clock): the next cursor is
-- the lesser of the two, so a record stamped ahead of our clock cannot carry the cursor past changes still
-- to come. `window_total` is its first page's totalElements: a window whose membership changed meanwhile
-- is re-read from its first page instead of skipping a record.
CREATE TABLE tm_sync_cursors (
  shop_id          bigint NOT NULL REFERENCES tm_shops(id) ON DELETE CASCADE,
  stream           text NOT NULL CHECK (stream IN ('employees', 'customers', 'customers_deleted', 'vehicles', 'vehicles_deleted',
                                                     'repair_orders', 'repair_orders_deleted', 'appointments')),
  business_id      uuid NOT NULL,
  updated_through  timestamptz(6),
  window_start     timestamptz(6),
  window_end       timestamptz(6),
  window_opened_at timestamptz(6),
  next_page        integer NOT NULL DEFAULT 0 CHECK (next_page >= 0),
  window_total     integer,
  rows_synced      bigint NOT NULL DEFAULT 0,
  last_run_id      uuid REFERENCES tm_sync_runs(id) ON DELETE SET NULL,
  last_success_at  timestamptz(6),
  last_error       text,
  last_error_at    timestamptz(6),
  updated_at       timestamptz(6) NOT NULL DEFAULT now(),
  PRIMARY KEY (shop_id, stream)
);

CREATE TABLE tm_raw_payloads (
  id            bigserial PRIMARY KEY,
  shop_id       bigint NOT NULL REFERENCES tm_shops(id) ON DELETE CASCADE,
  business_id   uuid NOT NULL,
  run_id        uuid REFERENCES tm_sync_runs(id) ON DELETE SET NULL,
  entity        text NOT NULL,
  tekmetric_id  bigint,
  payload       jsonb NOT NULL,
  fetched_at    timestamptz(6) NOT NULL DEFAULT now()
);
CREATE INDEX tm_raw_payloads_fetched_at_idx ON tm_raw_payloads (fetched_at);
CREATE INDEX tm_raw_payloads_entity_idx ON tm_raw_payloads (shop_id, entity, tekmetric_id);

-- ---------------------------------------------------------------------------------------------------
-- Shop isolation for the reporting role (core/warehouse/reporting.ts sets the settings per transaction):
-- `backhouse.business_id` as for the canonical tables, and `backhouse.shop_ids` (an array of our shops' ids,
-- read by reporting_shop_ids() from the gold migration) for a reader limited to some shops. RLS is enabled on
-- every Tekmetric table; the app's own role owns them (the sync writes as it, like the canonical tables), the
-- reporting role sees the visible shops only.
-- ---------------------------------------------------------------------------------------------------

-- The Tekmetric shops the reader may see (evaluated under tm_shops' own policy).
CREATE FUNCTION reporting_tm_shop_visible(tm_shop bigint) RETURNS boolean LANGUAGE sql STABLE
  AS $$ SELECT EXISTS (SELECT 1 FROM tm_shops s WHERE s.id = tm_shop) $$;
GRANT EXECUTE ON FUNCTION reporting_tm_shop_visible(bigint) TO backhouse_reporting;

ALTER TABLE tm_shops ENABLE ROW LEVEL SECURITY;
GRANT SELECT ON tm_shops TO backhouse_reporting;
CREATE POLICY tm_shops_reporting ON tm_shops FOR SELECT TO backhouse_reporting
  USING (business_id = reporting_business_id() AND (reporting_shop_ids() IS NULL OR backhouse_shop_id = ANY (reporting_shop_ids())));

DO $$
DECLARE
  tbl text;
BEGIN
  FOREACH tbl IN ARRAY ARRAY['tm_employees', 'tm_customers', 'tm_vehicles', 'tm_repair_orders', 'tm_jobs', 'tm_job_parts',
                             'tm_job_labor', 'tm_sublets', 'tm_fees', 'tm_discounts', 'tm_concerns', 'tm_appointments',
                             'tm_ro_snapshots', 'tm_daily_shop_metrics', 'tm_tech_daily_metrics', 'tm_sync_cursors',
                             'tm_sync_log', 'tm_raw_payloads']
  LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', tbl);
    EXECUTE format('CREATE POLICY %I ON %I FOR SELECT TO backhouse_reporting USING (business_id = reporting_business_id() AND reporting_tm_shop_visible(shop_id))', tbl || '_reporting', tbl);
    IF tbl NOT IN ('tm_customers', 'tm_raw_payloads') THEN
      EXECUTE format('GRANT SELECT ON %I TO backhouse_reporting', tbl);
    END IF;
  END LOOP;
END
$$;

-- Customers: the reporting role may read only the columns without personal data; raw payloads not at all.
GRANT SELECT (shop_id, id, business_id, customer_type_id, ok_for_marketing, created_date, updated_date, deleted_at) ON tm_customers TO backhouse_reporting;
GRANT SELECT ON tm_repair_order_statuses TO backhouse_reporting;

-- The PII-free customer view for dashboards and managers: no names, email, phones, address, notes or
-- birthday; counts and sales from the customer's repair orders. security_invoker: the reader's RLS applies.
CREATE VIEW customers_analytics WITH (security_invoker = true) AS
SELECT c.shop_id, c.id AS customer_id, c.business_id, c.customer_type_id, c.ok_for_marketing,
       c.created_date, c.deleted_at IS NOT NULL AS deleted,
       count(ro.id) FILTER (WHERE ro.status_id IN (5, 6) AND ro.deleted_at IS NULL)::integer AS posted_ro_count,
       coalesce(sum(ro.total_sales_cents) FILTER (WHERE ro.status_id IN (5, 6) AND ro.deleted_at IS NULL), 0)::bigint AS lifetime_sales_cents,
       min(ro.posted_date) AS first_posted_date,
       max(ro.posted_date) AS last_posted_date
FROM tm_customers c
LEFT JOIN tm_repair_orders ro ON ro.shop_id = c.shop_id AND ro.customer_id = c.id
GROUP BY c.shop_id, c.id, c.business_id, c.customer_type_id, c.ok_for_marketing, c.created_date, c.deleted_at;
GRANT SELECT ON customers_analytics TO backhouse_reporting;
