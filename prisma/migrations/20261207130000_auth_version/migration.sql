-- Which of a user's sign-ins still count: every bearer token and admin session carries the version it was issued
-- under, and a password change or "end all sessions" bumps it, ending them all at once. A timestamp compared
-- to the token's issue time (to the second) let a token issued in the same second as the change survive it.
ALTER TABLE users ADD COLUMN auth_version integer NOT NULL DEFAULT 0;

-- Bearer tokens ended one by one (POST /api/auth/logout), kept until they would have expired anyway.
CREATE TABLE revoked_tokens (
  token_id   uuid PRIMARY KEY,
  user_id    uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  expires_at timestamptz(6) NOT NULL
);
CREATE INDEX revoked_tokens_expires_at_idx ON revoked_tokens (expires_at);
