-- Streaming ingestion, bronze (issue 17): the API keys point-of-sale devices send with, and the raw events
-- they send, kept as received. Silver (transactions, transaction_items) is read from ingest_events.

-- A store's code is what devices send as store_id: one shop per code within a business.
CREATE UNIQUE INDEX shops_business_id_code_key ON shops (business_id, code) WHERE code IS NOT NULL;

-- The key itself is never stored: only its SHA-256 (a random 256-bit key needs no slow hash) and the
-- prefix shown in lists so a person can tell keys apart.
CREATE TABLE ingest_api_keys (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  business_id   uuid NOT NULL REFERENCES businesses(id) ON DELETE RESTRICT,
  name          text NOT NULL,
  key_prefix    text NOT NULL,
  key_hash      bytea NOT NULL,
  shop_ids      uuid[] NOT NULL DEFAULT '{}',
  created_by    uuid REFERENCES users(id) ON DELETE SET NULL,
  created_at    timestamptz(6) NOT NULL DEFAULT now(),
  revoked_at    timestamptz(6),
  last_used_at  timestamptz(6),
  CONSTRAINT ingest_api_keys_key_hash_key UNIQUE (key_hash)
);
CREATE INDEX ingest_api_keys_business_id_idx ON ingest_api_keys (business_id, created_at DESC);

-- Raw events. The event id (id) is what the 202 answers; (business_id, event_hash) makes a repeat of the
-- same transaction a no-op. status moves pending -> processed | failed under the silver worker.
CREATE TABLE ingest_events (
  id               bigserial PRIMARY KEY,
  business_id      uuid NOT NULL REFERENCES businesses(id) ON DELETE RESTRICT,
  shop_id          uuid REFERENCES shops(id) ON DELETE SET NULL,
  store_code       text NOT NULL,
  transaction_id   text NOT NULL,
  event_hash       bytea NOT NULL,
  payload          jsonb NOT NULL,
  received_at      timestamptz(6) NOT NULL DEFAULT now(),
  api_key_id       uuid REFERENCES ingest_api_keys(id) ON DELETE SET NULL,
  idempotency_key  text,
  simulated        boolean NOT NULL DEFAULT false,
  status           text NOT NULL DEFAULT 'pending',
  attempts         int NOT NULL DEFAULT 0,
  error            text,
  processed_at     timestamptz(6),
  CONSTRAINT ingest_events_status_check CHECK (status IN ('pending', 'processed', 'failed')),
  CONSTRAINT ingest_events_business_id_event_hash_key UNIQUE (business_id, event_hash)
);
-- The silver worker claims the oldest pending events; processed ones leave this index.
CREATE INDEX ingest_events_pending_idx ON ingest_events (id) WHERE status = 'pending';
-- An Idempotency-Key names one body per key: a second body under it is refused (422).
CREATE UNIQUE INDEX ingest_events_idempotency_key ON ingest_events (api_key_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
-- Throughput per minute and the key's request rate read by time.
CREATE INDEX ingest_events_received_at_idx ON ingest_events (business_id, received_at);
