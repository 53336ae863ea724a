-- Silver (issue 17): the transactions of bronze's events, checked, with their line items linked to the
-- business's products. The worker (core/ingest/silver.ts) moves events in set-based batches; every batch
-- leaves an ingest_etl_runs row, every failed data-quality rule a data_quality_alerts row.

-- One row per business transaction (business, store, the device's transaction id): a re-sent transaction
-- with other content is a new bronze event that replaces this row's content (event_id follows it).
CREATE TABLE transactions (
  id             bigserial PRIMARY KEY,
  business_id    uuid NOT NULL REFERENCES businesses(id) ON DELETE RESTRICT,
  shop_id        uuid NOT NULL REFERENCES shops(id) ON DELETE RESTRICT,
  store_code     text NOT NULL,
  transaction_id text NOT NULL,
  event_id       bigint NOT NULL REFERENCES ingest_events(id) ON DELETE RESTRICT,
  occurred_at    timestamptz(6) NOT NULL,
  total_cents    bigint NOT NULL,
  currency       char(3) NOT NULL,
  item_count     int NOT NULL,
  simulated      boolean NOT NULL DEFAULT false,
  processed_at   timestamptz(6) NOT NULL DEFAULT now(),
  CONSTRAINT transactions_business_store_transaction_key UNIQUE (business_id, store_code, transaction_id)
);
CREATE INDEX idx_silver_transactions_processed ON transactions (processed_at);
CREATE INDEX transactions_business_occurred_idx ON transactions (business_id, occurred_at);
CREATE INDEX transactions_event_id_idx ON transactions (event_id);

CREATE TABLE transaction_items (
  id                bigserial PRIMARY KEY,
  business_id       uuid NOT NULL REFERENCES businesses(id) ON DELETE RESTRICT,
  transaction_pk    bigint NOT NULL REFERENCES transactions(id) ON DELETE CASCADE,
  line_no           int NOT NULL CHECK (line_no >= 1),
  source_product_id text,
  product_name      text NOT NULL,
  brand             text,
  qty               numeric(12,3) NOT NULL,
  unit_price_cents  bigint NOT NULL,
  line_amount_cents bigint NOT NULL,
  product_id        uuid REFERENCES products(id) ON DELETE SET NULL,
  -- remembered | confirmed | exact_id | exact_name | alias | fuzzy; null while unlinked
  link_method       text,
  link_confidence   numeric(4,3) CHECK (link_confidence BETWEEN 0 AND 1),
  updated_at        timestamptz(6) NOT NULL DEFAULT now(),
  CONSTRAINT transaction_items_transaction_line_key UNIQUE (transaction_pk, line_no)
);
-- The document's indexes: items by transaction (joins; the unique key above leads with it too) and by update (ETL batches).
CREATE INDEX idx_line_items_transaction ON transaction_items (transaction_pk);
CREATE INDEX idx_line_items_updated ON transaction_items (updated_at);
CREATE INDEX transaction_items_business_product_idx ON transaction_items (business_id, product_id);

-- What a store's product (its id and name as its devices send them) is in the business's catalog: found by the
-- matcher (auto), waiting for a person (review: below the confidence threshold, or no candidate at all), or
-- chosen by one (confirmed). The worker links a line through this row before asking the matcher again.
CREATE TABLE ingest_product_links (
  id                bigserial PRIMARY KEY,
  business_id       uuid NOT NULL REFERENCES businesses(id) ON DELETE RESTRICT,
  shop_id           uuid NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
  -- '' when the device sends no product id
  source_product_id text NOT NULL DEFAULT '',
  product_name      text NOT NULL,
  -- lower(btrim(product_name)): the name as lines are joined to this row
  name_key          text NOT NULL,
  product_id        uuid REFERENCES products(id) ON DELETE SET NULL,
  status            text NOT NULL CHECK (status IN ('auto', 'review', 'confirmed')),
  method            text NOT NULL,
  confidence        numeric(4,3) NOT NULL CHECK (confidence BETWEEN 0 AND 1),
  -- the matcher's best candidates [{product_id, product_name, score}], shown in the review queue
  candidates        jsonb NOT NULL DEFAULT '[]',
  confirmed_by      uuid REFERENCES users(id) ON DELETE SET NULL,
  confirmed_at      timestamptz(6),
  created_at        timestamptz(6) NOT NULL DEFAULT now(),
  updated_at        timestamptz(6) NOT NULL DEFAULT now(),
  CONSTRAINT ingest_product_links_store_product_key UNIQUE (business_id, shop_id, source_product_id, name_key)
);
CREATE INDEX ingest_product_links_review_idx ON ingest_product_links (business_id, created_at) WHERE status = 'review';

-- Per business: the amount above which a transaction is flagged, and how far in the future a timestamp may be.
CREATE TABLE ingest_quality_settings (
  business_id              uuid PRIMARY KEY REFERENCES businesses(id) ON DELETE CASCADE,
  max_transaction_cents    bigint NOT NULL DEFAULT 1000000 CHECK (max_transaction_cents > 0),
  future_tolerance_seconds int NOT NULL DEFAULT 300 CHECK (future_tolerance_seconds >= 0),
  updated_at               timestamptz(6) NOT NULL DEFAULT now()
);

-- One row per silver batch (the health views read it).
CREATE TABLE ingest_etl_runs (
  id                   bigserial PRIMARY KEY,
  started_at           timestamptz(6) NOT NULL,
  finished_at          timestamptz(6) NOT NULL DEFAULT now(),
  events_claimed       int NOT NULL,
  transactions_written int NOT NULL,
  events_failed        int NOT NULL,
  alerts_opened        int NOT NULL DEFAULT 0,
  duration_ms          int NOT NULL,
  worker               text NOT NULL
);
CREATE INDEX idx_etl_processed_at ON ingest_etl_runs (finished_at);

-- A rule an event broke. The event is kept: its transaction is in silver (flagged), or, when it could not be
-- moved (unknown store, malformed), the event is failed and retryable. One alert per event and rule.
CREATE TABLE data_quality_alerts (
  id              bigserial PRIMARY KEY,
  business_id     uuid NOT NULL REFERENCES businesses(id) ON DELETE CASCADE,
  severity        text NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
  rule            text NOT NULL,
  event_id        bigint REFERENCES ingest_events(id) ON DELETE CASCADE,
  store_code      text,
  transaction_id  text,
  message         text NOT NULL,
  opened_at       timestamptz(6) NOT NULL DEFAULT now(),
  acknowledged_at timestamptz(6),
  acknowledged_by uuid REFERENCES users(id) ON DELETE SET NULL,
  CONSTRAINT data_quality_alerts_event_rule_key UNIQUE (event_id, rule)
);
CREATE INDEX data_quality_alerts_open_idx ON data_quality_alerts (business_id, opened_at DESC) WHERE acknowledged_at IS NULL;

-- The document's sanity checks over silver as it is now: one row per check with its failures; a critical
-- with failures > 0 means silver holds data nobody should report on.
CREATE FUNCTION silver_sanity_checks(p_business_id uuid DEFAULT NULL)
RETURNS TABLE (check_name text, severity text, failures bigint, detail text)
LANGUAGE sql STABLE AS $$
  WITH t AS (
    SELECT t.*, COALESCE(q.max_transaction_cents, 1000000) AS max_cents,
           (SELECT count(*) FROM transaction_items i WHERE i.transaction_pk = t.id) AS lines,
           (SELECT COALESCE(sum(i.line_amount_cents), 0) FROM transaction_items i WHERE i.transaction_pk = t.id) AS lines_cents,
           (SELECT count(*) FROM transaction_items i WHERE i.transaction_pk = t.id AND (i.line_amount_cents < 0 OR i.unit_price_cents < 0 OR i.qty < 0)) AS negative_lines
    FROM transactions t LEFT JOIN ingest_quality_settings q ON q.business_id = t.business_id
    WHERE p_business_id IS NULL OR t.business_id = p_business_id
  )
  SELECT 'negative_amounts', 'critical', count(*) FILTER (WHERE total_cents < 0 OR negative_lines > 0), 'transactions with a negative total or line'
  FROM t
  UNION ALL
  SELECT 'item_count_matches_lines', 'critical', count(*) FILTER (WHERE item_count <> lines), 'transactions whose item_count differs from their stored lines'
  FROM t
  UNION ALL
  SELECT 'line_items_sum_to_total', 'warning', count(*) FILTER (WHERE abs(lines_cents - total_cents) > abs(total_cents) * 0.01), 'transactions whose lines differ from the total by more than 1%'
  FROM t
  UNION ALL
  SELECT 'over_transaction_threshold', 'warning', count(*) FILTER (WHERE total_cents > max_cents), 'transactions above their business''s threshold'
  FROM t
  UNION ALL
  SELECT 'future_timestamps', 'warning', count(*) FILTER (WHERE occurred_at > processed_at + interval '5 minutes'), 'transactions dated after they were processed'
  FROM t
  UNION ALL
  SELECT 'unlinked_line_items', 'info',
         (SELECT count(*) FROM transaction_items i WHERE i.product_id IS NULL AND (p_business_id IS NULL OR i.business_id = p_business_id)),
         'line items not linked to a product (review queue)'
$$;
