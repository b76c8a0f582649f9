-- The exports bucket's invoice lines in Athena, with exact decimal types (docs/tables/README.md).
-- Replace BUCKET with the exports bucket (stack output ExportsBucketName) and run both statements.
--
-- Athena reads the JSON Lines copy (invoice-lines/jsonl/…): an Athena table reads every object
-- under its location, and the contract's CSV and JSON array share their folder. The raw table keeps
-- each value as the string the contract writes; the view casts the numbers to DECIMAL, so sums are
-- exact (never DOUBLE). Partition projection on `period` (one folder per billing month) needs no
-- MSCK REPAIR or crawler; each month's accounts are the folders under it, read as one partition.
CREATE EXTERNAL TABLE IF NOT EXISTS invoice_lines_raw (
  account_id string,
  line_id string,
  line_type string,
  product string,
  dimensions string,
  description string,
  quantity string,
  unit string,
  unit_price string,
  amount string,
  currency string,
  billing_channel string,
  reference_period string,
  tariff_version string
)
PARTITIONED BY (period string)
ROW FORMAT SERDE 'org.apache.hive.hcatalog.data.JsonSerDe'
LOCATION 's3://BUCKET/invoice-lines/jsonl/'
TBLPROPERTIES (
  'projection.enabled' = 'true',
  'projection.period.type' = 'date',
  'projection.period.format' = 'yyyy-MM',
  'projection.period.range' = '2020-01,NOW',
  'projection.period.interval' = '1',
  'projection.period.interval.unit' = 'MONTHS',
  'storage.location.template' = 's3://BUCKET/invoice-lines/jsonl/period=${period}/'
);

CREATE OR REPLACE VIEW invoice_lines AS
SELECT
  account_id,
  period,
  line_id,
  line_type,
  product,
  dimensions,
  description,
  CAST(quantity AS DECIMAL(38,12)) AS quantity,
  unit,
  CAST(unit_price AS DECIMAL(38,12)) AS unit_price,
  CAST(amount AS DECIMAL(38,4)) AS amount,
  currency,
  billing_channel,
  reference_period,
  tariff_version
FROM invoice_lines_raw;
