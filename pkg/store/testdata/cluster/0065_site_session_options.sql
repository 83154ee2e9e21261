-- Cluster form of schema/0065_site_session_options.sql (pkg/store/cluster.go), cluster teller, database teller.

ALTER TABLE teller.site_settings ADD COLUMN IF NOT EXISTS respect_dnt UInt8;

-- wait for every replica to apply the ALTER: /clickhouse/tables/all/teller/site_settings;

ALTER TABLE teller.site_settings ON CLUSTER 'teller' COMMENT COLUMN respect_dnt '1: the collector stores nothing (answers 204) for requests with DNT: 1 or Sec-GPC: 1; 0: only the snippet''s data-respect-dnt decides';

ALTER TABLE teller.site_settings ADD COLUMN IF NOT EXISTS midnight_split String;

-- wait for every replica to apply the ALTER: /clickhouse/tables/all/teller/site_settings;

ALTER TABLE teller.site_settings ON CLUSTER 'teller' COMMENT COLUMN midnight_split 'Split the site''s sessions at midnight in its time zone: on, off, or default/empty for the sessionizer''s -split-at-midnight. A change applies to events sessionized from then on';

ALTER TABLE teller.site_settings ADD COLUMN IF NOT EXISTS campaign_split String;

-- wait for every replica to apply the ALTER: /clickhouse/tables/all/teller/site_settings;

ALTER TABLE teller.site_settings ON CLUSTER 'teller' COMMENT COLUMN campaign_split 'Start a new session when explicit campaign parameters change: on, off, or default/empty for the sessionizer''s -split-on-campaign. A change applies to events sessionized from then on';

ALTER TABLE teller.site_settings ADD COLUMN IF NOT EXISTS session_gap_ms UInt64;

-- wait for every replica to apply the ALTER: /clickhouse/tables/all/teller/site_settings;

ALTER TABLE teller.site_settings ON CLUSTER 'teller' COMMENT COLUMN session_gap_ms 'Inactivity that ends the site''s sessions, milliseconds; 0 for the sessionizer''s -session-gap (a gap longer than its -max-site-session-gap is cut to that). A change applies to events sessionized from then on';
