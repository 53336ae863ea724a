-- Foundation: tenants (businesses, shops), people (users by role), products, the audit log,
-- admin sessions and login-attempt counters. Written by hand: see TOOLCHAIN.md (no migrate diff here).

CREATE EXTENSION IF NOT EXISTS pgcrypto;

CREATE TYPE user_role AS ENUM ('admin', 'ops', 'manager');

CREATE TABLE businesses (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name        text NOT NULL,
  timezone    text NOT NULL DEFAULT 'UTC',
  currency    char(3) NOT NULL DEFAULT 'USD',
  created_at  timestamptz(6) NOT NULL DEFAULT now(),
  updated_at  timestamptz(6) NOT NULL DEFAULT now()
);

CREATE TABLE shops (
  id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  business_id  uuid NOT NULL REFERENCES businesses(id) ON DELETE RESTRICT ON UPDATE CASCADE,
  name         text NOT NULL,
  code         text,
  created_at   timestamptz(6) NOT NULL DEFAULT now(),
  updated_at   timestamptz(6) NOT NULL DEFAULT now(),
  CONSTRAINT shops_business_id_name_key UNIQUE (business_id, name)
);
CREATE INDEX shops_business_id_idx ON shops (business_id);

CREATE TABLE users (
  id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  email          text NOT NULL,
  name           text,
  password_hash  text NOT NULL,
  role           user_role NOT NULL,
  business_id    uuid REFERENCES businesses(id) ON DELETE RESTRICT ON UPDATE CASCADE,
  shop_ids       uuid[] NOT NULL DEFAULT '{}',
  disabled       boolean NOT NULL DEFAULT false,
  last_login_at  timestamptz(6),
  created_at     timestamptz(6) NOT NULL DEFAULT now(),
  updated_at     timestamptz(6) NOT NULL DEFAULT now(),
  -- Everyone but an admin works inside one business.
  CONSTRAINT users_business_required CHECK (role = 'admin' OR business_id IS NOT NULL)
);
-- Emails are compared case-insensitively: the application stores them lower-cased.
CREATE UNIQUE INDEX users_email_key ON users (email);
CREATE INDEX users_business_id_idx ON users (business_id);

CREATE TABLE products (
  id                   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  business_id          uuid NOT NULL REFERENCES businesses(id) ON DELETE RESTRICT ON UPDATE CASCADE,
  name                 text NOT NULL,
  category             text,
  unit                 text NOT NULL DEFAULT 'each',
  selling_price_cents  integer NOT NULL CHECK (selling_price_cents >= 0),
  cost_price_cents     integer NOT NULL DEFAULT 0 CHECK (cost_price_cents >= 0),
  active               boolean NOT NULL DEFAULT true,
  created_at           timestamptz(6) NOT NULL DEFAULT now(),
  updated_at           timestamptz(6) NOT NULL DEFAULT now(),
  CONSTRAINT products_business_id_name_key UNIQUE (business_id, name)
);

CREATE TABLE audit_log (
  id           bigserial PRIMARY KEY,
  at           timestamptz(6) NOT NULL DEFAULT now(),
  user_id      uuid,
  user_email   text,
  business_id  uuid,
  resource     text NOT NULL,
  record_id    text,
  action       text NOT NULL,
  before       jsonb,
  after        jsonb,
  request_id   text
);
CREATE INDEX audit_log_resource_record_id_idx ON audit_log (resource, record_id);
CREATE INDEX audit_log_at_idx ON audit_log (at);

-- express-session store (the connect-pg-simple layout), so sessions survive restarts and span processes.
CREATE TABLE admin_sessions (
  sid     varchar PRIMARY KEY,
  sess    jsonb NOT NULL,
  expire  timestamp(6) NOT NULL
);
CREATE INDEX admin_sessions_expire_idx ON admin_sessions (expire);

-- Failed sign-in counters (the rate-limiter-flexible PostgreSQL layout), shared by every web process.
CREATE TABLE login_attempts (
  key     varchar(255) PRIMARY KEY,
  points  integer NOT NULL DEFAULT 0,
  expire  bigint
);

-- Secrets the product generates for itself when the environment gives none (signing keys for
-- sessions and tokens), shared by every process that uses this database.
CREATE TABLE app_secrets (
  name        text PRIMARY KEY,
  value       text NOT NULL,
  created_at  timestamptz(6) NOT NULL DEFAULT now()
);
