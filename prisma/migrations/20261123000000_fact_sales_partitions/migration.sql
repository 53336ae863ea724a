-- Loading a large feed spent most of its time maintaining fact_sales's indexes row by row. A large feed now
-- gets a partition of its own: its facts go into a new table, whose indexes are built in one pass when it is
-- attached, and deleting or re-running the feed drops that table instead of deleting row by row. Small feeds
-- share one partition (segment 0). core/warehouse/loadFacts.ts decides which.

-- Staged rows live minutes; they need no write-ahead log. A database crash empties them, which the loader
-- reports as such (commit the upload again) instead of loading nothing.
ALTER TABLE staging_sales_items SET UNLOGGED;
ALTER TABLE staging_costs SET UNLOGGED;
-- Foreign keys checked row by row (a key-share lock on the feed and on the product per staged row) made staging
-- a million rows take longer than reading them. The loader joins products itself and deleting a feed removes
-- its staged rows and facts (core/records/definitions.ts), so these references are kept by the code instead.
ALTER TABLE staging_sales_items DROP CONSTRAINT staging_sales_items_data_feed_id_fkey, DROP CONSTRAINT staging_sales_items_product_id_fkey;
ALTER TABLE staging_costs DROP CONSTRAINT staging_costs_data_feed_id_fkey, DROP CONSTRAINT staging_costs_product_id_fkey;

DROP VIEW vw_sales_unified, vw_sales_daily, vw_sales_product_daily, vw_margin_daily, vw_cogs_daily, vw_returning_customers_daily;
ALTER TABLE fact_sales RENAME TO fact_sales_unpartitioned;
ALTER SEQUENCE fact_sales_id_seq OWNED BY NONE;

CREATE TABLE fact_sales (
  id                    bigint NOT NULL DEFAULT nextval('fact_sales_id_seq'),
  business_id           uuid NOT NULL,
  -- 0: the shared partition; otherwise the id of the feed whose own partition holds the row.
  segment               integer NOT NULL DEFAULT 0,
  -- No foreign key: deleting a feed drops its partition or deletes its rows of the shared one, in the same
  -- transaction (core/records/definitions.ts), and a key would be checked again for every attached row.
  data_feed_id          integer,
  source_row            integer,
  date_key              date NOT NULL,
  product_id            uuid,
  channel_id            integer,
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
  gross_margin_percent  numeric(9,2)
) PARTITION BY LIST (segment);
-- No primary key: a fact is traced by (data_feed_id, source_row), and `id` comes from a sequence. A unique index
-- would be one more index to build per large feed and to maintain per small one, guarding nothing the loader
-- could get wrong. Ids are handed out a thousand at a time per session, not one sequence update per row.
CREATE TABLE fact_sales_shared PARTITION OF fact_sales FOR VALUES IN (0);

INSERT INTO fact_sales (id, business_id, segment, data_feed_id, source_row, date_key, product_id, channel_id, customer_id, order_id,
                        quantity, unit_price, unit_cost, discount, gross_revenue, cogs_amount, gross_margin_amount, gross_margin_percent)
SELECT id, business_id, 0, data_feed_id, source_row, date_key, product_id, channel_id, customer_id, order_id,
       quantity, unit_price, unit_cost, discount, gross_revenue, cogs_amount, gross_margin_amount, gross_margin_percent
FROM fact_sales_unpartitioned;
DROP TABLE fact_sales_unpartitioned;
ALTER SEQUENCE fact_sales_id_seq OWNED BY fact_sales.id CACHE 1000;

CREATE INDEX idx_fs_biz_date_product ON fact_sales (business_id, date_key, product_id);
CREATE INDEX idx_fs_biz_customer ON fact_sales (business_id, customer_id, date_key);
-- Only the shared partition mixes feeds; a feed's own partition holds that feed alone.
CREATE INDEX idx_fs_shared_biz_feed ON fact_sales_shared (business_id, data_feed_id);

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

CREATE VIEW vw_returning_customers_daily AS
SELECT f.business_id, f.date_key, count(DISTINCT f.customer_id) AS returning_customers
FROM fact_sales f
JOIN dim_customer c ON c.business_id = f.business_id AND c.id = f.customer_id
WHERE f.date_key > c.first_seen
GROUP BY f.business_id, f.date_key;
