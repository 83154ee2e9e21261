package store

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/teller-analytics/teller/schema"
)

// Migration is one numbered schema file.
type Migration struct {
	Version    int
	Name       string
	SQL        string
	Checksum   string
	MinMajor   uint64 // from "-- requires-server: MAJOR.MINOR"; 0 = any
	MinMinor   uint64
	Statements []string
}

// Migrations reads the embedded schema files in order.
func Migrations() ([]Migration, error) { return LoadMigrations(schema.Files) }

// LoadMigrations reads NNNN_name.sql files from files, in order, checking
// the naming and header rules described in package schema.
func LoadMigrations(files fs.FS) ([]Migration, error) {
	names, err := fs.Glob(files, "*.sql")
	if err != nil {
		return nil, fmt.Errorf("store: list migrations: %w", err)
	}
	var out []Migration
	seen := map[int]string{}
	for _, name := range names {
		num, _, ok := strings.Cut(path.Base(name), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("store: migration %s: name must start with a number and _", name)
		}
		if prev, dup := seen[v]; dup {
			return nil, fmt.Errorf("store: migrations %s and %s share number %d", prev, name, v)
		}
		seen[v] = name
		body, err := fs.ReadFile(files, name)
		if err != nil {
			return nil, fmt.Errorf("store: read migration %s: %w", name, err)
		}
		sum := sha256.Sum256(body)
		m := Migration{Version: v, Name: name, SQL: string(body), Checksum: hex.EncodeToString(sum[:])}
		first, _, _ := strings.Cut(m.SQL, "\n")
		if req, ok := strings.CutPrefix(strings.TrimSpace(first), "-- requires-server:"); ok {
			maj, min, _ := strings.Cut(strings.TrimSpace(req), ".")
			m.MinMajor, _ = strconv.ParseUint(maj, 10, 64)
			m.MinMinor, _ = strconv.ParseUint(min, 10, 64)
			if m.MinMajor == 0 {
				return nil, fmt.Errorf("store: migration %s: bad requires-server line %q", name, first)
			}
		}
		m.Statements = splitStatements(m.SQL)
		if len(m.Statements) == 0 {
			return nil, fmt.Errorf("store: migration %s has no statements", name)
		}
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

// splitStatements splits a file into statements at lines ending in ";",
// dropping comment-only lines outside statements.
func splitStatements(sql string) []string {
	var stmts []string
	var cur strings.Builder
	sc := bufio.NewScanner(strings.NewReader(sql))
	for sc.Scan() {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		if cur.Len() == 0 && (trimmed == "" || strings.HasPrefix(trimmed, "--")) {
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
		if strings.HasSuffix(trimmed, ";") {
			stmts = append(stmts, strings.TrimSuffix(strings.TrimSpace(cur.String()), ";"))
			cur.Reset()
		}
	}
	if s := strings.TrimSpace(cur.String()); s != "" {
		stmts = append(stmts, s)
	}
	return stmts
}

// Migrate applies every migration not yet recorded in schema_migrations, in
// order. Files gated on a newer server are skipped (and retried next start).
func (db *DB) Migrate(ctx context.Context) error {
	return MigrateOnCluster(ctx, db, db.cfg.Cluster, db.log)
}

// Migrate applies the embedded migrations to q's database, as (*DB).Migrate
// does; it reads the server's release from q to decide the version-gated
// files. log may be nil.
func Migrate(ctx context.Context, q Querier, log *slog.Logger) error {
	return MigrateOnCluster(ctx, q, "", log)
}

// ledgerDDL creates the migrations ledger.
const ledgerDDL = `CREATE TABLE IF NOT EXISTS schema_migrations
(
    version    UInt32   COMMENT 'Migration number (schema/NNNN_*.sql)',
    name       String   COMMENT 'File name',
    checksum   String   COMMENT 'SHA-256 of the file as applied',
    applied_at DateTime COMMENT 'When it was applied (UTC)'
)
ENGINE = MergeTree ORDER BY version`

// MigrateOnCluster is Migrate on the ClickHouse cluster named cluster (as in
// the servers' remote_servers): every statement in its cluster form
// (cluster.go), the ledger replicated to every server. An empty cluster is
// Migrate, the single-server statements exactly.
func MigrateOnCluster(ctx context.Context, q Querier, cluster string, log *slog.Logger) error {
	if log == nil {
		log = slog.Default()
	}
	migs, err := Migrations()
	if err != nil {
		return err
	}
	return migrate(ctx, q, cluster, log, migs)
}

// migrate applies migs as MigrateOnCluster does (tests apply a prefix of
// them to build an older install).
func migrate(ctx context.Context, q Querier, cluster string, log *slog.Logger, migs []Migration) error {
	if log == nil {
		log = slog.Default()
	}
	version, err := ServerVersionOf(ctx, q)
	if err != nil {
		return err
	}
	forms := func(stmt string) ([]string, error) { return []string{stmt}, nil }
	if cluster != "" {
		database, err := currentDatabase(ctx, q)
		if err != nil {
			return err
		}
		// The other servers need the database before any ON CLUSTER table.
		if err := q.Exec(ctx, "CREATE DATABASE IF NOT EXISTS "+quoteIdent(database)+" ON CLUSTER "+quoteString(cluster)); err != nil {
			return fmt.Errorf("store: create database %s on cluster %s: %w", database, cluster, err)
		}
		cs := newClusterSchema(cluster, database, migs, ledgerDDL)
		cs.columnComments = version.AtLeast(minReplicatedCommentsMajor, 0)
		forms = cs.rewrite
	}
	ledger, err := forms(ledgerDDL)
	if err != nil {
		return err
	}
	for _, stmt := range ledger {
		if err := q.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("store: create schema_migrations: %w", err)
		}
	}
	applied, err := appliedMigrations(ctx, q)
	if err != nil {
		return err
	}
	for _, m := range migs {
		if sum, ok := applied[m.Version]; ok {
			if sum != m.Checksum && !formerChecksums[m.Version][sum] {
				log.Warn("applied migration differs from this build's file; migrations are forward-only, add a new file instead of editing",
					"migration", m.Name)
			}
			continue
		}
		if m.MinMajor > 0 && !version.AtLeast(m.MinMajor, m.MinMinor) {
			log.Debug("skipping migration that needs a newer ClickHouse", "migration", m.Name,
				"requires", fmt.Sprintf("%d.%d", m.MinMajor, m.MinMinor), "server", version)
			continue
		}
		for i, stmt := range m.Statements {
			if err := execStatement(ctx, q, stmt, forms); err != nil {
				return fmt.Errorf("store: migration %s, statement %d: %w", m.Name, i+1, err)
			}
		}
		// INSERT ... SELECT with named columns: Exec("INSERT ... VALUES")
		// hangs on 18.16 over the native protocol.
		if err := q.Exec(ctx, "INSERT INTO schema_migrations (version, name, checksum, applied_at) SELECT toUInt32(?), ?, ?, now()",
			m.Version, m.Name, m.Checksum); err != nil {
			return fmt.Errorf("store: record migration %s: %w", m.Name, err)
		}
		log.Info("applied migration", "migration", m.Name)
	}
	return nil
}

// formerChecksums are the checksums a migration file had before it was
// edited, by version: an install that applied the former text is up to
// date and gets no warning. A released file is edited only when a later
// migration makes it fail where it has not run yet:
//   - 0005 (gated on 23.9, so it first runs when an 18.16 install is
//     upgraded, possibly after 0060) no longer names sessions_agg, which
//     0060 drops.
//   - 0030's backfill now spills its GROUP BYs to disk past 1 GB (a large
//     install exceeded the memory limit); where the former text ran, it
//     succeeded and made the same table.
var formerChecksums = map[int]map[string]bool{
	5:  {"83dc9c27f512e63ff56a882ed4b4ee314e39bc6f71f2f67276cfbd7edd5c0aef": true},
	30: {"b314eeb8a160412a70f183272c8d07c3c7146bd31469f27446b593d6e51d7d9e": true},
}

// addColumnIfNotExists matches "ALTER TABLE t ADD COLUMN IF NOT EXISTS c
// ...": table, column, and the statement without IF NOT EXISTS.
var addColumnIfNotExists = regexp.MustCompile(`(?is)^\s*ALTER\s+TABLE\s+(\w+)\s+ADD\s+COLUMN\s+IF\s+NOT\s+EXISTS\s+(\w+)\s`)

// execStatement runs one migration statement in its forms (one on a
// single server, the cluster forms on a cluster). ClickHouse 18.16 has no
// ADD COLUMN IF NOT EXISTS, so that form is run as a plain ADD COLUMN
// where system.columns lacks the column, on every release alike; when two
// services add it at once the loser's error is dropped once the column is
// there.
func execStatement(ctx context.Context, q Querier, stmt string, forms func(string) ([]string, error)) error {
	run := func(stmt string) error {
		all, err := forms(stmt)
		if err != nil {
			return err
		}
		for _, s := range all {
			if path, ok := strings.CutPrefix(s, awaitReplicasPrefix); ok {
				if err := awaitReplicas(ctx, q, path); err != nil {
					return err
				}
				continue
			}
			if err := q.Exec(ctx, s); err != nil {
				return err
			}
		}
		return nil
	}
	m := addColumnIfNotExists.FindStringSubmatchIndex(stmt)
	if m == nil {
		return run(stmt)
	}
	table, column := stmt[m[2]:m[3]], stmt[m[4]:m[5]]
	has := func() (bool, error) {
		rows, err := q.Query(ctx, "SELECT count() FROM system.columns WHERE database = currentDatabase() AND table = ? AND name = ?", table, column)
		if err != nil {
			return false, fmt.Errorf("look up column %s.%s: %w", table, column, err)
		}
		defer rows.Close()
		var n uint64
		for rows.Next() {
			if err := rows.Scan(&n); err != nil {
				return false, fmt.Errorf("look up column %s.%s: %w", table, column, err)
			}
		}
		return n > 0, rows.Err()
	}
	if ok, err := has(); err != nil || ok {
		return err
	}
	plain := addColumnIfNotExists.ReplaceAllString(stmt[:m[1]], "ALTER TABLE $1 ADD COLUMN $2 ") + stmt[m[1]:]
	err := run(plain)
	if err != nil {
		if ok, _ := has(); ok {
			return nil
		}
	}
	return err
}

// currentDatabase is the database q's statements run in.
func currentDatabase(ctx context.Context, q Querier) (string, error) {
	rows, err := q.Query(ctx, "SELECT currentDatabase()")
	if err != nil {
		return "", fmt.Errorf("store: read current database: %w", err)
	}
	defer rows.Close()
	var name string
	if !rows.Next() {
		return "", fmt.Errorf("store: read current database: no row (%v)", rows.Err())
	}
	if err := rows.Scan(&name); err != nil {
		return "", fmt.Errorf("store: read current database: %w", err)
	}
	return name, nil
}

// appliedMigrations reads schema_migrations: version -> checksum.
func appliedMigrations(ctx context.Context, q Querier) (map[int]string, error) {
	rows, err := q.Query(ctx, "SELECT version, any(checksum) FROM schema_migrations GROUP BY version")
	if err != nil {
		return nil, fmt.Errorf("store: read schema_migrations: %w", err)
	}
	defer rows.Close()
	applied := map[int]string{}
	for rows.Next() {
		var v uint32
		var sum string
		if err := rows.Scan(&v, &sum); err != nil {
			return nil, fmt.Errorf("store: scan schema_migrations: %w", err)
		}
		applied[int(v)] = sum
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: read schema_migrations: %w", err)
	}
	return applied, nil
}
