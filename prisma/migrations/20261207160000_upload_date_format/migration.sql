-- The date format a person typed for an upload's date column, where detection was unsure: the preview
-- shows the rows read with it, and the commit reads them the same way. Null: detected from the file.
ALTER TABLE upload_files ADD COLUMN date_format text;
