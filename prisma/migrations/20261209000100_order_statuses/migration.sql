-- Order statuses (issue 20): mappings now normalise an export's statuses to the product's own by default
-- (core/mapping/statuses.ts: "storniert", "Voided", "Reembolsado" → cancelled, refunded…). Revenue leaves out
-- orders that were never a sale or were given back: cancelled (and the older spellings a hand-written transform
-- produced: canceled, void, voided), refunded and failed. A partially refunded order still counts.
CREATE OR REPLACE FUNCTION kpi_counts_as_sale(status text) RETURNS boolean LANGUAGE sql IMMUTABLE
  AS $$ SELECT lower(btrim(coalesce(status, ''))) NOT IN ('cancelled', 'canceled', 'void', 'voided', 'refunded', 'failed') $$;

-- The views over orders read the new rule at their next refresh: mark orders changed so that the
-- every-minute refresh of changed views takes them.
INSERT INTO warehouse_changes (source, version) VALUES ('canonical_orders', 1)
ON CONFLICT (source) DO UPDATE SET version = warehouse_changes.version + 1, changed_at = now();
