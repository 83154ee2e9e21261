package store

// The cluster form of the schema. The migrations in schema/ are written for
// one server; with -clickhouse-cluster set, Migrate passes every statement
// through clusterSchema.rewrite, which derives the cluster form from the
// statement alone, so a table another migration adds is covered without a
// line of code here. TestClusterRewriteGolden shows every embedded
// migration's cluster form (testdata/cluster/), and fails on a statement the
// rules below do not cover.
//
// Two kinds of table:
//
//   - Sharded: every MergeTree-family table with a visitor_id column (events,
//     sessions_agg, session_versions). The data lives in x_local, a
//     Replicated*MergeTree on every replica of every shard, and x is a
//     Distributed table in front of it with the sharding key
//     cityHash64(toString(visitor_id)). All of a visitor's rows, so all of a
//     session's events and versions, are on one shard: FINAL, the per-session
//     merges of the reports and their "session_id IN (SELECT ... FROM events)"
//     conditions stay local to a shard (the connection sets
//     distributed_product_mode = 'local' for the last). toString because
//     18.16's cityHash64 refuses a UUID; the string form is the same on every
//     release, so a row lands on the same shard whichever wrote it.
//   - Replicated everywhere: every other table (sites, site_settings,
//     site_goals, dashboard_*, import_tokens, collector_accepted,
//     sessionizer_checkpoints, rejected_events, schema_migrations). They are
//     small, read on nearly every request, and must answer whichever server a
//     service reaches: one Replicated*MergeTree named x itself on every server
//     of the cluster (a ZooKeeper path without {shard}), no Distributed table.
//     This needs a {replica} macro unique in the whole cluster, not only in
//     its shard (docs/scaling.md).
//
// Statements:
//
//   - CREATE TABLE: as above, ON CLUSTER.
//   - CREATE MATERIALIZED VIEW ... TO t: ON CLUSTER, reading and writing the
//     local tables, so each shard aggregates its own inserts.
//   - CREATE VIEW: ON CLUSTER over the Distributed names.
//   - ALTER on a sharded table: on x_local ON CLUSTER, then x is dropped and
//     created again from x_local (it holds no data: inserts are synchronous)
//     so that it has the new columns; MODIFY COMMENT on x_local only.
//     ON CLUSTER runs a replicated ALTER on one replica of each shard; the
//     others apply it later, from ZooKeeper. So between the ALTER and the
//     next statement Migrate waits until every active replica has the
//     table's new columns (awaitReplicas): a Distributed table created on a
//     replica that is behind would lack them, and so would a backfill
//     that reads there.
//     18.16 refuses ALTER ... ON CLUSTER on a Distributed table in a cluster
//     with internal_replication ("Table x isn't replicated, but shard #2 is
//     replicated"). The Distributed table keeps no table comment.
//   - DROP: both names, ON CLUSTER.
//   - OPTIMIZE: refused; 18.16 cannot run it ON CLUSTER on Replicated
//     tables.
//   - INSERT and SELECT (the backfills): unchanged, once, on the server
//     Migrate is connected to, through the Distributed tables.
//
// Every table name is qualified with the database: ON CLUSTER statements run
// on the other servers in their default database, and 18.16 qualifies only
// the statement's own table, not AS, TO or the names in a SELECT.

import (
	"context"
	"fmt"
	"regexp"
	"strings"
)

// ShardingKey places rows on shards: by visitor, so that a session's rows
// and versions are on one shard.
const ShardingKey = "cityHash64(toString(visitor_id))"

// LocalSuffix names the per-server table behind a Distributed one.
const LocalSuffix = "_local"

// clusterSchema rewrites single-server statements into their cluster form.
type clusterSchema struct {
	cluster  string // as given by -clickhouse-cluster
	database string
	sharded  map[string]bool // tables with a visitor_id column
	known    map[string]bool // every table and view the migrations create
	// columnComments keeps the columns' COMMENTs in Replicated tables.
	// 18.16 cannot create a Replicated table with one ("Table structure in
	// ZooKeeper is too different from local table structure", even for the
	// first replica); from 20.1 (minReplicatedCommentsMajor) they are kept.
	columnComments bool
}

// minReplicatedCommentsMajor is the first release whose Replicated tables
// are created with column comments: 18.16 fails on them; 20.1 is the oldest
// release we trust to have fixed it, not a measured boundary.
const minReplicatedCommentsMajor = 20

