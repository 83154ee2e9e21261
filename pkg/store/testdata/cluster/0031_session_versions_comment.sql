-- Cluster form of schema/0031_session_versions_comment.sql (pkg/store/cluster.go), cluster teller, database teller.

ALTER TABLE teller.session_versions_local ON CLUSTER 'teller' MODIFY COMMENT 'One row per session version written by the sessionizer; the highest version (FINAL) is the session; query the sessions view';
