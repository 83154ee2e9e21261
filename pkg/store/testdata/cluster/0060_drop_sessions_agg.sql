-- Cluster form of schema/0060_drop_sessions_agg.sql (pkg/store/cluster.go), cluster teller, database teller.

DROP TABLE IF EXISTS teller.sessions_mv ON CLUSTER 'teller';

DROP TABLE IF EXISTS teller.sessions_agg ON CLUSTER 'teller';

DROP TABLE IF EXISTS teller.sessions_agg_local ON CLUSTER 'teller';