var (
	reCreateTable     = regexp.MustCompile(`(?s)^CREATE\s+TABLE\s+(IF\s+NOT\s+EXISTS\s+)?(\w+)\s*(.*)$`)
	reCreateMV        = regexp.MustCompile(`(?s)^CREATE\s+MATERIALIZED\s+VIEW\s+(IF\s+NOT\s+EXISTS\s+)?(\w+)\s+TO\s+(\w+)\s+AS\s+(.*)$`)
	reCreateView      = regexp.MustCompile(`(?s)^CREATE\s+VIEW\s+(IF\s+NOT\s+EXISTS\s+)?(\w+)\s+AS\s+(.*)$`)
	reAlter           = regexp.MustCompile(`(?s)^ALTER\s+TABLE\s+(\w+)\s+(.*)$`)
	reDrop            = regexp.MustCompile(`(?s)^DROP\s+(TABLE|VIEW)\s+(IF\s+EXISTS\s+)?(\w+)\s*$`)
	reOptimize        = regexp.MustCompile(`(?s)^OPTIMIZE\s+TABLE\s+(\w+)(.*)$`)
	reCreatedName     = regexp.MustCompile(`^CREATE\s+(?:MATERIALIZED\s+VIEW|VIEW|TABLE)\s+(?:IF\s+NOT\s+EXISTS\s+)?(\w+)`)
	reEngine          = regexp.MustCompile(`\bENGINE\s*=\s*(\w+)`)
	reVisitorCol      = regexp.MustCompile(`(?m)^\s*visitor_id\s+\S`)
	reComment         = regexp.MustCompile(`^MODIFY\s+COMMENT\s`)
	reColCommentAlter = regexp.MustCompile(`^COMMENT\s+COLUMN\s`)
	reColComment      = regexp.MustCompile(`\s+COMMENT\s+'(?:[^'\\]|\\.|'')*'`)
	reTableRef        = regexp.MustCompile(`\b(FROM|JOIN)(\s+)(\w+)`)
)

// newClusterSchema learns the table names from every statement of migs and
// from extra (the ledger).
func newClusterSchema(cluster, database string, migs []Migration, extra ...string) *clusterSchema {
	c := &clusterSchema{cluster: cluster, database: database, sharded: map[string]bool{}, known: map[string]bool{}, columnComments: true}
	stmts := append([]string(nil), extra...)
	for _, m := range migs {
		stmts = append(stmts, m.Statements...)
	}
	for _, s := range stmts {
		m := reCreatedName.FindStringSubmatch(s)
		if m == nil {
			continue
		}
		c.known[m[1]] = true
		if reCreateTable.MatchString(s) {
			if e := reEngine.FindAllStringSubmatch(s, -1); len(e) > 0 &&
				strings.HasSuffix(e[len(e)-1][1], "MergeTree") && reVisitorCol.MatchString(s) {
				c.sharded[m[1]] = true
			}
		}
	}
	return c
}

func (c *clusterSchema) onCluster() string { return "ON CLUSTER " + quoteString(c.cluster) }

func (c *clusterSchema) qualified(name string) string { return c.database + "." + name }

