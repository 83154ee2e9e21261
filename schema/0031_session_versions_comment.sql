-- requires-server: 23.9
-- Table comment of session_versions (ALTER TABLE ... MODIFY COMMENT exists
-- from ClickHouse 23.9; on older servers the text is in 0030 and the README).
ALTER TABLE session_versions MODIFY COMMENT 'One row per session version written by the sessionizer; the highest version (FINAL) is the session; query the sessions view';
