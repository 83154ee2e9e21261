package store

import (
	"context"
	"flag"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/teller-analytics/teller/internal/chcluster"
)

var updateCluster = flag.Bool("update", false, "rewrite testdata/cluster/*.sql")

// TestClusterRewriteGolden writes the cluster form of every embedded
// migration and of the ledger to testdata/cluster/ (go test -update) and
// compares: a reviewer reads there what runs on a cluster, and a new
// migration whose statements have no cluster form fails here.
func TestClusterRewriteGolden(t *testing.T) {
	migs, err := Migrations()
	if err != nil {
		t.Fatal(err)
	}
	c := newClusterSchema("teller", "teller", migs, ledgerDDL)
	all := append([]Migration{{Name: "ledger.sql", Statements: []string{ledgerDDL}}}, migs...)
	for _, m := range all {
		t.Run(m.Name, func(t *testing.T) {
			var b strings.Builder
			b.WriteString("-- Cluster form of schema/" + m.Name + " (pkg/store/cluster.go), cluster teller, database teller.\n")
			for i, s := range m.Statements {
				out, err := c.rewrite(s)
				if err != nil {
					t.Fatalf("statement %d: %v", i+1, err)
				}
				for _, o := range out {
					b.WriteString("\n" + o + ";\n")
				}
			}
			path := filepath.Join("testdata", "cluster", m.Name)
			if *updateCluster {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./pkg/store -run TestClusterRewriteGolden -update)", err)
			}
			if got := b.String(); got != string(want) {
				t.Errorf("cluster form of %s changed; diff against %s (rewrite with -update if intended):\n%s", m.Name, path, got)
			}
		})
	}
}

