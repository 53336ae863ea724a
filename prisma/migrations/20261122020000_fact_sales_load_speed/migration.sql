-- Loading a million facts spent a third of its time checking foreign keys row by row. The loader
-- resolves every dimension itself (dates, channels, customers, products of the feed's business) in the
-- same transaction, so these checks only repeat it. The feed key stays: deleting a feed cascades to its facts.
ALTER TABLE fact_sales
  DROP CONSTRAINT fact_sales_business_id_fkey,
  DROP CONSTRAINT fact_sales_date_key_fkey,
  DROP CONSTRAINT fact_sales_product_id_fkey,
  DROP CONSTRAINT fact_sales_channel_id_fkey;
