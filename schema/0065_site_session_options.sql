-- Per-site session options and the privacy setting (issues 8 and 10),
-- beside the collector settings of 0040. A row written before these columns
-- existed reads '' and 0: the sessionizer's own split rules and DNT / GPC
-- left to the snippet, which is what such a site had.
--
-- 18.16 has no ADD COLUMN IF NOT EXISTS: pkg/store's migration runner
-- makes this form idempotent on every release (it adds the column only
-- where it is missing). 18.16 also ignores a COMMENT inside ADD COLUMN, so
-- COMMENT COLUMN follows; it is idempotent.
ALTER TABLE site_settings ADD COLUMN IF NOT EXISTS respect_dnt UInt8;
ALTER TABLE site_settings COMMENT COLUMN respect_dnt '1: the collector stores nothing (answers 204) for requests with DNT: 1 or Sec-GPC: 1; 0: only the snippet''s data-respect-dnt decides';
ALTER TABLE site_settings ADD COLUMN IF NOT EXISTS midnight_split String;
ALTER TABLE site_settings COMMENT COLUMN midnight_split 'Split the site''s sessions at midnight in its time zone: on, off, or default/empty for the sessionizer''s -split-at-midnight. A change applies to events sessionized from then on';
ALTER TABLE site_settings ADD COLUMN IF NOT EXISTS campaign_split String;
ALTER TABLE site_settings COMMENT COLUMN campaign_split 'Start a new session when explicit campaign parameters change: on, off, or default/empty for the sessionizer''s -split-on-campaign. A change applies to events sessionized from then on';
ALTER TABLE site_settings ADD COLUMN IF NOT EXISTS session_gap_ms UInt64;
ALTER TABLE site_settings COMMENT COLUMN session_gap_ms 'Inactivity that ends the site''s sessions, milliseconds; 0 for the sessionizer''s -session-gap (a gap longer than its -max-site-session-gap is cut to that). A change applies to events sessionized from then on';
