// Package schema holds Teller's ClickHouse schema as numbered SQL migrations.
// The files are the public, documented interface people query; pkg/store
// applies them in order, forward only.
//
// Rules for a migration file:
//   - NNNN_name.sql, applied in NNNN order, never edited once released;
//   - statements end with ";" at the end of a line;
//   - every statement is idempotent (IF NOT EXISTS), so two services starting
//     at once cannot break each other;
//   - a first line "-- requires-server: MAJOR.MINOR" applies the file only on
//     that ClickHouse release or newer (it is retried on every start, so it
//     applies after the server is upgraded). Everything else must run on
//     ClickHouse 18.16 as well as current releases.
package schema

import "embed"

// Files are the migrations, NNNN_name.sql.
//
//go:embed *.sql
var Files embed.FS
