package report_test

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/teller-analytics/teller/internal/chtest"
	"github.com/teller-analytics/teller/pkg/report"
)

// TestPreviousPeriodKept: with a PreviousCache, Compare and Overview give
// exactly what they give without one, on both engines, while the previous
// period's rows stay as they were (its figures are then kept: no scan of
// it), and after each way those rows can change: a new version of a
// session, the same versions rewritten with another bot flag or channel
// (as a resessionize with new rules does), a filter on a session column.
// A filter on events is never answered from the cache.
func TestPreviousPeriodKept(t *testing.T) {
	const site = "prevcache"
	// March 2021 (partition 202103) holds no other test's rows, so the test
	// may drop and rewrite it.
	prevFrom := time.Date(2021, 3, 1, 0, 0, 0, 0, time.UTC)
	from := prevFrom.Add(7 * 24 * time.Hour)
	q := report.Query{Site: site, From: from, To: from.Add(7 * 24 * time.Hour)}
	type sess struct {
		name      string
		visitor   string
		at        time.Time
		version   uint32
		pageviews uint32
		bot       uint8
		channel   string
	}
	id := func(kind, name string) uuid.UUID {
		return uuid.NewSHA1(uuid.NameSpaceOID, []byte(site+"/"+kind+"/"+name))
	}
	cols := []string{"site_id", "session_date", "session_id", "visitor_id", "started_at", "start_reason", "version",
		"first_ms", "last_ms", "events", "pageviews", "is_bot", "entry_pathname", "exit_pathname", "channel"}
	base := []sess{
		{"p1", "v1", prevFrom.Add(26 * time.Hour), 2, 2, 0, "direct"},
		{"p2", "v2", prevFrom.Add(50 * time.Hour), 1, 1, 0, "organic_search"},
		{"p3", "v2", prevFrom.Add(90 * time.Hour), 3, 3, 0, "direct"},
		{"c1", "v1", from.Add(5 * time.Hour), 3, 3, 0, "direct"},
		{"c2", "v3", from.Add(60 * time.Hour), 1, 1, 0, "referral"},
	}
	each(t, func(t *testing.T, plain *report.Reports, e *chtest.Engine) {
		ctx := context.Background()
		write := func(ss ...sess) {
			t.Helper()
			var rows [][]any
			for _, s := range ss {
				ms := uint64(s.at.UnixMilli())
				rows = append(rows, []any{site, s.at, id("session", s.name), id("visitor", s.visitor), s.at, "first_visit",
					s.version, ms, ms + uint64(s.pageviews)*7000, s.version, s.pageviews, s.bot, "/in", "/out", s.channel})
			}
			if err := e.Insert(ctx, "session_versions", cols, rows); err != nil {
				t.Fatal(err)
			}
		}
		rewrite := func(ss ...sess) {
			t.Helper()
			if err := e.Exec(ctx, "ALTER TABLE session_versions DROP PARTITION 202103"); err != nil {
				t.Fatal(err)
			}
			write(ss...)
		}
		for _, byPart := range []bool{false, true} {
			t.Run(map[bool]string{false: "scanned marks", true: "part marks"}[byPart], func(t *testing.T) {
				rewrite(base...)
				kept := report.NewPreviousCache(0)
				r := report.New(e).WithPreviousCache(kept)
				parts := report.NewPartMarks(0)
				if byPart {
					r.WithPartMarks(parts)
				}
				// check runs Compare and Overview on both and wants them equal, and
				// the cache to have kept (hit) or computed (miss) as said.
				check := func(step string, q report.Query, hits, misses uint64) report.Comparison {
					t.Helper()
					want, err := plain.Compare(ctx, q)
					if err != nil {
						t.Fatal(err)
					}
					h0, m0 := kept.Stats()
					var log report.SQLLog
					got, err := r.Compare(report.WithSQLLog(ctx, &log), q)
					if err != nil {
						t.Fatal(err)
					}
					if !reflect.DeepEqual(got, want) {
						t.Errorf("%s: Compare %+v, want %+v", step, got, want)
					}
					wantOv, err := plain.Overview(ctx, q, time.UTC, report.MetricVisitors, report.Day, true)
					if err != nil {
						t.Fatal(err)
					}
					gotOv, err := r.Overview(report.WithSQLLog(ctx, &log), q, time.UTC, report.MetricVisitors, report.Day, true)
					if err != nil {
						t.Fatal(err)
					}
					if !reflect.DeepEqual(gotOv, wantOv) {
						t.Errorf("%s: Overview %+v, want %+v", step, gotOv, wantOv)
					}
					h1, m1 := kept.Stats()
					if h1-h0 != hits || m1-m0 != misses {
						t.Errorf("%s: %d kept and %d computed, want %d and %d; statements:\n%s", step, h1-h0, m1-m0, hits, misses,
							strings.Join(log.Statements(), "\n\n"))
					}
					if hits > 0 && !strings.Contains(strings.Join(log.Statements(), "\n"), "figures were kept") {
						t.Errorf("%s: the statements do not say the previous period was kept:\n%s", step, strings.Join(log.Statements(), "\n\n"))
					}
					return got
				}

				first := check("first view", q, 1, 1) // Compare computes, Overview keeps
				if first.Previous.Sessions != 3 || first.Previous.Visitors != 2 || first.Current.Sessions != 2 {
					t.Fatalf("first view: %+v, want 3 previous sessions of 2 visitors, 2 current", first)
				}
				check("unchanged", q, 2, 0)

				// A new version of a previous session: one more pageview.
				write(sess{"p2", "v2", prevFrom.Add(50 * time.Hour), 2, 2, 0, "organic_search"})
				if got := check("new version", q, 1, 1); got.Previous.Pageviews != first.Previous.Pageviews+1 {
					t.Errorf("new version: %d previous pageviews, want %d", got.Previous.Pageviews, first.Previous.Pageviews+1)
				}
				// A current session changing leaves the previous period's figures kept.
				write(sess{"c2", "v3", from.Add(60 * time.Hour), 2, 2, 0, "referral"})
				check("current changed", q, 2, 0)

				// The same sessions and versions rewritten, one now flagged as a bot.
				rewrite(base...)
				check("base rewritten", q, 1, 1)
				check("base rewritten, again", q, 2, 0)
				rewritten := append([]sess(nil), base...)
				rewritten[0].bot = 1
				rewrite(rewritten...)
				if got := check("bot flag rewritten", q, 1, 1); got.Previous.Sessions != 2 {
					t.Errorf("bot flag rewritten: %d previous sessions, want 2", got.Previous.Sessions)
				}

				// A filter on a session column: kept apart, and a rewrite of that
				// column alone is seen.
				direct := q
				direct.Filters = []report.Filter{{Dimension: report.Channels, Op: report.Is, Value: "direct"}}
				check("channel filter", direct, 1, 1)
				check("channel filter again", direct, 2, 0)
				rewritten[1].channel = "direct"
				rewrite(rewritten...)
				if got := check("channel rewritten", direct, 1, 1); got.Previous.Sessions != 2 {
					t.Errorf("channel rewritten: %d previous direct sessions, want 2 (p2 and p3)", got.Previous.Sessions)
				}

				// A filter on events: the mark does not cover events, so no cache.
				pages := q
				pages.Filters = []report.Filter{{Dimension: report.Pages, Op: report.Is, Value: "/in"}}
				check("page filter", pages, 0, 0)

				// A merge: new parts, the same rows, still kept.
				if err := e.Exec(ctx, "OPTIMIZE TABLE session_versions PARTITION 202103 FINAL"); err != nil {
					t.Fatal(err)
				}
				check("merged", direct, 2, 0)
				if read, reused, scans := parts.Stats(); byPart && (read == 0 || reused == 0 || scans != 0) {
					t.Errorf("part marks: %d parts read, %d kept parts used, %d scans; want some read, some used, no scan", read, reused, scans)
				}
			})
		}
	})
}
