package store_test

import (
	"context"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/teller-analytics/teller/internal/chcluster"
	"github.com/teller-analytics/teller/internal/testenv"
	"github.com/teller-analytics/teller/pkg/report"
	"github.com/teller-analytics/teller/pkg/site"
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
		if len(want) != 2 {
			t.Errorf("%s: sharded tables %v, want events and session_versions (0060 dropped sessions_agg)", name, want)
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

// TestMoveSingleServerToCluster follows docs/scaling.md's move: the
// cluster schema created empty, every table but the ones materialized views
// fill copied through the Distributed tables with named columns, from the
// old server with remote(). The cluster then answers every figure as the
// old server did, and holds every row of every table.
func TestMoveSingleServerToCluster(t *testing.T) {
	ctx := context.Background()
	old := testenv.ClickHouse(t)
	src := testenv.OpenStore(t, old, "teller")
	if err := src.SaveSite(ctx, site.Site{ID: "s", Domains: []string{"s.example"}}); err != nil {
		t.Fatal(err)
	}
	for n := 0; n < 5; n++ {
		writeWithVersions(t, src, benchEvents(n))
	}
	cp := store.Checkpoint{Group: "g", Topic: "events", Partition: 3, NextOffset: 5000, ClockMs: 1775203200000, State: []byte("state")}
	if err := src.SaveCheckpoint(ctx, cp); err != nil {
		t.Fatal(err)
	}

	cl := startCluster(t)
	dst, err := store.Open(ctx, store.Config{Addr: cl.Nodes[1].Addr(), Database: "teller", User: "default", Cluster: chcluster.Name}, testenv.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	if err := dst.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	// Tables with data, as the old server lists them: not the ledger (the
	// cluster's own), not views.
	tables := rowsOf(t, testenv.ClientQuery(t, old, "teller", `SELECT name FROM system.tables WHERE database = 'teller'
 AND engine LIKE '%MergeTree' AND name != 'schema_migrations'
 ORDER BY name`))
	copied := 0
	for _, row := range tables {
		tbl := row[0]
		cols := strings.ReplaceAll(testenv.ClientQuery(t, old, "teller",
			fmt.Sprintf("SELECT arrayStringConcat(groupArray(name), ', ') FROM (SELECT name FROM system.columns WHERE database = 'teller' AND table = '%s')", tbl)), "\n", "")
		stmt := fmt.Sprintf("INSERT INTO teller.%s (%s) SELECT %s FROM remote('%s', teller.%s)", tbl, cols, cols, old.Addr(), tbl)
		if err := dst.Exec(ctx, stmt); err != nil {
			t.Fatalf("copy %s: %v", tbl, err)
		}
		copied++
	}
	if copied < 10 {
		t.Fatalf("copied %d tables: %v", copied, tables)
	}
	for _, n := range cl.Nodes {
		for _, tbl := range []string{"events_local", "session_versions_local", "sites", "sessionizer_checkpoints"} {
			if _, err := n.Query(ctx, "SYSTEM SYNC REPLICA teller."+tbl); err != nil {
				t.Fatal(err)
			}
		}
	}

	// Every table holds the same rows (as sets: merges may differ).
	reader := cl.Nodes[2].Server()
	hasRows := map[string]bool{"events": true, "session_versions": true, "sessions": true,
		"sites": true, "sessionizer_checkpoints": true}
	sorted := func(out string) string {
		lines := strings.Split(out, "\n")
		sort.Strings(lines)
		return strings.Join(lines, "\n")
	}
	for _, row := range append(tables, []string{"sessions"}) {
		// The last column marks the end of a row: the client's output is
		// trimmed, and a row whose last value is empty would lose it
		// wherever it comes last, which differs between servers.
		q := "SELECT DISTINCT *, 'end' FROM " + row[0]
		got, want := sorted(testenv.ClientQuery(t, reader, "teller", q)), sorted(testenv.ClientQuery(t, old, "teller", q))
		if got != want || want == "" && hasRows[row[0]] {
			t.Errorf("%s after the move: %d lines, want %d equal ones; first difference:\n%s", row[0], strings.Count(got, "\n")+1, strings.Count(want, "\n")+1, firstDiff(got, want))
		}
	}
	got, ok, err := dst.LoadCheckpoint(ctx, cp.Group, cp.Topic, cp.Partition)
	if err != nil || !ok || got.NextOffset != cp.NextOffset || string(got.State) != "state" {
		t.Errorf("checkpoint after the move: %+v, %v, %v; want %+v", got, ok, err, cp)
	}
	q := report.Query{Site: "s", From: time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 4, 8, 0, 0, 0, 0, time.UTC)}
	for name, run := range map[string]func(*report.Reports) (any, error){
		"summary": func(r *report.Reports) (any, error) { return r.Summary(ctx, q) },
		"pages":   func(r *report.Reports) (any, error) { return r.Breakdown(ctx, q, report.Pages, 100) },
		"browsers": func(r *report.Reports) (any, error) {
			return r.Breakdown(ctx, q, report.Browsers, 100)
		},
	} {
		want, err := run(report.New(src))
		if err != nil {
			t.Fatal(err)
		}
		got, err := run(report.New(dst))
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s after the move: %+v, %v; want %+v", name, got, err, want)
		}
	}
}

// TestRetriedInsertDeduplicatedOnAnyReplica: the sessionizer retries a
// failed insert, and on a cluster the retry may reach another server. The
// same rows through any server's Distributed table split into the same
// per-shard blocks, which replicated deduplication drops: no row is written
// twice, not even until a merge.
func TestRetriedInsertDeduplicatedOnAnyReplica(t *testing.T) {
	ctx := context.Background()
	cl := startCluster(t)
	var dbs []*store.DB
	for _, node := range []int{0, 1, 3} {
		db, err := store.Open(ctx, store.Config{Addr: cl.Nodes[node].Addr(), Database: "teller", User: "default", Cluster: chcluster.Name}, testenv.Logger(t))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		dbs = append(dbs, db)
	}
	if err := dbs[0].Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	duplicates := func() uint64 {
		var sum uint64
		for _, n := range cl.Nodes {
			out, err := n.Query(ctx, "SELECT sum(value) FROM system.events WHERE event = 'DuplicatedInsertedBlocks'")
			if err != nil {
				t.Fatal(err)
			}
			v, _ := strconv.ParseUint(strings.TrimSpace(out), 10, 64)
			sum += v
		}
		return sum
	}
	before := duplicates()
	rows := benchEvents(0)
	for _, db := range dbs { // the first write, then two retries elsewhere
		if err := db.WriteEvents(ctx, rows); err != nil {
			t.Fatal(err)
		}
	}
	// Each retry repeats one block per shard.
	if d := duplicates() - before; d < 4 {
		t.Errorf("%d inserted blocks deduplicated, want 4 (2 retries x 2 shards)", d)
	}
	if got := testenv.ClientQuery(t, cl.Nodes[2].Server(), "teller", "SELECT count(), uniqExact(event_id) FROM events"); got != fmt.Sprintf("%d\t%d", len(rows), len(rows)) {
		t.Errorf("rows, distinct events after three writes of %d events: %q", len(rows), got)
	}
}

// firstDiff is the first line where got and want differ, both sides.
func firstDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := 0; i < len(g) && i < len(w); i++ {
		if g[i] != w[i] {
			return fmt.Sprintf("got  %q\nwant %q", g[i], w[i])
		}
	}
	return "(one is a prefix of the other)"
}
