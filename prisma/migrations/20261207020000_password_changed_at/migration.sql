-- When a user's password was last set by a change (not at creation): tokens and admin sessions issued before
-- it stop working, so a reset password also ends whatever the old one had opened.
ALTER TABLE users ADD COLUMN password_changed_at timestamptz(6);
