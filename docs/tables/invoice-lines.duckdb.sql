-- The exports bucket's invoice lines in DuckDB, with exact decimal types (docs/tables/README.md).
-- Money stays decimal: DuckDB's own detection reads `amount` as DOUBLE (100.30999999999999).
--
-- Set where the bucket is, then run this file (`duckdb -c ".read docs/tables/invoice-lines.duckdb.sql"`):
--   SET VARIABLE exports_root = 's3://BUCKET';   -- with the httpfs extension and S3 credentials
--   SET VARIABLE exports_root = '/path/to/a/copy'; -- `aws s3 sync s3://BUCKET/invoice-lines …/invoice-lines`
-- Then e.g.: SELECT period, currency, billing_channel, sum(amount) FROM invoice_lines GROUP BY ALL;
--
-- One CSV object per closed account and period (contract §4 CSV: header, comma, double quotes);
-- `period` is each row's billing period (the partition folder's value), `reference_period` the
-- period an adjustment corrects.
CREATE OR REPLACE VIEW invoice_lines AS
SELECT *
FROM read_csv(
  getvariable('exports_root') || '/invoice-lines/period=*/account=*/lines.csv',
  header = true,
  delim = ',',
  quote = '"',
  escape = '"',
  auto_detect = false,
  hive_partitioning = false,
  columns = {
    'account_id': 'VARCHAR',
    'period': 'VARCHAR',
    'line_id': 'VARCHAR',
    'line_type': 'VARCHAR',
    'product': 'VARCHAR',
    'dimensions': 'VARCHAR',
    'description': 'VARCHAR',
    'quantity': 'DECIMAL(38,12)',
    'unit': 'VARCHAR',
    'unit_price': 'DECIMAL(38,12)',
    'amount': 'DECIMAL(38,4)',
    'currency': 'VARCHAR',
    'billing_channel': 'VARCHAR',
    'reference_period': 'VARCHAR',
    'tariff_version': 'VARCHAR'
  }
);
