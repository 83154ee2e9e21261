package store_test

import (
	"context"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/teller-analytics/teller/internal/chcluster"
	"github.com/teller-analytics/teller/internal/testenv"
	"github.com/teller-analytics/teller/pkg/report"
	"github.com/teller-analytics/teller/pkg/sessionizer"
	"github.com/teller-analytics/teller/pkg/store"
)

// The figures of docs/scaling.md: writes and reports on one server and on
// the 2x2 test cluster, side by side in one run (go test -count N
// interleaves them), and the disk the cluster uses for the same rows.
//
//	go test ./pkg/store -run '^$' -bench 'Cluster' -count 3 -benchtime 20x

// benchEvents is batch n of 1000 events: 100 visitors, 10 events each, all
// in one session per visitor, on the site "s" on 2026-04-03.
func benchEvents(n int) []store.EventRow {
	base := time.Date(2026, 4, 3, 8, 0, 0, 0, time.UTC).UnixMilli()
	rows := make([]store.EventRow, 0, 1000)
	for v := 0; v < 100; v++ {
		visitor := uuid.NewSHA1(uuid.NameSpaceOID, []byte(fmt.Sprint("bench-visitor", n, "/", v)))
		session := uuid.NewSHA1(uuid.NameSpaceOID, []byte(fmt.Sprint("bench-session", n, "/", v)))
		start := base + int64(n%600)*60_000 + int64(v)*1000
		for i := 0; i < 10; i++ {
			path := "/p" + strconv.Itoa((v+i)%20)
			rows = append(rows, store.EventRow{
				EventID: uuid.NewSHA1(uuid.NameSpaceOID, []byte(fmt.Sprint("bench-event", n, "/", v, "/", i))),
				SiteID:  "s", VisitorID: visitor, SessionID: session, TimeMs: start + int64(i)*20_000,
				Kind: "pageview", Name: "pageview", URL: "https://s.example" + path, Hostname: "s.example", Pathname: path,
				Browser: []string{"Firefox", "Chrome", "Safari"}[v%3], OS: "Linux", Device: "desktop",
				SessionStartedMs: start, SessionStartReason: "first_visit", IsSessionStart: i == 0,
				Channel: "direct", ScreenWidth: 1280, ScreenHeight: 800,
			})
		}
	}
	return rows
}

// benchPair is one server and the cluster, both migrated, for a benchmark.
func benchPair(b *testing.B) (single, cluster *store.DB, cl *chcluster.Cluster) {
	b.Helper()
	ctx := context.Background()
	one := testenv.ClickHouse(b)
	single = testenv.OpenStore(b, one, "teller")
	var err error
	cl, err = chcluster.Start(ctx, chcluster.Options{Dir: b.TempDir(), Logger: testenv.Logger(b)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(cl.Stop)
	cluster, err = store.Open(ctx, store.Config{Addr: cl.Nodes[0].Addr(), Database: "teller", User: "default",
		DialTimeout: 5 * time.Second, Cluster: chcluster.Name}, testenv.Logger(b))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cluster.Close() })
	if err := cluster.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	return single, cluster, cl
}

