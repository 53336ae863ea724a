-- No query reads fact_sales by customer: the customer views aggregate whole days of a business, which
-- idx_fs_biz_date_product serves. The index cost every large feed a second sorted pass over its million
-- facts when its partition was attached, and every small feed a second index insert per fact.
DROP INDEX idx_fs_biz_customer;
