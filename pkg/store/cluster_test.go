package store

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
			"DROP TABLE IF EXISTS db.ev ON CLUSTER 'prod-1'",
			"CREATE TABLE IF NOT EXISTS db.ev ON CLUSTER 'prod-1' AS db.ev_local ENGINE = Distributed('prod-1', 'db', 'ev_local', cityHash64(toString(visitor_id)))",
		}},
		{name: "alter small", in: "ALTER TABLE small MODIFY COMMENT 'x'", want: []string{"ALTER TABLE db.small ON CLUSTER 'prod-1' MODIFY COMMENT 'x'"}},
		{name: "drop sharded: both", in: "DROP TABLE IF EXISTS ev", want: []string{
			"DROP TABLE IF EXISTS db.ev ON CLUSTER 'prod-1'", "DROP TABLE IF EXISTS db.ev_local ON CLUSTER 'prod-1'"}},
		{name: "drop view", in: "DROP TABLE IF EXISTS vw", want: []string{"DROP TABLE IF EXISTS db.vw ON CLUSTER 'prod-1'"}},
		{name: "optimize sharded: local", in: "OPTIMIZE TABLE ev FINAL", want: []string{"OPTIMIZE TABLE db.ev_local ON CLUSTER 'prod-1' FINAL"}},
		{name: "insert once through Distributed", in: "INSERT INTO ev (visitor_id, x) SELECT visitor_id, x FROM ev", want: []string{"INSERT INTO ev (visitor_id, x) SELECT visitor_id, x FROM ev"}},
		{name: "other engine refused", in: "CREATE TABLE IF NOT EXISTS m (x UInt8) ENGINE = Memory", err: "engine Memory"},
		{name: "already replicated refused", in: "CREATE TABLE t (x UInt8) ENGINE = ReplicatedMergeTree('/p', 'r') ORDER BY x", err: "engine ReplicatedMergeTree"},
		{name: "old-style engine arguments refused", in: "CREATE TABLE t (d Date, x UInt8) ENGINE = MergeTree(d, (x), 8192)", err: "old-style"},
		{name: "materialized view without TO refused", in: "CREATE MATERIALIZED VIEW mv ENGINE = MergeTree ORDER BY x AS SELECT 1 AS x", err: "needs TO"},
		{name: "rename refused", in: "RENAME TABLE ev TO ev2", err: "no cluster form"},
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
