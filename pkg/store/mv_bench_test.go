package store_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/teller-analytics/teller/internal/chtest"
	"github.com/teller-analytics/teller/internal/testenv"
	"github.com/teller-analytics/teller/pkg/store"
)

// BenchmarkEventsInsertSessionsMV measures what 0060 saved: ClickHouse
// 18.16's CPU per events insert into a database with today's schema and
// into one where 0003's sessions_agg and sessions_mv are created again, in
// interleaved pairs (the machine is shared), through the product's insert
// (WriteEvents). It reports the server's CPU per 1,000 events of each and
// their ratio, medians over the pairs; background merges running during an
// insert count towards it.
//
//	go test ./pkg/store -run '^$' -bench EventsInsertSessionsMV -benchtime 12x
func BenchmarkEventsInsertSessionsMV(b *testing.B) {
	const rowsPerInsert = 30000
	srv := testenv.ClickHouse(b)
	ctx := context.Background()
	without, with := testenv.OpenStore(b, srv, "nomv"), testenv.OpenStore(b, srv, "withmv")
	if err := chtest.RestoreSessionsAgg(ctx, with); err != nil {
		b.Fatal(err)
	}
	if testenv.ClientQuery(b, srv, "withmv", "EXISTS TABLE sessions_mv") != "1" {
		b.Fatal("sessions_mv was not created again")
	}
	rng := rand.New(rand.NewPCG(7, 8))
	paths := []string{"/", "/pricing", "/docs", "/docs/start", "/blog/a", "/blog/b", "/about", "/signup"}
	channels := []string{"direct", "organic_search", "referral", "organic_social", "email"}
	browsers := []string{"Chrome", "Firefox", "Safari", "Edge"}
	base := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	batch := func(round int) []store.EventRow {
		rows := make([]store.EventRow, 0, rowsPerInsert)
		for len(rows) < rowsPerInsert {
			sid, vid := uuid.New(), uuid.New()
			start := base + int64(round)*3_600_000 + rng.Int64N(3_600_000)
			c := rng.IntN(len(channels))
			for i := range 1 + rng.IntN(6) {
				p := paths[rng.IntN(len(paths))]
				rows = append(rows, store.EventRow{EventID: uuid.New(), SiteID: fmt.Sprint("site", rng.IntN(5)), VisitorID: vid, SessionID: sid,
					TimeMs: start + int64(i)*20_000, Kind: "pageview", Name: "pageview", URL: "https://example.com" + p,
					Hostname: "example.com", Pathname: p, Title: "Title of " + p, Channel: channels[c], Browser: browsers[rng.IntN(4)],
					BrowserVersion: "123", OS: "Linux", Device: "desktop", ScreenWidth: 1920, ScreenHeight: 1080,
					SessionStartedMs: start, SessionStartReason: "first_visit", IsSessionStart: i == 0, Country: "DE"})
			}
		}
		return rows
	}
	insert := func(db *store.DB, rows []store.EventRow) time.Duration {
		before := srv.CPUTime()
		if err := db.WriteEvents(ctx, rows); err != nil {
			b.Fatal(err)
		}
		return srv.CPUTime() - before
	}
	var cpuWith, cpuWithout []float64
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		rows := batch(i)
		// Alternate which goes first, so a merge started by one insert
		// does not always land on the same side.
		var w, wo time.Duration
		if i%2 == 0 {
			w, wo = insert(with, rows), insert(without, rows)
		} else {
			wo, w = insert(without, rows), insert(with, rows)
		}
		cpuWith = append(cpuWith, float64(w.Milliseconds())*1000/rowsPerInsert)
		cpuWithout = append(cpuWithout, float64(wo.Milliseconds())*1000/rowsPerInsert)
	}
	b.StopTimer()
	median := func(v []float64) float64 { s := slices.Clone(v); slices.Sort(s); return s[len(s)/2] }
	mw, mwo := median(cpuWith), median(cpuWithout)
	b.ReportMetric(mw, "ms-CPU/1k-events-with-mv")
	b.ReportMetric(mwo, "ms-CPU/1k-events-without")
	if mwo > 0 {
		b.ReportMetric(mw/mwo, "ratio")
	}
	b.Logf("server CPU per 1,000 events, with view: %v; without: %v", cpuWith, cpuWithout)
}