// rewrite returns the cluster form of one statement, in the order to run.
func (c *clusterSchema) rewrite(stmt string) ([]string, error) {
	stmt = strings.TrimSpace(stmt)
	switch {
	case reCreateMV.MatchString(stmt):
		m := reCreateMV.FindStringSubmatch(stmt)
		target := m[3]
		if c.sharded[target] {
			target += LocalSuffix
		}
		return []string{fmt.Sprintf("CREATE MATERIALIZED VIEW %s%s %s TO %s AS %s",
			m[1], c.qualified(m[2]), c.onCluster(), c.qualified(target), c.qualifyRefs(m[4], true))}, nil
	case reCreateView.MatchString(stmt):
		m := reCreateView.FindStringSubmatch(stmt)
		return []string{fmt.Sprintf("CREATE VIEW %s%s %s AS %s",
			m[1], c.qualified(m[2]), c.onCluster(), c.qualifyRefs(m[3], false))}, nil
	case strings.HasPrefix(stmt, "CREATE MATERIALIZED VIEW"):
		return nil, fmt.Errorf("store: cluster: a materialized view needs TO <table> (its own inner table would not be replicated): %.80q", stmt)
	case reCreateTable.MatchString(stmt):
		return c.createTable(reCreateTable.FindStringSubmatch(stmt))
	case reAlter.MatchString(stmt):
		m := reAlter.FindStringSubmatch(stmt)
		if reColCommentAlter.MatchString(m[2]) && !c.columnComments {
			// Where Replicated tables keep no column comments (CREATE drops
			// them too), COMMENT COLUMN is refused: there is nothing to run.
			return nil, nil
		}
		noColumns := reComment.MatchString(m[2]) || reColCommentAlter.MatchString(m[2])
		if !c.sharded[m[1]] {
			if noColumns {
				return []string{fmt.Sprintf("ALTER TABLE %s %s %s", c.qualified(m[1]), c.onCluster(), m[2])}, nil
			}
			// Every server holds a replica of the one table (one ZooKeeper
			// path), so the ALTER runs on this server alone and replication
			// carries it to the others: ON CLUSTER runs it on one replica of
			// each shard, and the second found the column the first had
			// already replicated ("column with this name already exists").
			return []string{fmt.Sprintf("ALTER TABLE %s %s", c.qualified(m[1]), m[2]),
				awaitReplicasPrefix + c.zooKeeperPath(m[1], c.database)}, nil
		}
		if noColumns { // no column changes: the Distributed table stays
			return []string{fmt.Sprintf("ALTER TABLE %s %s %s", c.qualified(m[1]+LocalSuffix), c.onCluster(), m[2])}, nil
		}
		return []string{
			fmt.Sprintf("ALTER TABLE %s %s %s", c.qualified(m[1]+LocalSuffix), c.onCluster(), m[2]),
			awaitReplicasPrefix + c.zooKeeperPath(m[1], c.database),
			fmt.Sprintf("DROP TABLE IF EXISTS %s %s", c.qualified(m[1]), c.onCluster()),
			c.distributed(m[1]),
		}, nil
	case reDrop.MatchString(stmt):
		m := reDrop.FindStringSubmatch(stmt)
		out := []string{fmt.Sprintf("DROP %s %s%s %s", m[1], m[2], c.qualified(m[3]), c.onCluster())}
		if c.sharded[m[3]] {
			out = append(out, fmt.Sprintf("DROP %s %s%s %s", m[1], m[2], c.qualified(m[3]+LocalSuffix), c.onCluster()))
		}
		return out, nil
	case reOptimize.MatchString(stmt):
		// 18.16 fails OPTIMIZE ... ON CLUSTER on a Replicated table ("Unknown
		// log entry type: 0"), and a migration needs no merge to be correct.
		return nil, fmt.Errorf("store: cluster: OPTIMIZE has no cluster form (18.16 cannot run it ON CLUSTER on replicated tables); leave merges to the servers: %.80q", stmt)
	case hasKeyword(stmt, "INSERT"), hasKeyword(stmt, "SELECT"), hasKeyword(stmt, "WITH"):
		// Data: once, through the Distributed tables, which place each row
		// on its shard; replication copies it to the shard's replicas.
		return []string{stmt}, nil
	}
	return nil, fmt.Errorf("store: cluster: no cluster form for statement %.80q (CREATE TABLE/VIEW/MATERIALIZED VIEW ... TO, ALTER TABLE, DROP, INSERT are covered; see pkg/store/cluster.go)", stmt)
}

// createTable: m is reCreateTable's match: IF NOT EXISTS, name, the rest.
func (c *clusterSchema) createTable(m []string) ([]string, error) {
	ifNot, name, rest := m[1], m[2], m[3]
	engines := reEngine.FindAllStringSubmatchIndex(rest, -1)
	if len(engines) == 0 {
		return nil, fmt.Errorf("store: cluster: table %s names no ENGINE", name)
	}
	loc := engines[len(engines)-1]
	engine := rest[loc[2]:loc[3]]
	if !strings.HasSuffix(engine, "MergeTree") || strings.HasPrefix(engine, "Replicated") {
		return nil, fmt.Errorf("store: cluster: table %s: engine %s has no replicated form here; use a (Replacing, Aggregating, ...)MergeTree", name, engine)
	}
	// The engine's own arguments, if any, follow the Replicated ones.
	after := rest[loc[3]:]
	var args string
	if trimmed := strings.TrimLeft(after, " \t"); strings.HasPrefix(trimmed, "(") {
		end := matchingParen(trimmed)
		if end < 0 {
			return nil, fmt.Errorf("store: cluster: table %s: unbalanced parentheses after ENGINE = %s", name, engine)
		}
		args = strings.TrimSpace(trimmed[1:end])
		after = trimmed[end+1:]
	}
	if strings.Contains(args, "(") {
		return nil, fmt.Errorf("store: cluster: table %s: old-style engine arguments %s(%s); write ORDER BY/PARTITION BY clauses", name, engine, args)
	}
	local := name
	if c.sharded[name] {
		local = name + LocalSuffix
	}
	replArgs := quoteString(c.zooKeeperPath(name, "{database}")) + ", '{replica}'"
	if args != "" {
		replArgs += ", " + args
	}
	columns := rest[:loc[0]]
	if !c.columnComments {
		columns = reColComment.ReplaceAllString(columns, "")
	}
	create := fmt.Sprintf("CREATE TABLE %s%s %s\n%sENGINE = Replicated%s(%s)%s",
		ifNot, c.qualified(local), c.onCluster(), columns, engine, replArgs, after)
	if !c.sharded[name] {
		return []string{create}, nil
	}
	return []string{create, c.distributed(name)}, nil
}

