-- Import tokens (pkg/importer): a site's permission to send history with
-- explicit timestamps to the collector's POST /api/import. A token is 256
-- random bits shown once; only its SHA-256 is kept. Rows are never replaced:
-- a token is revoked when any of its rows says so, whatever order rows merge
-- in. Separate from dashboard_tokens on purpose: those read reports, these
-- write history, and neither may do the other's job.
CREATE TABLE IF NOT EXISTS import_tokens
(
    token_hash String          COMMENT 'SHA-256 (hex) of the token; the token itself is never stored',
    token_id   String          COMMENT 'Public id of the token, shown in lists and used to revoke it',
    site_id    String          COMMENT 'The one site the token imports into',
    name       String          COMMENT 'What the token is for, as given',
    created_at DateTime('UTC') COMMENT 'When it was created (UTC)',
    revoked    UInt8           COMMENT '1: revoked',
    written_ms UInt64          COMMENT 'When this row was written, Unix ms'
)
ENGINE = MergeTree
ORDER BY (token_hash, written_ms);
