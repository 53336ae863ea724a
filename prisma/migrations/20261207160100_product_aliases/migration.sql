-- Other names of a business's products, as its files write them ("Croissant (butter)" for "Butter
-- Croissant"), chosen by a person from a feed's preview. A file's name is matched to its alias before any
-- fuzzy match, in the preview and in the commit alike. alias_key is the name compared without case,
-- accents or punctuation, so "CROISSANT - butter" finds the alias too.
CREATE TABLE product_aliases (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  business_id uuid NOT NULL REFERENCES businesses(id) ON DELETE RESTRICT,
  alias       text NOT NULL,
  alias_key   text NOT NULL,
  product_id  uuid NOT NULL REFERENCES products(id) ON DELETE CASCADE,
  created_by  uuid REFERENCES users(id) ON DELETE SET NULL,
  created_at  timestamptz(6) NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX product_aliases_business_id_alias_key_key ON product_aliases (business_id, alias_key);
CREATE INDEX product_aliases_product_id_idx ON product_aliases (product_id);
