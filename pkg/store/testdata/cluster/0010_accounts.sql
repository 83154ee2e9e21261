-- Cluster form of schema/0010_accounts.sql (pkg/store/cluster.go), cluster teller, database teller.

CREATE TABLE IF NOT EXISTS teller.dashboard_users ON CLUSTER 'teller'
(
    user_name     String          COMMENT 'Sign-in name (case-sensitive)',
    password_hash String          COMMENT 'argon2id hash, PHC format ($argon2id$v=19$m=...,t=...,p=...$salt$hash)',
    is_admin      UInt8           COMMENT '1: manages users and sees every site',
    generation    UInt32          COMMENT 'Raised by every password change and removal; logins of an older generation are over',
    deleted       UInt8           COMMENT '1 when the user was removed',
    created_at    DateTime('UTC') COMMENT 'When the user was first created (UTC)',
    updated_ms    UInt64          COMMENT 'Version of this row, Unix ms: the largest wins'
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/all/{database}/dashboard_users', '{replica}', updated_ms)
ORDER BY user_name;

CREATE TABLE IF NOT EXISTS teller.dashboard_grants ON CLUSTER 'teller'
(
    user_name  String   COMMENT 'User (dashboard_users.user_name)',
    site_id    String   COMMENT 'Site (sites.site_id)',
    role       Enum8('none' = 0, 'viewer' = 1, 'admin' = 2) COMMENT 'viewer reads the site; admin also manages its API tokens; none: revoked',
    updated_ms UInt64   COMMENT 'Version of this row, Unix ms: the largest wins'
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/all/{database}/dashboard_grants', '{replica}', updated_ms)
ORDER BY (user_name, site_id);

CREATE TABLE IF NOT EXISTS teller.dashboard_logins ON CLUSTER 'teller'
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
ENGINE = ReplicatedMergeTree('/clickhouse/tables/all/{database}/dashboard_logins', '{replica}')
PARTITION BY toYYYYMM(created_at)
ORDER BY (login_hash, written_ms);

CREATE TABLE IF NOT EXISTS teller.dashboard_tokens ON CLUSTER 'teller'
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
ENGINE = ReplicatedMergeTree('/clickhouse/tables/all/{database}/dashboard_tokens', '{replica}')
ORDER BY (token_hash, written_ms);
