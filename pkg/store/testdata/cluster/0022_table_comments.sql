-- Cluster form of schema/0022_table_comments.sql (pkg/store/cluster.go), cluster teller, database teller.

ALTER TABLE teller.site_goals ON CLUSTER 'teller' MODIFY COMMENT 'Goals per site; current row per (site_id, goal_id) = largest updated_ms, deleted = 1 removes';

ALTER TABLE teller.collector_accepted ON CLUSTER 'teller' MODIFY COMMENT 'Events accepted by each collector per site and minute, cumulative; largest updated_ms wins';
