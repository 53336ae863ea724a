-- Issue 16: the same file loaded twice, whole-file previews, products priced from the file.

-- The SHA-256 of an upload's bytes, computed as it is stored, and kept on the feed committed from it: a file
-- committed before (same content) is recognised whatever its name. What the person chose when the preview
-- found rows already loaded (skip them, replace the earlier feeds, load anyway) is recorded on the feed.
ALTER TABLE upload_files ADD COLUMN content_sha256 text;
ALTER TABLE data_feeds ADD COLUMN content_sha256 text;
ALTER TABLE data_feeds ADD COLUMN duplicate_choice text CHECK (duplicate_choice IN ('skip', 'replace', 'load_anyway'));
CREATE INDEX data_feeds_content ON data_feeds (business_id, content_sha256) WHERE content_sha256 IS NOT NULL;

-- A whole-file check's findings, paged through by the upload page: every invalid row with its problems, and
-- every product the catalog lacks with its rows and the price the file gives it most often. Replaced at each
-- check of the upload; they go with it.
CREATE TABLE upload_invalid_rows (
  token       uuid NOT NULL REFERENCES upload_files(token) ON DELETE CASCADE,
  row_number  integer NOT NULL,
  issues      jsonb NOT NULL,
  PRIMARY KEY (token, row_number)
);
CREATE TABLE upload_new_products (
  token       uuid NOT NULL REFERENCES upload_files(token) ON DELETE CASCADE,
  name        text NOT NULL,
  row_count   integer NOT NULL,
  first_row   integer NOT NULL,
  -- The file's most frequent price for the product (the lowest among equally frequent ones); null if none is readable.
  price       numeric(18,2),
  PRIMARY KEY (token, name)
);

-- A product's cost may be unknown (created from a file that gives none): null, not 0, so that COGS is never
-- silently taken as 0.
ALTER TABLE products ALTER COLUMN cost_price_cents DROP NOT NULL;
ALTER TABLE products ALTER COLUMN cost_price_cents DROP DEFAULT;

-- A sale of a product whose cost is unknown has no cost of goods and no margin (null), rather than a COGS of
-- 0 that made its whole revenue margin: sums of COGS and margin cover the lines with a known cost, and a
-- margin percent is taken over those lines' revenue. The readers say how many products lack a cost.
ALTER TABLE fact_sales ALTER COLUMN unit_cost DROP NOT NULL;
ALTER TABLE fact_sales ALTER COLUMN unit_cost DROP DEFAULT;
ALTER TABLE fact_sales ALTER COLUMN cogs_amount DROP NOT NULL;
ALTER TABLE fact_sales ALTER COLUMN gross_margin_amount DROP NOT NULL;
