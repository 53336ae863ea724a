-- Staging a million-row feed spent a third of its time keeping the (data_feed_id, row_number) primary key
-- up to date, row by row (COPY of the staged rows: 5.4 s with it, 3.4 s without). Nothing needs it unique:
-- a commit writes each row number of its new feed once, in one transaction. What staging is asked is "the
-- rows of this feed", and a feed's rows are written together, so a BRIN index (a few bytes per 128 pages)
-- finds them. Autosummarize keeps it current as feeds are written, without waiting for a vacuum.
ALTER TABLE staging_sales_items DROP CONSTRAINT staging_sales_items_pkey;
CREATE INDEX staging_sales_items_feed ON staging_sales_items USING brin (data_feed_id, row_number) WITH (autosummarize = on);
ALTER TABLE staging_costs DROP CONSTRAINT staging_costs_pkey;
CREATE INDEX staging_costs_feed ON staging_costs USING brin (data_feed_id, row_number) WITH (autosummarize = on);