// TestClusterRewriteRules checks each rule on small statements, including
// the ones the migrations do not use yet and the refusals.
func TestClusterRewriteRules(t *testing.T) {
	migs := []Migration{{Statements: []string{
		"CREATE TABLE IF NOT EXISTS ev\n(\n    visitor_id UUID,\n    x String\n)\nENGINE = MergeTree\nORDER BY x",
		"CREATE TABLE IF NOT EXISTS small\n(\n    k String COMMENT 'visitor_id (not a column here)'\n)\nENGINE = ReplacingMergeTree(v)\nORDER BY k",
		"CREATE VIEW IF NOT EXISTS vw AS SELECT 1",
	}}}
	c := newClusterSchema("prod-1", "db", migs)
	tests := []struct {
		name, in string
		want     []string
		err      string
	}{
		{name: "sharded table", in: migs[0].Statements[0], want: []string{
			"CREATE TABLE IF NOT EXISTS db.ev_local ON CLUSTER 'prod-1'\n(\n    visitor_id UUID,\n    x String\n)\nENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/ev_local', '{replica}')\nORDER BY x",
			"CREATE TABLE IF NOT EXISTS db.ev ON CLUSTER 'prod-1' AS db.ev_local ENGINE = Distributed('prod-1', 'db', 'ev_local', cityHash64(toString(visitor_id)))",
		}},
		{name: "small table replicated everywhere, engine arguments kept", in: migs[0].Statements[1], want: []string{
			"CREATE TABLE IF NOT EXISTS db.small ON CLUSTER 'prod-1'\n(\n    k String COMMENT 'visitor_id (not a column here)'\n)\nENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/all/{database}/small', '{replica}', v)\nORDER BY k",
		}},
		{name: "materialized view reads and writes local tables", in: "CREATE MATERIALIZED VIEW IF NOT EXISTS mv TO ev AS SELECT x FROM ev JOIN small USING k",
			want: []string{"CREATE MATERIALIZED VIEW IF NOT EXISTS db.mv ON CLUSTER 'prod-1' TO db.ev_local AS SELECT x FROM db.ev_local JOIN db.small USING k"}},
		{name: "view reads Distributed names; unknown names and table functions kept", in: "CREATE VIEW v AS SELECT * FROM ev FINAL WHERE x IN (SELECT x FROM other) AND 1 IN (SELECT 1 FROM numbers(1)) AND 2 IN (SELECT 2 FROM db.ev)",
			want: []string{"CREATE VIEW db.v ON CLUSTER 'prod-1' AS SELECT * FROM db.ev FINAL WHERE x IN (SELECT x FROM other) AND 1 IN (SELECT 1 FROM numbers(1)) AND 2 IN (SELECT 2 FROM db.ev)"}},
		{name: "alter sharded: local, then the Distributed table again", in: "ALTER TABLE ev ADD COLUMN y UInt8", want: []string{
			"ALTER TABLE db.ev_local ON CLUSTER 'prod-1' ADD COLUMN y UInt8",
			"-- wait for every replica to apply the ALTER: /clickhouse/tables/{shard}/db/ev_local",
			"DROP TABLE IF EXISTS db.ev ON CLUSTER 'prod-1'",
			"CREATE TABLE IF NOT EXISTS db.ev ON CLUSTER 'prod-1' AS db.ev_local ENGINE = Distributed('prod-1', 'db', 'ev_local', cityHash64(toString(visitor_id)))",
		}},
		{name: "alter small", in: "ALTER TABLE small MODIFY COMMENT 'x'", want: []string{"ALTER TABLE db.small ON CLUSTER 'prod-1' MODIFY COMMENT 'x'"}},
		// One table replicated on every server: ON CLUSTER would run it once
		// per shard, and the second run finds the column already replicated.
		{name: "alter small columns: on this server, then waits for its replicas", in: "ALTER TABLE small ADD COLUMN v UInt8", want: []string{
			"ALTER TABLE db.small ADD COLUMN v UInt8",
			"-- wait for every replica to apply the ALTER: /clickhouse/tables/all/db/small"}},
		{name: "drop sharded: both", in: "DROP TABLE IF EXISTS ev", want: []string{
			"DROP TABLE IF EXISTS db.ev ON CLUSTER 'prod-1'", "DROP TABLE IF EXISTS db.ev_local ON CLUSTER 'prod-1'"}},
		{name: "drop view", in: "DROP TABLE IF EXISTS vw", want: []string{"DROP TABLE IF EXISTS db.vw ON CLUSTER 'prod-1'"}},
		{name: "insert once through Distributed", in: "INSERT INTO ev (visitor_id, x) SELECT visitor_id, x FROM ev", want: []string{"INSERT INTO ev (visitor_id, x) SELECT visitor_id, x FROM ev"}},
		{name: "other engine refused", in: "CREATE TABLE IF NOT EXISTS m (x UInt8) ENGINE = Memory", err: "engine Memory"},
		{name: "already replicated refused", in: "CREATE TABLE t (x UInt8) ENGINE = ReplicatedMergeTree('/p', 'r') ORDER BY x", err: "engine ReplicatedMergeTree"},
		{name: "old-style engine arguments refused", in: "CREATE TABLE t (d Date, x UInt8) ENGINE = MergeTree(d, (x), 8192)", err: "old-style"},
		{name: "materialized view without TO refused", in: "CREATE MATERIALIZED VIEW mv ENGINE = MergeTree ORDER BY x AS SELECT 1 AS x", err: "needs TO"},
		{name: "rename refused", in: "RENAME TABLE ev TO ev2", err: "no cluster form"},
		{name: "optimize refused", in: "OPTIMIZE TABLE ev FINAL", err: "OPTIMIZE has no cluster form"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c.columnComments = true
			got, err := c.rewrite(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("got %q, %v; want an error containing %q", got, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(got, ";\n") != strings.Join(tt.want, ";\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, ";\n"), strings.Join(tt.want, ";\n"))
			}
		})
	}
}

// On 18.16 Replicated tables are created without column comments, which it
// cannot store in ZooKeeper; everything else stays.
func TestClusterRewriteWithoutColumnComments(t *testing.T) {
	in := "CREATE TABLE IF NOT EXISTS s\n(\n    a String COMMENT 'the snippet''s id (x)',\n    b UInt8    COMMENT 'it\\'s',\n    c UInt8\n)\nENGINE = MergeTree\nORDER BY a"
	c := newClusterSchema("c", "db", []Migration{{Statements: []string{in}}})
	c.columnComments = false
	got, err := c.rewrite(in)
	if err != nil {
		t.Fatal(err)
	}
	want := "CREATE TABLE IF NOT EXISTS db.s ON CLUSTER 'c'\n(\n    a String,\n    b UInt8,\n    c UInt8\n)\nENGINE = ReplicatedMergeTree('/clickhouse/tables/all/{database}/s', '{replica}')\nORDER BY a"
	if len(got) != 1 || got[0] != want {
		t.Errorf("got\n%q\nwant\n%q", got, want)
	}
}

func TestClusterShardedTables(t *testing.T) {
	migs, err := Migrations()
	if err != nil {
		t.Fatal(err)
	}
	c := newClusterSchema("teller", "teller", migs, ledgerDDL)
	for _, name := range []string{"events", "sessions_agg", "session_versions"} {
		if !c.sharded[name] {
			t.Errorf("%s is not sharded by visitor", name)
		}
	}
	for _, name := range []string{"sites", "sessionizer_checkpoints", "schema_migrations", "dashboard_users", "sessions"} {
		if c.sharded[name] {
			t.Errorf("%s is sharded; want it replicated everywhere (or a view)", name)
		}
	}
}

// -clickhouse-cluster is optional and checked before any I/O; the
// environment fallback is pkg/config's (TELLER_CLICKHOUSE_CLUSTER).
func TestClusterFlag(t *testing.T) {
	tests := []struct {
		args []string
		want string // error substring; empty: valid
	}{
		{nil, ""},
		{[]string{"-clickhouse-cluster", "teller_prod-1.eu"}, ""},
		{[]string{"-clickhouse-cluster", "a'b"}, "-clickhouse-cluster"},
		{[]string{"-clickhouse-cluster", "two words"}, "-clickhouse-cluster"},
	}
	for _, tt := range tests {
		var c Config
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		c.RegisterFlags(fs)
		if err := fs.Parse(tt.args); err != nil {
			t.Fatal(err)
		}
		err := c.Validate()
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%v: %v", tt.args, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%v: error %v, want one naming %s", tt.args, err, tt.want)
		}
	}
}

