package store_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/teller-analytics/teller/internal/chcluster"
	"github.com/teller-analytics/teller/internal/testenv"
	"github.com/teller-analytics/teller/pkg/store"
)

// startCluster starts ZooKeeper and 2 shards x 2 replicas of ClickHouse
// 18.16 for the test.
func startCluster(t *testing.T) *chcluster.Cluster {
	t.Helper()
	c, err := chcluster.Start(context.Background(), chcluster.Options{Dir: t.TempDir(), Logger: testenv.Logger(t)})
	if err != nil {
		t.Fatalf("start the test cluster (scripts/install-deps.sh test installs ZooKeeper): %v", err)
	}
	t.Cleanup(c.Stop)
	return c
}

// TestMigrateOnCluster applies the migrations to a cluster created empty,
// again from another server, and checks every server: the single-server
// tables and views exist everywhere with the single server's columns, the
// sharded ones with a Replicated _local table behind them, and the ledger
// is one and the same on every server.
func TestMigrateOnCluster(t *testing.T) {
	ctx := context.Background()
	cl := startCluster(t)
	single := testenv.ClickHouse(t)
	ref := testenv.OpenStore(t, single, "teller")
	_ = ref

	open := func(node int) *store.DB {
		t.Helper()
		cfg := store.Config{Addr: cl.Nodes[node].Addr(), Database: "teller", User: "default", Cluster: chcluster.Name}
		db, err := store.Open(ctx, cfg, testenv.Logger(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	first := open(0)
	if err := first.Migrate(ctx); err != nil {
		t.Fatalf("migrate an empty cluster: %v", err)
	}
	// Again on the same server, and from a server of the other shard: both
	// find every migration applied and change nothing.
	if err := first.Migrate(ctx); err != nil {
		t.Fatalf("migrate again: %v", err)
	}
	if err := open(3).Migrate(ctx); err != nil {
		t.Fatalf("migrate again from shard 2: %v", err)
	}

	// What a single server has: name -> engine, columns.
	const tablesQ = `SELECT name, engine FROM system.tables WHERE database = 'teller' ORDER BY name`
	const columnsQ = `SELECT table, name, type FROM system.columns WHERE database = 'teller' ORDER BY table, name`
	singleTables := rowsOf(t, testenv.ClientQuery(t, single, "teller", tablesQ))
	singleColumns := testenv.ClientQuery(t, single, "teller", columnsQ)
	singleLedger := testenv.ClientQuery(t, single, "teller", "SELECT version, name, checksum FROM schema_migrations ORDER BY version")
	if len(singleTables) < 15 {
		t.Fatalf("single server has %d tables: %v", len(singleTables), singleTables)
	}
	for _, n := range cl.Nodes {
		name := fmt.Sprintf("shard %d replica %d", n.Shard, n.Replica)
		if _, err := n.Query(ctx, "SYSTEM SYNC REPLICA teller.schema_migrations"); err != nil {
			t.Fatal(err)
		}
		tables := map[string]string{}
		for _, row := range rowsOf(t, testenv.ClientQuery(t, n.Server(), "teller", tablesQ)) {
			tables[row[0]] = row[1]
		}
		var want []string
		for _, row := range singleTables {
			tbl, engine := row[0], row[1]
			got, ok := tables[tbl]
			switch {
			case !ok:
				t.Errorf("%s: table %s missing", name, tbl)
			case strings.HasSuffix(engine, "MergeTree") && got == "Distributed":
				want = append(want, tbl)
				if local := tables[tbl+store.LocalSuffix]; local != "Replicated"+engine {
					t.Errorf("%s: %s_local has engine %q, want Replicated%s", name, tbl, local, engine)
				}
				delete(tables, tbl+store.LocalSuffix)
			case strings.HasSuffix(engine, "MergeTree") && got != "Replicated"+engine:
				t.Errorf("%s: %s has engine %s, want Replicated%s (or Distributed)", name, tbl, got, engine)
			case !strings.HasSuffix(engine, "MergeTree") && got != engine:
				t.Errorf("%s: %s has engine %s, want %s", name, tbl, got, engine)
			}
			delete(tables, tbl)
		}
		if len(tables) > 0 {
			t.Errorf("%s: tables a single server does not have: %v", name, tables)
		}
		if len(want) != 3 {
			t.Errorf("%s: sharded tables %v, want events, sessions_agg and session_versions", name, want)
		}
		// Every table, Distributed or not, has the single server's columns
		// (the _local ones too, under their own name).
		got := testenv.ClientQuery(t, n.Server(), "teller", columnsQ+" SETTINGS max_threads = 1")
		var filtered []string
		for _, line := range strings.Split(got, "\n") {
			if !strings.Contains(strings.SplitN(line, "\t", 2)[0], store.LocalSuffix) {
				filtered = append(filtered, line)
			}
		}
		if strings.Join(filtered, "\n") != singleColumns {
			t.Errorf("%s: columns differ from a single server", name)
		}
		if ledger := testenv.ClientQuery(t, n.Server(), "teller", "SELECT version, name, checksum FROM schema_migrations ORDER BY version"); ledger != singleLedger {
			t.Errorf("%s: ledger\n%s\nwant (each migration once, as on a single server)\n%s", name, ledger, singleLedger)
		}
	}
}

func rowsOf(t *testing.T, out string) [][]string {
	t.Helper()
	var rows [][]string
	for _, line := range strings.Split(out, "\n") {
		if line != "" {
			rows = append(rows, strings.Split(line, "\t"))
		}
	}
	return rows
}