// BenchmarkClusterWrite writes batches of 1000 events as the sessionizer
// does (one insert each; the materialized view runs on every server that
// takes rows), then reports the disk both hold for them.
func BenchmarkClusterWrite(b *testing.B) {
	ctx := context.Background()
	single, cluster, cl := benchPair(b)
	next := 0
	// Rounds alternate the two, so that a load change on the shared machine
	// hits both alike.
	for round := 1; round <= 3; round++ {
		for _, tc := range []struct {
			name string
			db   *store.DB
		}{{"single", single}, {"cluster", cluster}} {
			b.Run(fmt.Sprintf("round%d/%s", round, tc.name), func(b *testing.B) {
				batches := make([][]store.EventRow, b.N)
				for i := range batches {
					batches[i] = benchEvents(next)
					next++
				}
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if err := tc.db.WriteEvents(ctx, batches[i]); err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "events/s")
			})
		}
	}
	// Replication's write amplification: active parts of events on every
	// server of the cluster against the one server, which hold the same
	// rows. (Before merges both may hold some rows twice; the ratio is what
	// counts.)
	b.Run("disk", func(b *testing.B) {
		parts := func(q func(string) string, table string) (bytes, rows float64) {
			f := strings.Fields(q(fmt.Sprintf(`SELECT sum(bytes_on_disk), sum(rows) FROM system.parts WHERE active AND database = 'teller' AND table = '%s'`, table)))
			bs, _ := strconv.ParseFloat(f[0], 64)
			rs, _ := strconv.ParseFloat(f[1], 64)
			return bs, rs
		}
		sb, sr := parts(func(s string) string { return query(b, single, s) }, "events")
		var cb, cr float64
		for _, n := range cl.Nodes {
			if _, err := n.Query(ctx, "SYSTEM SYNC REPLICA teller.events_local"); err != nil {
				b.Fatal(err)
			}
			nb, nr := parts(func(s string) string {
				out, err := n.Query(ctx, s)
				if err != nil {
					b.Fatal(err)
				}
				return out
			}, "events_local")
			cb, cr = cb+nb, cr+nr
		}
		if sr == 0 || sb == 0 {
			b.Fatalf("the single server holds %v rows in %v bytes", sr, sb)
		}
		b.ReportMetric(cr/sr, "rows-ratio")
		b.ReportMetric(cb/sb, "bytes-ratio")
		b.ReportMetric(sb/sr, "single-bytes/row")
	})
}

// BenchmarkClusterReports runs two reports over the same 50,000 events on
// one server and through the cluster's Distributed tables.
func BenchmarkClusterReports(b *testing.B) {
	ctx := context.Background()
	single, cluster, _ := benchPair(b)
	for _, db := range []*store.DB{single, cluster} {
		for n := 0; n < 50; n++ {
			writeWithVersions(b, db, benchEvents(n))
		}
	}
	q := report.Query{Site: "s", From: time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 4, 8, 0, 0, 0, 0, time.UTC)}
	want, err := report.New(single).Summary(ctx, q)
	if err != nil {
		b.Fatal(err)
	}
	if got, err := report.New(cluster).Summary(ctx, q); err != nil || !reflect.DeepEqual(got, want) {
		b.Fatalf("cluster summary %+v, %v; want the single server's %+v", got, err, want)
	}
	for _, tc := range []struct {
		name string
		db   *store.DB
	}{{"single", single}, {"cluster", cluster}} {
		r := report.New(tc.db)
		b.Run("summary/"+tc.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if _, err := r.Summary(ctx, q); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("pages/"+tc.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if _, err := r.Breakdown(ctx, q, report.Pages, 10); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// query runs a one-row query on db and returns its columns tab-separated.
func query(b *testing.B, db *store.DB, q string) string {
	b.Helper()
	rows, err := db.Query(context.Background(), q)
	if err != nil {
		b.Fatal(err)
	}
	defer rows.Close()
	var x, y uint64
	if !rows.Next() {
		b.Fatalf("%s: no row", q)
	}
	if err := rows.Scan(&x, &y); err != nil {
		b.Fatal(err)
	}
	return fmt.Sprint(x, "\t", y)
}

// writeWithVersions writes rows and their sessions' versions, as the
// sessionizer's flush does (its own mapping, pkg/sessionizer).
func writeWithVersions(t testing.TB, db *store.DB, rows []store.EventRow) {
	t.Helper()
	ctx := context.Background()
	versions, err := sessionizer.SessionVersions(rows)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.WriteSessionVersions(ctx, versions); err != nil {
		t.Fatal(err)
	}
	if err := db.WriteEvents(ctx, rows); err != nil {
		t.Fatal(err)
	}
}
