-- Data feeds: uploads kept under a token, feeds and their status, staging tables, the sales warehouse
-- (dimensions, fact_sales with revenue, COGS and margin, and the reporting views).
-- Large tables lead their keys with business_id so they can be distributed by business later.

-- Uploaded files, kept in PostgreSQL in 1 MiB chunks until they expire: any web process can preview
-- and any can commit, and nothing lives in a process memory.
CREATE TABLE upload_files (
  token        uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  business_id  uuid NOT NULL REFERENCES businesses(id) ON DELETE CASCADE,
  user_id      uuid REFERENCES users(id) ON DELETE SET NULL,
  data_type    text NOT NULL CHECK (data_type IN ('sales', 'costs')),
  filename     text NOT NULL,
  byte_size    bigint NOT NULL DEFAULT 0,
  created_at   timestamptz(6) NOT NULL DEFAULT now(),
  expires_at   timestamptz(6) NOT NULL
);
CREATE INDEX upload_files_expires_at_idx ON upload_files (expires_at);

CREATE TABLE upload_chunks (
  token  uuid NOT NULL REFERENCES upload_files(token) ON DELETE CASCADE,
  seq    integer NOT NULL,
  data   bytea NOT NULL,
  PRIMARY KEY (token, seq)
);

CREATE TYPE data_feed_status AS ENUM ('processing', 'queued', 'transforming', 'transformed', 'failed');

CREATE TABLE data_feeds (
  id            serial PRIMARY KEY,
  business_id   uuid NOT NULL REFERENCES businesses(id) ON DELETE RESTRICT,
  user_id       uuid REFERENCES users(id) ON DELETE SET NULL,
  data_type     text NOT NULL CHECK (data_type IN ('sales', 'costs')),
  filename      text NOT NULL,
  upload_token  uuid,
  status        data_feed_status NOT NULL DEFAULT 'processing',
  record_count  integer NOT NULL DEFAULT 0,
  summary       jsonb NOT NULL DEFAULT '{}',
  created_at    timestamptz(6) NOT NULL DEFAULT now(),
  updated_at    timestamptz(6) NOT NULL DEFAULT now()
);
CREATE INDEX data_feeds_business_id_created_at_idx ON data_feeds (business_id, created_at DESC);

CREATE TABLE staging_sales_items (
  data_feed_id      integer NOT NULL REFERENCES data_feeds(id) ON DELETE CASCADE,
  row_number        integer NOT NULL,
  business_id       uuid NOT NULL,
  product_id        uuid REFERENCES products(id) ON DELETE SET NULL,
  product_name      text NOT NULL,
  quantity          numeric(18,4) NOT NULL,
  unit_price        numeric(18,2) NOT NULL,
  discount          numeric(18,2) NOT NULL DEFAULT 0,
  transaction_date  date NOT NULL,
  customer          text,
  channel           text,
  order_id          text,
  PRIMARY KEY (data_feed_id, row_number)
);

CREATE TABLE staging_costs (
  data_feed_id  integer NOT NULL REFERENCES data_feeds(id) ON DELETE CASCADE,
  row_number    integer NOT NULL,
  business_id   uuid NOT NULL,
  product_id    uuid REFERENCES products(id) ON DELETE SET NULL,
  product_name  text NOT NULL,
  cost          numeric(18,4) NOT NULL,
  cost_date     date NOT NULL,
  cost_type     text NOT NULL,
  PRIMARY KEY (data_feed_id, row_number)
);

-- Cost history from cost feeds. A "purchase" cost also sets products.cost_price_cents; every other type
-- (labour, packaging, energy…) is a production cost: a product costs its cost price plus, per type,
-- the latest production cost in force on the day of the sale.
CREATE TABLE product_costs (
  id              bigserial,
  business_id     uuid NOT NULL REFERENCES businesses(id) ON DELETE CASCADE,
  product_id      uuid NOT NULL REFERENCES products(id) ON DELETE CASCADE,
  cost_type       text NOT NULL,
  amount          numeric(18,4) NOT NULL CHECK (amount >= 0),
  effective_from  date NOT NULL,
  data_feed_id    integer REFERENCES data_feeds(id) ON DELETE CASCADE,
  created_at      timestamptz(6) NOT NULL DEFAULT now(),
  PRIMARY KEY (business_id, id)
);
CREATE INDEX product_costs_lookup_idx ON product_costs (business_id, product_id, cost_type, effective_from DESC);

CREATE TABLE dim_date (
  date_key     date PRIMARY KEY,
  year         smallint NOT NULL,
  quarter      smallint NOT NULL,
  month        smallint NOT NULL,
  day          smallint NOT NULL,
  iso_week     smallint NOT NULL,
  day_of_week  smallint NOT NULL
);

CREATE TABLE dim_channel (
  id    serial PRIMARY KEY,
  name  text NOT NULL UNIQUE
);
INSERT INTO dim_channel (name) VALUES ('Online'), ('Offline') ON CONFLICT DO NOTHING;

