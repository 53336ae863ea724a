-- Outbound notifications (core/notify): the product's one way of telling other systems that something
-- happened (a pipeline run finished, a critical ingest alert, a failed sync). An admin subscribes a URL to
-- event types, for one business or for all (business_id NULL: every business's events and the system's).
-- The signing secret is stored sealed (core/sealedSecrets.ts), never as is.
CREATE TABLE webhooks (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  business_id   uuid REFERENCES businesses(id) ON DELETE CASCADE,
  name          text NOT NULL,
  url           text NOT NULL,
  event_types   text[] NOT NULL CHECK (cardinality(event_types) > 0),
  secret_sealed text NOT NULL,
  enabled       boolean NOT NULL DEFAULT true,
  created_by    uuid REFERENCES users(id) ON DELETE SET NULL,
  created_at    timestamptz(6) NOT NULL DEFAULT now(),
  updated_at    timestamptz(6) NOT NULL DEFAULT now()
);
CREATE INDEX webhooks_business_id_idx ON webhooks (business_id);

-- One row per event per webhook. `body` is the exact JSON sent (and signed) at every attempt; `payload` is
-- the event's data, for people to read and filter. A delivery is pending until delivered or failed (4xx, or
-- its attempts used up); `next_attempt_at` is when a worker may try it (also a short lease while it does).
CREATE TABLE webhook_deliveries (
  id               bigserial PRIMARY KEY,
  webhook_id       uuid NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
  business_id      uuid,
  event_id         uuid NOT NULL,
  event_type       text NOT NULL,
  payload          jsonb NOT NULL,
  body             text NOT NULL,
  status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
  attempts         int NOT NULL DEFAULT 0,
  last_status_code int,
  last_error       text,
  last_attempt_at  timestamptz(6),
  next_attempt_at  timestamptz(6),
  delivered_at     timestamptz(6),
  redelivery_of    bigint REFERENCES webhook_deliveries(id) ON DELETE SET NULL,
  created_at       timestamptz(6) NOT NULL DEFAULT now()
);
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (webhook_id, next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_webhook_id_created_at_idx ON webhook_deliveries (webhook_id, created_at DESC);
CREATE INDEX webhook_deliveries_event_id_idx ON webhook_deliveries (event_id);
