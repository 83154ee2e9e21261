// Package schema holds Teller's ClickHouse schema as numbered SQL migrations.
// The files are the public, documented interface people query; pkg/store
// applies them in order, forward only.
//
// Rules for a migration file:
//   - NNNN_name.sql, applied in NNNN order, never edited once released;
//   - statements end with ";" at the end of a line;
//   - every statement is idempotent (IF NOT EXISTS), so two services starting
//     at once cannot break each other;
//   - a column is added with "ALTER TABLE t ADD COLUMN IF NOT EXISTS c
//     type": 18.16 lacks that form, so pkg/store runs it as a plain ADD
//     COLUMN where the column is missing (on every release); its comment
//     follows in "ALTER TABLE t COMMENT COLUMN c '...'", since 18.16
//     ignores a COMMENT inside ADD COLUMN;
//   - a first line "-- requires-server: MAJOR.MINOR" applies the file only on
//     that ClickHouse release or newer (it is retried on every start, so it
//     applies after the server is upgraded). Everything else must run on
//     ClickHouse 18.16 as well as current releases;
//   - a plain (non-aggregate) column of an AggregatingMergeTree belongs in
//     its sorting key: 26.x refuses the table otherwise, and 18.16 knows no
//     setting to allow it (keep the PRIMARY KEY to what queries filter on).
//
// On a cluster (-clickhouse-cluster) the same files are applied in their
// cluster form (pkg/store/cluster.go): every MergeTree table with a
// visitor_id column (events, session_versions) becomes a Replicated table
// x_local on every server with a Distributed table x in front, sharded by
// cityHash64(toString(visitor_id)). By visitor, not by session or site:
// a session belongs to one visitor, so all of its events and all of its
// versions are on one shard, where FINAL and the reports' per-session
// merges run without moving rows between servers, and a visitor's
// sessions stay together for per-visitor figures (a site would put a
// large site on one shard). Every other table is small and replicated to
// every server. docs/scaling.md says what to add when.
//
// The tests apply every file here to ClickHouse 18.16 and to 26.7
// (pkg/store's TestSchemaOnBothEngines, through internal/chtest), the gated
// ones included: a new migration is checked without a line of test code.
package schema

import "embed"

// Files are the migrations, NNNN_name.sql.
//
//go:embed *.sql
var Files embed.FS
