-- Dashboard accounts (pkg/account): users, their per-site grants, logins
-- (server-side sign-in sessions) and API tokens. The dashboard may reach
-- these four tables with a ClickHouse user of their own and its reports with
-- a read-only one (see deploy/clickhouse/).
--
-- Written for ClickHouse 18.16 and current releases alike: no TTL, no
-- mutations, no Map. Secrets are never stored: a login id and an API token
-- are 256 random bits, kept here as their SHA-256 only.

-- Users: one row per change, the largest updated_ms wins (argMax). A
-- password change and a removal raise generation; a login made under another
-- generation is over, on every dashboard instance, from the next request on.
CREATE TABLE IF NOT EXISTS dashboard_users
(
    user_name     String          COMMENT 'Sign-in name (case-sensitive)',
    password_hash String          COMMENT 'argon2id hash, PHC format ($argon2id$v=19$m=...,t=...,p=...$salt$hash)',
    is_admin      UInt8           COMMENT '1: manages users and sees every site',
    generation    UInt32          COMMENT 'Raised by every password change and removal; logins of an older generation are over',
    deleted       UInt8           COMMENT '1 when the user was removed',
    created_at    DateTime('UTC') COMMENT 'When the user was first created (UTC)',
    updated_ms    UInt64          COMMENT 'Version of this row, Unix ms: the largest wins'
)
ENGINE = ReplacingMergeTree(updated_ms)
ORDER BY user_name;

-- Per-site grants: the largest updated_ms per (user, site) wins; role none
-- is a revoked grant.
CREATE TABLE IF NOT EXISTS dashboard_grants
(
    user_name  String   COMMENT 'User (dashboard_users.user_name)',
    site_id    String   COMMENT 'Site (sites.site_id)',
    role       Enum8('none' = 0, 'viewer' = 1, 'admin' = 2) COMMENT 'viewer reads the site; admin also manages its API tokens; none: revoked',
    updated_ms UInt64   COMMENT 'Version of this row, Unix ms: the largest wins'
)
ENGINE = ReplacingMergeTree(updated_ms)
ORDER BY (user_name, site_id);

-- Logins: one row at sign-in, one per minute of use at most (last_used_at),
-- one at the end (ended = 1). Rows are never replaced: a login is read as
-- max(last_used_at) and max(ended) over its rows, so an end is final
-- whatever order rows arrive or merge in. Partitioned by month of sign-in:
-- drop partitions older than the longest -login-lifetime to clean up.
CREATE TABLE IF NOT EXISTS dashboard_logins
(
    login_hash   String          COMMENT 'SHA-256 (hex) of the login id in the cookie; the id itself is never stored',
    user_name    String          COMMENT 'User signed in',
    generation   UInt32          COMMENT 'The user''s generation at sign-in',
    created_at   DateTime('UTC') COMMENT 'Sign-in time (UTC)',
    expires_at   DateTime('UTC') COMMENT 'Absolute end: sign-in plus -login-lifetime',
    last_used_at DateTime('UTC') COMMENT 'Last use (UTC), written at most once a minute',
    user_agent   String          COMMENT 'Browser user agent at sign-in, at most 256 bytes',
    address      String          COMMENT 'Client address at sign-in (IPv6 as its /64)',
    ended        UInt8           COMMENT '1: signed out, ended from another device, or by an admin',
    written_ms   UInt64          COMMENT 'When this row was written, Unix ms'
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(created_at)
ORDER BY (login_hash, written_ms);

-- API tokens: read-only access to one site's JSON API. Rows are never
-- replaced: a token is revoked when any of its rows says so.
CREATE TABLE IF NOT EXISTS dashboard_tokens
(
    token_hash String          COMMENT 'SHA-256 (hex) of the token; the token itself is shown once and never stored',
    token_id   String          COMMENT 'Public id of the token, shown in lists',
    site_id    String          COMMENT 'The one site the token reads',
    name       String          COMMENT 'What the token is for, as given',
    created_by String          COMMENT 'User who created it',
    created_at DateTime('UTC') COMMENT 'When it was created (UTC)',
    revoked    UInt8           COMMENT '1: revoked',
    written_ms UInt64          COMMENT 'When this row was written, Unix ms'
)
ENGINE = MergeTree
ORDER BY (token_hash, written_ms);
