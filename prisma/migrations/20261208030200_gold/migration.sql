-- Gold (issue 17): aggregates of silver that every silver batch folds its delta into, in its own
-- transaction (core/ingest/gold.ts, core/warehouse/aggregates.ts), so they are fresh at the batch's commit
-- and cost what the batch added. Every table keeps `simulated` as a dimension and the store (shop_id),
-- which a reader limited to some shops is kept to. Hours and days are the business's local ones.
-- Each has the unique index over its keys the fold upserts through, and a partial index on its count
-- <= 0 through which the fold removes rows that reached zero (and notices a count below zero).

ALTER TABLE businesses ADD COLUMN gold_excludes_simulated boolean NOT NULL DEFAULT false;

-- Sales per store and local hour: transactions, lines, units (sum of quantities), sales (transaction totals).
CREATE TABLE gold_sales_hourly (
  business_id   uuid NOT NULL,
  shop_id       uuid NOT NULL,
  simulated     boolean NOT NULL,
  hour          timestamp(0) NOT NULL,
  transactions  bigint NOT NULL,
  lines         bigint NOT NULL,
  units         numeric(18,3) NOT NULL,
  sales_cents   bigint NOT NULL
);
CREATE UNIQUE INDEX gold_sales_hourly_key ON gold_sales_hourly (business_id, shop_id, simulated, hour);
CREATE INDEX gold_sales_hourly_zero ON gold_sales_hourly (business_id) WHERE transactions <= 0;
CREATE INDEX gold_sales_hourly_business_hour_idx ON gold_sales_hourly (business_id, hour);

-- The same per store and local day: also the basket size's sums and counts (units and sales per transaction).
CREATE TABLE gold_sales_daily (
  business_id   uuid NOT NULL,
  shop_id       uuid NOT NULL,
  simulated     boolean NOT NULL,
  day           date NOT NULL,
  transactions  bigint NOT NULL,
  lines         bigint NOT NULL,
  units         numeric(18,3) NOT NULL,
  sales_cents   bigint NOT NULL
);
CREATE UNIQUE INDEX gold_sales_daily_key ON gold_sales_daily (business_id, shop_id, simulated, day);
CREATE INDEX gold_sales_daily_zero ON gold_sales_daily (business_id) WHERE transactions <= 0;
CREATE INDEX gold_sales_daily_business_day_idx ON gold_sales_daily (business_id, day);

-- Product mix per store and day: a linked line counts under its product (named from the catalog when read),
-- an unlinked one under the name the device sent (unlinked_name is null for linked lines).
CREATE TABLE gold_product_mix_daily (
  business_id    uuid NOT NULL,
  shop_id        uuid NOT NULL,
  simulated      boolean NOT NULL,
  day            date NOT NULL,
  product_id     uuid,
  unlinked_name  text,
  lines          bigint NOT NULL,
  units          numeric(18,3) NOT NULL,
  sales_cents    bigint NOT NULL
);
CREATE UNIQUE INDEX gold_product_mix_daily_key ON gold_product_mix_daily (business_id, shop_id, simulated, day, product_id, unlinked_name) NULLS NOT DISTINCT;
CREATE INDEX gold_product_mix_daily_zero ON gold_product_mix_daily (business_id) WHERE lines <= 0;
CREATE INDEX gold_product_mix_daily_business_day_idx ON gold_product_mix_daily (business_id, day);

-- Basket size histogram per store and day: transactions by their units (1, 2, 3, 4-5, 6-10, 11+; 0: none).
CREATE TABLE gold_basket_sizes_daily (
  business_id   uuid NOT NULL,
  shop_id       uuid NOT NULL,
  simulated     boolean NOT NULL,
  day           date NOT NULL,
  size_bucket   smallint NOT NULL,
  transactions  bigint NOT NULL,
  sales_cents   bigint NOT NULL
);
CREATE UNIQUE INDEX gold_basket_sizes_daily_key ON gold_basket_sizes_daily (business_id, shop_id, simulated, day, size_bucket);
CREATE INDEX gold_basket_sizes_daily_zero ON gold_basket_sizes_daily (business_id) WHERE transactions <= 0;

CREATE FUNCTION gold_basket_bucket(units numeric) RETURNS smallint LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN units <= 0 THEN 0 WHEN units <= 3 THEN ceil(units)::smallint WHEN units <= 5 THEN 4 WHEN units <= 10 THEN 6 ELSE 11 END::smallint
$$;
-- Labels that sort as the buckets do ('00' … '11+'), since charts order their axis by it.
CREATE FUNCTION gold_basket_label(bucket smallint) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE bucket WHEN 0 THEN '00' WHEN 1 THEN '01' WHEN 2 THEN '02' WHEN 3 THEN '03' WHEN 4 THEN '04-05' WHEN 6 THEN '06-10' ELSE '11+' END
$$;