CREATE TABLE dim_customer (
  id            bigserial,
  business_id   uuid NOT NULL REFERENCES businesses(id) ON DELETE CASCADE,
  customer_key  text NOT NULL,
  first_seen    date NOT NULL,
  PRIMARY KEY (business_id, id),
  CONSTRAINT dim_customer_business_id_customer_key_key UNIQUE (business_id, customer_key)
);

CREATE TABLE fact_sales (
  id                    bigserial,
  business_id           uuid NOT NULL REFERENCES businesses(id) ON DELETE CASCADE,
  data_feed_id          integer REFERENCES data_feeds(id) ON DELETE CASCADE,
  source_row            integer,
  date_key              date NOT NULL REFERENCES dim_date(date_key),
  product_id            uuid REFERENCES products(id) ON DELETE SET NULL,
  channel_id            integer REFERENCES dim_channel(id),
  customer_id           bigint,
  order_id              text,
  quantity              numeric(18,4) NOT NULL,
  unit_price            numeric(18,2) NOT NULL,
  unit_cost             numeric(18,4) NOT NULL DEFAULT 0,
  discount              numeric(18,2) NOT NULL DEFAULT 0,
  gross_revenue         numeric(18,2) NOT NULL,
  cogs_amount           numeric(18,2) NOT NULL,
  gross_margin_amount   numeric(18,2) NOT NULL,
  -- Percent of revenue; wider than the source document's decimal(5,2), which overflows for losses under -999.99 %.
  gross_margin_percent  numeric(9,2),
  PRIMARY KEY (business_id, id)
);
CREATE INDEX idx_fs_biz_date_product ON fact_sales (business_id, date_key, product_id);
CREATE INDEX idx_fs_biz_feed ON fact_sales (business_id, data_feed_id);
CREATE INDEX idx_fs_biz_customer ON fact_sales (business_id, customer_id, date_key);

CREATE VIEW vw_sales_unified AS
SELECT f.business_id, f.id AS fact_id, f.data_feed_id, f.source_row, f.date_key, d.year, d.quarter, d.month, d.iso_week,
       f.product_id, p.name AS product_name, p.category AS product_category, c.name AS channel, f.customer_id, f.order_id,
       f.quantity, f.unit_price, f.unit_cost, f.discount, f.gross_revenue, f.cogs_amount, f.gross_margin_amount, f.gross_margin_percent
FROM fact_sales f
JOIN dim_date d ON d.date_key = f.date_key
LEFT JOIN products p ON p.id = f.product_id
LEFT JOIN dim_channel c ON c.id = f.channel_id;

CREATE VIEW vw_sales_daily AS
SELECT business_id, date_key, sum(quantity) AS quantity, sum(gross_revenue) AS gross_revenue, sum(discount) AS discount,
       sum(cogs_amount) AS cogs_amount, sum(gross_margin_amount) AS gross_margin_amount,
       round(100 * sum(gross_margin_amount) / NULLIF(sum(gross_revenue), 0), 2) AS gross_margin_percent,
       count(*) AS lines, count(DISTINCT order_id) AS orders
FROM fact_sales GROUP BY business_id, date_key;

CREATE VIEW vw_sales_product_daily AS
SELECT business_id, date_key, product_id, sum(quantity) AS quantity, sum(gross_revenue) AS gross_revenue,
       sum(cogs_amount) AS cogs_amount, sum(gross_margin_amount) AS gross_margin_amount,
       round(100 * sum(gross_margin_amount) / NULLIF(sum(gross_revenue), 0), 2) AS gross_margin_percent
FROM fact_sales GROUP BY business_id, date_key, product_id;

CREATE VIEW vw_margin_daily AS
SELECT business_id, date_key, sum(gross_margin_amount) AS gross_margin_amount,
       round(100 * sum(gross_margin_amount) / NULLIF(sum(gross_revenue), 0), 2) AS gross_margin_percent
FROM fact_sales GROUP BY business_id, date_key;

CREATE VIEW vw_cogs_daily AS
SELECT business_id, date_key, sum(cogs_amount) AS cogs_amount, sum(quantity) AS quantity
FROM fact_sales GROUP BY business_id, date_key;

-- A customer is new on the first day they appear in the warehouse, returning on every later day they buy.
CREATE VIEW vw_new_customers_daily AS
SELECT business_id, first_seen AS date_key, count(*) AS new_customers
FROM dim_customer GROUP BY business_id, first_seen;

CREATE VIEW vw_returning_customers_daily AS
SELECT f.business_id, f.date_key, count(DISTINCT f.customer_id) AS returning_customers
FROM fact_sales f
JOIN dim_customer c ON c.business_id = f.business_id AND c.id = f.customer_id
WHERE f.date_key > c.first_seen
GROUP BY f.business_id, f.date_key;
