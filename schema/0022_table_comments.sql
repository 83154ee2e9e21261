-- requires-server: 23.9
-- Table comments of the tables 0020-0021 add (see 0005).
ALTER TABLE site_goals MODIFY COMMENT 'Goals per site; current row per (site_id, goal_id) = largest updated_ms, deleted = 1 removes';
ALTER TABLE collector_accepted MODIFY COMMENT 'Events accepted by each collector per site and minute, cumulative; largest updated_ms wins';
