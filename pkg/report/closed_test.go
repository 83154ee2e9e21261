package report_test

import (
	"context"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/teller-analytics/teller/internal/chtest"
	"github.com/teller-analytics/teller/internal/reporttest"
	"github.com/teller-analytics/teller/pkg/report"
)

// TestClosedPartKept: with a ClosedCache, every grouped report (Compare,
// Overview, Series, the session breakdowns one by one and at once, the
// pages, the stored events of Completeness) gives exactly what it gives
// without one, on both engines, while
// the closed part's rows stay as they were (its figures are then kept and
// only the open part is read), and after each way those rows can change:
// a new version of a closed session, a new event, the same versions rewritten with
// another bot flag or channel, a filter on a session column. Visitors with
// sessions on both sides of the cut are counted once. A filter on events is
// never answered from the cache.
func TestClosedPartKept(t *testing.T) {
	const site = "closedcache"
	// April 2021 (partition 202104) holds no other test's rows, so the test
	// may drop and rewrite it.
	prevFrom := time.Date(2021, 4, 1, 0, 0, 0, 0, time.UTC)
	from := prevFrom.Add(10 * 24 * time.Hour)
	q := report.Query{Site: site, From: from, To: from.Add(10 * 24 * time.Hour)}
	cut := from.Add(7 * 24 * time.Hour)
	now := func() time.Time { return cut.Add(48*time.Hour + 5*time.Hour) }
	type sess struct {
		name      string
		visitor   string
		at        time.Time
		version   uint32
		pageviews uint32
		bot       uint8
		channel   string
		pages     []string
	}
	id := func(kind, name string) uuid.UUID {
		switch kind + "/" + name {
		// reinterpretAsString drops these ids' trailing zero bytes.
		case "visitor/v4":
			return uuid.MustParse("01000000-0000-0000-0000-000000000000")
		case "visitor/v5":
			return uuid.MustParse("00000000-0000-0000-0000-000000000100")
		}
		return uuid.NewSHA1(uuid.NameSpaceOID, []byte(site+"/"+kind+"/"+name))
	}
	cols := []string{"site_id", "session_date", "session_id", "visitor_id", "started_at", "start_reason", "version",
		"first_ms", "last_ms", "events", "pageviews", "is_bot", "entry_pathname", "exit_pathname", "channel", "browser",
		"pages", "page_views"}
	base := []sess{
		{"p1", "v1", prevFrom.Add(26 * time.Hour), 2, 2, 0, "direct", []string{"/", "/a"}},
		{"p2", "v2", prevFrom.Add(50 * time.Hour), 1, 1, 0, "organic_search", []string{"/"}},
		{"c1", "v1", from.Add(5 * time.Hour), 3, 3, 0, "direct", []string{"/", "/b"}},
		{"c2", "v3", from.Add(60 * time.Hour), 1, 1, 0, "referral", []string{"/b"}},
		{"c3", "v2", from.Add(100 * time.Hour), 2, 2, 0, "direct", []string{"/a"}},
		{"c4", "v4", cut.Add(-time.Second), 1, 1, 0, "organic_search", []string{"/"}},
		// After the cut: v1 and v4 again (counted once with their closed
		// sessions), v5 new.
		{"o1", "v1", cut, 2, 2, 0, "direct", []string{"/", "/c"}},
		{"o2", "v4", cut.Add(20 * time.Hour), 1, 1, 0, "organic_search", []string{"/"}},
		{"o3", "v5", cut.Add(30 * time.Hour), 1, 1, 0, "referral", []string{"/b"}},
	}
	dims := []report.Dimension{report.Channels, report.Browsers, report.EntryPages, report.ExitPages}
	each(t, func(t *testing.T, plain *report.Reports, e *chtest.Engine) {
		ctx := context.Background()
		write := func(ss ...sess) {
			t.Helper()
			var rows [][]any
			for _, s := range ss {
				ms := uint64(s.at.UnixMilli())
				views := make([]uint32, len(s.pages))
				for i := range views {
					views[i] = 1
				}
				views[0] += s.pageviews - uint32(len(s.pages))
				rows = append(rows, []any{site, s.at, id("session", s.name), id("visitor", s.visitor), s.at, "first_visit",
					s.version, ms, ms + uint64(s.pageviews)*7000, s.version, s.pageviews, s.bot, s.pages[0],
					s.pages[len(s.pages)-1], s.channel, "Firefox", s.pages, views})
			}
			if err := e.Insert(ctx, "session_versions", cols, rows); err != nil {
				t.Fatal(err)
			}
		}
		// Custom events of c1, c2 and o1 (v1 on both sides of the cut).
		type ev struct {
			name, session, visitor string
			at                     time.Time
			n                      int
		}
		evs := []ev{{"Signup", "c1", "v1", from.Add(5 * time.Hour), 1}, {"Download", "c2", "v3", from.Add(60 * time.Hour), 1},
			{"Signup", "o1", "v1", cut, 1}, {"Download", "c1", "v1", from.Add(5 * time.Hour), 2}}
		writeEvents := func(es ...ev) {
			t.Helper()
			var rows [][]any
			for _, x := range es {
				rows = append(rows, []any{site, x.at.Add(time.Duration(x.n) * time.Second), id("event", x.session+x.name+strconv.Itoa(x.n)),
					id("visitor", x.visitor), id("session", x.session), x.at, "event", x.name})
			}
			if err := e.Insert(ctx, "events", []string{"site_id", "ts", "event_id", "visitor_id", "session_id",
				"session_started_at", "kind", "name"}, rows); err != nil {
				t.Fatal(err)
			}
		}
		rewrite := func(ss ...sess) {
			t.Helper()
			for _, table := range []string{"session_versions", "events"} {
				if err := e.Exec(ctx, "ALTER TABLE "+table+" DROP PARTITION 202104"); err != nil {
					t.Fatal(err)
				}
			}
			write(ss...)
			writeEvents(evs...)
		}
		// Marks read by a scan, and read part by part (PartMarks): the same
		// steps, the same answers.
		for _, byPart := range []bool{false, true} {
			t.Run(map[bool]string{false: "scanned marks", true: "part marks"}[byPart], func(t *testing.T) {
				rewrite(base...)
				cache := report.NewClosedCache(0)
				r := report.New(e).WithClosedCache(cache).WithClock(now)
				parts := report.NewPartMarks(0)
				if byPart {
					r.WithPartMarks(parts)
				}
				same := func(step, what string, got, want any, err1, err2 error) {
					t.Helper()
					if err1 != nil || err2 != nil {
						t.Fatalf("%s: %s: %v, %v", step, what, err1, err2)
					}
					if !reflect.DeepEqual(got, want) {
						t.Errorf("%s: %s\n got %+v\nwant %+v", step, what, got, want)
					}
				}
				// check runs every grouped report on both and wants them equal, and
				// the cache to have kept (kept) or computed every closed part.
				check := func(step string, q report.Query, kept bool) report.Comparison {
					t.Helper()
					var log report.SQLLog
					lctx := report.WithSQLLog(ctx, &log)
					h0, m0, _ := cache.Stats()
					want, err1 := plain.Compare(ctx, q)
					got, err2 := r.Compare(lctx, q)
					same(step, "Compare", got, want, err1, err2)
					for _, loc := range []*time.Location{time.UTC, reporttest.Location()} {
						wantOv, err1 := plain.Overview(ctx, q, loc, report.MetricVisitors, report.Day, true)
						gotOv, err2 := r.Overview(lctx, q, loc, report.MetricVisitors, report.Day, true)
						same(step, "Overview "+loc.String(), gotOv, wantOv, err1, err2)
						for _, iv := range []report.Interval{report.Day, report.Week} {
							wantS, err1 := plain.Series(ctx, q, loc, report.MetricVisitors, iv)
							gotS, err2 := r.Series(lctx, q, loc, report.MetricVisitors, iv)
							same(step, "Series "+string(iv)+" "+loc.String(), gotS, wantS, err1, err2)
						}
					}
					for _, loc := range []*time.Location{time.UTC, reporttest.Location()} {
						want, err1 := plain.Completeness(ctx, q, loc)
						got, err2 := r.Completeness(lctx, q, loc)
						same(step, "Completeness "+loc.String(), got, want, err1, err2)
					}
					for _, limit := range []int{1, 2, 1000} {
						wantE, err1 := plain.Breakdown(ctx, q, report.Events, limit)
						gotE, err2 := r.Breakdown(lctx, q, report.Events, limit)
						same(step, "Breakdown events", gotE, wantE, err1, err2)
						wantB, err1 := plain.Breakdowns(ctx, q, append(dims, report.Pages), limit)
						gotB, err2 := r.Breakdowns(lctx, q, append(dims, report.Pages), limit)
						same(step, "Breakdowns", gotB, wantB, err1, err2)
						for _, d := range dims {
							wantR, err1 := plain.Breakdown(ctx, q, d, limit)
							gotR, err2 := r.Breakdown(lctx, q, d, limit)
							same(step, "Breakdown "+string(d), gotR, wantR, err1, err2)
						}
					}
					h1, m1, _ := cache.Stats()
					statements := strings.Join(log.Statements(), "\n\n")
					switch {
					case kept && (m1 != m0 || h1 == h0):
						t.Errorf("%s: %d kept and %d computed, want every closed part kept; statements:\n%s", step, h1-h0, m1-m0, statements)
					case kept && !strings.Contains(statements, "were kept from an earlier run"):
						t.Errorf("%s: the statements do not say the closed part was kept:\n%s", step, statements)
					case !kept && m1 == m0:
						t.Errorf("%s: %d kept and nothing computed, want the closed parts computed", step, h1-h0)
					}
					return got
				}

				first := check("first view", q, false)
				if first.Current.Sessions != 7 || first.Current.Visitors != 5 || first.Previous.Sessions != 2 {
					t.Fatalf("first view: %+v, want 7 current sessions of 5 visitors, 2 previous", first)
				}
				check("unchanged", q, true)

				// A new version of a closed session: one more pageview.
				write(sess{"c2", "v3", from.Add(60 * time.Hour), 2, 2, 0, "referral", []string{"/b", "/d"}})
				if got := check("new version", q, false); got.Current.Pageviews != first.Current.Pageviews+1 {
					t.Errorf("new version: %d pageviews, want %d", got.Current.Pageviews, first.Current.Pageviews+1)
				}
				check("new version, again", q, true)
				// A new custom event of a closed session.
				writeEvents(ev{"Signup", "c2", "v3", from.Add(60 * time.Hour), 3})
				check("new event", q, false)
				if rows, err := r.Breakdown(ctx, q, report.Events, 10); err != nil || len(rows) != 2 || rows[0].Sessions != 3 || rows[0].Visitors != 2 {
					t.Errorf("new event: %+v, %v; want Signup in 3 sessions of 2 visitors", rows, err)
				}
				check("new event, again", q, true)
				// An open session changing leaves the closed part kept.
				write(sess{"o3", "v5", cut.Add(30 * time.Hour), 2, 2, 0, "referral", []string{"/b", "/e"}})
				check("open changed", q, true)

				// The same sessions and versions rewritten, one now flagged as a bot.
				rewrite(base...)
				check("base rewritten", q, false)
				rewritten := append([]sess(nil), base...)
				rewritten[2].bot = 1
				rewrite(rewritten...)
				if got := check("bot flag rewritten", q, false); got.Current.Sessions != 6 {
					t.Errorf("bot flag rewritten: %d sessions, want 6", got.Current.Sessions)
				}

				// A filter on a session column: kept apart, and a rewrite of that
				// column alone is seen.
				direct := q
				direct.Filters = []report.Filter{{Dimension: report.Channels, Op: report.Is, Value: "direct"}}
				check("channel filter", direct, false)
				check("channel filter again", direct, true)
				rewritten[3].channel = "direct"
				rewrite(rewritten...)
				if got := check("channel rewritten", direct, false); got.Current.Sessions != 3 {
					t.Errorf("channel rewritten: %d direct sessions, want 3 (c2, c3, o1)", got.Current.Sessions)
				}
				// The same rewrite seen without the filter: by the channel breakdown.
				check("channel rewritten, unfiltered", q, false)

				// A range wholly before the cut is closed as a whole: kept too.
				closedOnly := q
				closedOnly.To = cut.Add(-time.Hour)
				check("closed range", closedOnly, false)
				check("closed range again", closedOnly, true)

				// A merge gives new parts with the same rows: still kept. A second
				// copy of a row is a change until a merge removes it, and a change
				// again then.
				optimize := func() {
					t.Helper()
					for _, table := range []string{"session_versions", "events"} {
						if err := e.Exec(ctx, "OPTIMIZE TABLE "+table+" PARTITION 202104 FINAL"); err != nil {
							t.Fatal(err)
						}
					}
				}
				optimize()
				check("merged", q, true)
				write(rewritten[4])
				check("a row written twice", q, false)
				optimize()
				check("written twice, merged", q, false)
				check("written twice, merged, again", q, true)

				// A filter on events: the mark does not cover events, so no cache.
				pages := q
				pages.Filters = []report.Filter{{Dimension: report.Pages, Op: report.Is, Value: "/"}}
				h0, m0, _ := cache.Stats()
				want, err1 := plain.Compare(ctx, pages)
				got, err2 := r.Compare(ctx, pages)
				same("page filter", "Compare", got, want, err1, err2)
				if h1, m1, _ := cache.Stats(); h1 != h0 || m1 != m0 {
					t.Errorf("page filter: the cache was used (%d kept, %d computed)", h1-h0, m1-m0)
				}
				// Figures too large to keep: computed at the first view, then
				// the plain statements (no closed part computed again).
				small := report.NewClosedCache(1024)
				rs := report.New(e).WithClosedCache(small).WithClock(now)
				for i, step := range []string{"too large", "too large, again"} {
					var log report.SQLLog
					want, err1 := plain.Breakdowns(ctx, q, dims, 10)
					got, err2 := rs.Breakdowns(report.WithSQLLog(ctx, &log), q, dims, 10)
					same(step, "Breakdowns", got, want, err1, err2)
					if h, m, b := small.Stats(); h != 0 || m != 1 || b != 0 {
						t.Errorf("%s: %d kept, %d computed, %d bytes; want the closed part computed once and not kept", step, h, m, b)
					}
					if split := strings.Contains(strings.Join(log.Statements(), "\n"), "g_key"); split != (i == 0) {
						t.Errorf("%s: split %t, want %t", step, split, i == 0)
					}
				}
				if read, reused, scans := parts.Stats(); byPart && (read == 0 || reused == 0 || scans != 0) {
					t.Errorf("part marks: %d parts read, %d kept parts used, %d scans; want some read, some used, no scan", read, reused, scans)
				}
			})
		}
	})
}
