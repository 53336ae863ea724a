-- IBAN columns are flagged as personal data (core/mapping/pii.ts), so a field mapping records that kind
-- too: the CHECK of 20261123010000_canonical_mapping predates IBAN detection and refused it.
ALTER TABLE field_mappings DROP CONSTRAINT field_mappings_pii_kind_check;
ALTER TABLE field_mappings ADD CONSTRAINT field_mappings_pii_kind_check CHECK (pii_kind IN ('email', 'phone', 'card', 'iban', 'address'));