// The rules the embedded migrations do not use yet, on a real 2x2 18.16
// cluster: a sharded table gains a column (its Distributed table is made
// again) and is dropped; a small table gains a column.
func TestClusterRulesOnARealCluster(t *testing.T) {
	ctx := context.Background()
	cl, err := chcluster.Start(ctx, chcluster.Options{Dir: t.TempDir(),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatalf("start the test cluster (scripts/install-deps.sh test installs ZooKeeper): %v", err)
	}
	t.Cleanup(cl.Stop)
	n := cl.Nodes[0]
	if _, err := n.Query(ctx, "CREATE DATABASE IF NOT EXISTS db ON CLUSTER 'teller'"); err != nil {
		t.Fatal(err)
	}
	created := []string{
		"CREATE TABLE IF NOT EXISTS ev\n(\n    visitor_id UUID COMMENT 'x',\n    x String\n)\nENGINE = ReplacingMergeTree\nORDER BY x",
		"CREATE TABLE IF NOT EXISTS small\n(\n    k String\n)\nENGINE = MergeTree\nORDER BY k",
	}
	c := newClusterSchema(chcluster.Name, "db", []Migration{{Statements: created}})
	c.columnComments = false // 18.16, as MigrateOnCluster decides
	conn, err := Open(ctx, Config{Addr: n.Addr(), Database: "db", User: "default", Cluster: chcluster.Name},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	run := func(stmt string) {
		t.Helper()
		out, err := c.rewrite(stmt)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range out {
			if path, ok := strings.CutPrefix(s, awaitReplicasPrefix); ok {
				if err := awaitReplicas(ctx, conn, path); err != nil {
					t.Fatal(err)
				}
				continue
			}
			if _, err := n.Query(ctx, s); err != nil {
				t.Fatalf("%s: %v", s, err)
			}
		}
	}
	q := func(node *chcluster.Node, query string) string {
		t.Helper()
		out, err := node.Query(ctx, query)
		if err != nil {
			t.Fatalf("%s: %v", query, err)
		}
		return strings.TrimSpace(out)
	}
	for _, s := range created {
		run(s)
	}
	run("ALTER TABLE ev ADD COLUMN y UInt8 DEFAULT 7")
	run("ALTER TABLE small ADD COLUMN v UInt8")
	ids := "toUUID(concat('00000000-0000-0000-0000-', substring(toString(1000000000000 + number), 2, 12)))"
	// (Over HTTP without insert_distributed_sync: the Distributed table
	// sends the rows on in the background.)
	if _, err := n.Query(ctx, "INSERT INTO db.ev (visitor_id, x) SELECT "+ids+", toString(number) FROM system.numbers LIMIT 100"); err != nil {
		t.Fatal(err)
	}
	var got string
	for end := time.Now().Add(30 * time.Second); time.Now().Before(end); time.Sleep(200 * time.Millisecond) {
		if got = q(cl.Nodes[3], "SELECT count(), sum(y) FROM db.ev"); got == "100\t700" {
			break
		}
	}
	if got != "100\t700" {
		t.Errorf("the new column through the Distributed table from another server: %q, want 100 rows of 7", got)
	}
	if _, err := n.Query(ctx, "INSERT INTO db.small (k, v) SELECT 'a', 1"); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.Nodes[3].Query(ctx, "SYSTEM SYNC REPLICA db.small"); err != nil {
		t.Fatal(err)
	}
	if got := q(cl.Nodes[3], "SELECT k, v FROM db.small"); got != "a\t1" {
		t.Errorf("the small table, replicated to another shard's server: %q", got)
	}
	run("DROP TABLE IF EXISTS ev")
	for _, node := range cl.Nodes {
		if got := q(node, "SELECT count() FROM system.tables WHERE database = 'db' AND name IN ('ev', 'ev_local')"); got != "0" {
			t.Errorf("shard %d replica %d keeps %s of ev and ev_local after DROP", node.Shard, node.Replica, got)
		}
	}
	// Created again after the drop: the ZooKeeper paths were released.
	run(created[0])
}