// zooKeeperPath is where table name's replicas meet in ZooKeeper, with
// database as given ("{database}" in a CREATE, the name when waiting):
// one path per shard for a sharded table ({shard} is each server's macro),
// one for the whole cluster otherwise.
func (c *clusterSchema) zooKeeperPath(name, database string) string {
	if c.sharded[name] {
		return "/clickhouse/tables/{shard}/" + database + "/" + name + LocalSuffix
	}
	return "/clickhouse/tables/all/" + database + "/" + name
}

// distributed creates the Distributed table name in front of name_local.
func (c *clusterSchema) distributed(name string) string {
	return fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s %s AS %s ENGINE = Distributed(%s, %s, %s, %s)",
		c.qualified(name), c.onCluster(), c.qualified(name+LocalSuffix),
		quoteString(c.cluster), quoteString(c.database), quoteString(name+LocalSuffix), ShardingKey)
}

// qualifyRefs qualifies the names after FROM and JOIN that the migrations
// create; local maps sharded tables to their _local tables (materialized
// views, which see the rows inserted on their own server).
func (c *clusterSchema) qualifyRefs(sql string, local bool) string {
	var b strings.Builder
	last := 0
	for _, m := range reTableRef.FindAllStringSubmatchIndex(sql, -1) {
		name := sql[m[6]:m[7]]
		if !c.known[name] || m[7] < len(sql) && (sql[m[7]] == '.' || sql[m[7]] == '(') {
			continue
		}
		if local && c.sharded[name] {
			name += LocalSuffix
		}
		b.WriteString(sql[last:m[6]])
		b.WriteString(c.qualified(name))
		last = m[7]
	}
	b.WriteString(sql[last:])
	return b.String()
}

// hasKeyword reports whether stmt starts with the keyword kw.
func hasKeyword(stmt, kw string) bool {
	if len(stmt) < len(kw) || !strings.EqualFold(stmt[:len(kw)], kw) {
		return false
	}
	return len(stmt) == len(kw) || !isWordByte(stmt[len(kw)])
}

func isWordByte(b byte) bool {
	return b == '_' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9'
}

// matchingParen returns the index of the ")" closing s[0] == "(", skipping
// quoted strings; -1 if none.
func matchingParen(s string) int {
	depth := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\'':
			for i++; i < len(s) && s[i] != '\''; i++ {
				if s[i] == '\\' {
					i++
				}
			}
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}

// quoteString is a ClickHouse string literal.
func quoteString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// validClusterName is a cluster name as remote_servers spells one: letters,
// digits, _, - and ., which quoteString makes a safe literal.
func validClusterName(s string) bool {
	for _, r := range s {
		if !(r == '_' || r == '-' || r == '.' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return s != ""
}

// CheckCluster reports what keeps the server q is connected to from serving
// Teller on cluster: the cluster missing from its remote_servers, a missing
// {shard} or {replica} macro, or a profile without distributed_product_mode
// = 'local', which the reports' "session_id IN (SELECT ... FROM events)"
// over Distributed tables need (each shard reads its own events; a
// session's rows are on one shard). The driver cannot send that setting to
// 18.16 (only numbers), so it is the server profile's (docs/scaling.md).
func CheckCluster(ctx context.Context, q Querier, cluster string) error {
	var hosts, macros uint64
	var mode string
	rows, err := q.Query(ctx, `SELECT
    (SELECT count() FROM system.clusters WHERE cluster = ?),
    (SELECT count() FROM system.macros WHERE macro IN ('shard', 'replica')),
    (SELECT value FROM system.settings WHERE name = 'distributed_product_mode')`, cluster)
	if err != nil {
		return fmt.Errorf("store: check cluster %s: %w", cluster, err)
	}
	defer rows.Close()
	if !rows.Next() {
		return fmt.Errorf("store: check cluster %s: no row (%v)", cluster, rows.Err())
	}
	if err := rows.Scan(&hosts, &macros, &mode); err != nil {
		return fmt.Errorf("store: check cluster %s: %w", cluster, err)
	}
	switch {
	case hosts == 0:
		return fmt.Errorf("store: -clickhouse-cluster %s: the server has no such cluster in remote_servers (system.clusters)", cluster)
	case macros < 2:
		return fmt.Errorf("store: -clickhouse-cluster %s: the server needs the macros shard and replica (replica unique in the whole cluster); see docs/scaling.md", cluster)
	case mode != "local":
		return fmt.Errorf("store: -clickhouse-cluster %s: the server's profile has distributed_product_mode = %q; Teller's reports need 'local' (docs/scaling.md)", cluster, mode)
	}
	return nil
}