-- ---------------------------------------------------------------------------------------------------
-- What dashboards read (through schema `reporting`, as the other warehouse views): the reader's business,
-- within it the reader's shops when they are limited to some (`backhouse.shop_ids`), and without simulated
-- rows when the business excludes them from its gold dashboards (read with the view owner's rights, as
-- the reporting role may not read businesses itself).
-- ---------------------------------------------------------------------------------------------------
CREATE FUNCTION reporting_shop_ids() RETURNS uuid[] LANGUAGE sql STABLE AS $$
  SELECT nullif(current_setting('backhouse.shop_ids', true), '')::uuid[]
$$;
GRANT EXECUTE ON FUNCTION reporting_shop_ids(), gold_basket_label(smallint), gold_basket_bucket(numeric) TO backhouse_reporting;

CREATE VIEW reporting.gold_sales_hourly WITH (security_barrier) AS
SELECT g.business_id, g.shop_id, coalesce(s.code, s.name) AS store, g.simulated,
       g.hour::date AS day, to_char(g.hour, 'YYYY-MM-DD HH24:00') AS hour, extract(hour FROM g.hour)::int AS hour_of_day,
       g.transactions, g.lines, g.units, (g.sales_cents / 100.0)::numeric(18,2) AS sales
FROM public.gold_sales_hourly g JOIN public.shops s ON s.id = g.shop_id
WHERE g.business_id = public.reporting_business_id()
  AND (public.reporting_shop_ids() IS NULL OR g.shop_id = ANY (public.reporting_shop_ids()))
  AND NOT (g.simulated AND EXISTS (SELECT FROM public.businesses x WHERE x.id = g.business_id AND x.gold_excludes_simulated));

CREATE VIEW reporting.gold_sales_daily WITH (security_barrier) AS
SELECT g.business_id, g.shop_id, coalesce(s.code, s.name) AS store, g.simulated, CASE WHEN g.simulated THEN 'simulated' ELSE 'real' END AS traffic,
       g.day, g.transactions, g.lines, g.units, (g.sales_cents / 100.0)::numeric(18,2) AS sales
FROM public.gold_sales_daily g JOIN public.shops s ON s.id = g.shop_id
WHERE g.business_id = public.reporting_business_id()
  AND (public.reporting_shop_ids() IS NULL OR g.shop_id = ANY (public.reporting_shop_ids()))
  AND NOT (g.simulated AND EXISTS (SELECT FROM public.businesses x WHERE x.id = g.business_id AND x.gold_excludes_simulated));

CREATE VIEW reporting.gold_product_mix_daily WITH (security_barrier) AS
SELECT g.business_id, g.shop_id, g.simulated, g.day, g.product_id,
       coalesce(p.name, g.unlinked_name, '(unknown product)') AS product_name,
       coalesce(p.category, CASE WHEN g.product_id IS NULL THEN '(not linked)' ELSE '(no category)' END) AS category,
       g.lines, g.units, (g.sales_cents / 100.0)::numeric(18,2) AS sales
FROM public.gold_product_mix_daily g LEFT JOIN public.products p ON p.id = g.product_id
WHERE g.business_id = public.reporting_business_id()
  AND (public.reporting_shop_ids() IS NULL OR g.shop_id = ANY (public.reporting_shop_ids()))
  AND NOT (g.simulated AND EXISTS (SELECT FROM public.businesses x WHERE x.id = g.business_id AND x.gold_excludes_simulated));

CREATE VIEW reporting.gold_basket_sizes_daily WITH (security_barrier) AS
SELECT g.business_id, g.shop_id, g.simulated, g.day, g.size_bucket, public.gold_basket_label(g.size_bucket) AS items_per_basket,
       g.transactions, (g.sales_cents / 100.0)::numeric(18,2) AS sales
FROM public.gold_basket_sizes_daily g
WHERE g.business_id = public.reporting_business_id()
  AND (public.reporting_shop_ids() IS NULL OR g.shop_id = ANY (public.reporting_shop_ids()))
  AND NOT (g.simulated AND EXISTS (SELECT FROM public.businesses x WHERE x.id = g.business_id AND x.gold_excludes_simulated));

-- Peak hours: the hourly aggregate by local weekday and hour (a view: it is the hourly table regrouped).
CREATE VIEW reporting.gold_peak_hours WITH (security_barrier) AS
SELECT g.business_id, g.shop_id, g.simulated, g.hour::date AS day,
       extract(isodow FROM g.hour)::int AS weekday, to_char(g.hour, 'ISODow Dy') AS weekday_name,
       extract(hour FROM g.hour)::int AS hour_of_day, to_char(g.hour, 'HH24:00') AS hour_label,
       g.transactions, (g.sales_cents / 100.0)::numeric(18,2) AS sales
FROM public.gold_sales_hourly g
WHERE g.business_id = public.reporting_business_id()
  AND (public.reporting_shop_ids() IS NULL OR g.shop_id = ANY (public.reporting_shop_ids()))
  AND NOT (g.simulated AND EXISTS (SELECT FROM public.businesses x WHERE x.id = g.business_id AND x.gold_excludes_simulated));

GRANT SELECT ON reporting.gold_sales_hourly, reporting.gold_sales_daily, reporting.gold_product_mix_daily, reporting.gold_basket_sizes_daily, reporting.gold_peak_hours TO backhouse_reporting;
