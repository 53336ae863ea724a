-- A role that reads the dashboards granted to it and nothing else (core/auth/permissions.ts). Alone in its
-- migration: a new enum value cannot be used in the transaction that adds it.
ALTER TYPE user_role ADD VALUE IF NOT EXISTS 'dashboard_reader';
