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

// TestBreakdownsFromHours: with hourly rollups built, Breakdowns and
// Overview read them (the statements say so) and return what Breakdown,
// Compare and Series return from the session rows, for every session
// dimension, interval and zone, on both engines; after a
// session of a built hour gets a new version (another channel, more
// pageviews, a bot flag), before and after that hour is built again, and
// with a visitor whose sessions span built and unbuilt hours.
func TestBreakdownsFromHours(t *testing.T) {
	const site = "hours"
	start := time.Date(2024, 5, 3, 0, 0, 0, 0, time.UTC)
	q := report.Query{Site: site, From: start, To: start.Add(6 * time.Hour)}
	id := func(kind, name string) uuid.UUID {
		return uuid.NewSHA1(uuid.NameSpaceOID, []byte("hours/"+kind+"/"+name))
	}
	type session struct {
		name, visitor    string
		at               time.Duration // after start
		version          uint32
		pageviews        uint32
		bot              uint8
		channel, browser string
	}
	cols := []string{"site_id", "session_date", "session_id", "visitor_id", "started_at", "start_reason", "version",
		"first_ms", "last_ms", "events", "pageviews", "is_bot", "entry_pathname", "exit_pathname", "channel", "browser", "country"}
	row := func(s session) []any {
		at := start.Add(s.at)
		ms := uint64(at.UnixMilli())
		return []any{site, at, id("session", s.name), id("visitor", s.visitor), at, "first_visit", s.version,
			ms, ms + uint64(s.pageviews)*7000, s.version, s.pageviews, s.bot, "/e/" + s.name[:1], "/x", s.channel, s.browser, "DE"}
	}
	sessions := []session{
		{"a1", "va", 10 * time.Minute, 2, 2, 0, "direct", "Firefox"},
		{"a2", "va", 3*time.Hour + 5*time.Minute, 1, 1, 0, "organic_search", "Firefox"},
		{"b1", "vb", 20 * time.Minute, 3, 3, 0, "direct", "Chrome"},
		{"b2", "vb", 70 * time.Minute, 1, 1, 0, "direct", "Chrome"},
		{"c1", "vc", 80 * time.Minute, 1, 1, 0, "referral", "Safari"},
		{"d1", "vd", 90 * time.Minute, 4, 4, 1, "direct", "Bot"},
		{"e1", "ve", 5*time.Hour + 30*time.Minute, 1, 1, 0, "organic_search", "Chrome"},
	}
	check := func(t *testing.T, r *report.Reports, wantHours bool) {
		t.Helper()
		dims := []report.Dimension{report.Channels, report.Browsers, report.EntryPages, report.Countries, report.StartReasons, report.Screens}
		for _, limit := range []int{1, 2, report.MaxLimit} {
			l := &report.SQLLog{}
			got, err := r.Breakdowns(report.WithSQLLog(ctx(t), l), q, dims, limit)
			if err != nil {
				t.Fatal(err)
			}
			used := false
			for _, s := range l.Statements() {
				used = used || strings.Contains(s, "FROM session_hours")
			}
			if used != wantHours {
				t.Errorf("limit %d: read session_hours %v, want %v:\n%s", limit, used, wantHours, strings.Join(l.Statements(), "\n\n"))
			}
			for _, d := range dims {
				want, err := r.Breakdown(ctx(t), q, d, limit)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got[d], want) {
					t.Errorf("limit %d, %s:\n got %+v\nwant %+v", limit, d, got[d], want)
				}
			}
		}
		// Overview against Compare and Series (session rows alone); in a
		// zone of half-hour offsets it cannot use the hours.
		for _, zone := range []string{"UTC", "Europe/Berlin", "Asia/Kolkata"} {
			loc, err := time.LoadLocation(zone)
			if err != nil {
				t.Fatal(err)
			}
			cmp, err := r.Compare(ctx(t), q)
			if err != nil {
				t.Fatal(err)
			}
			for _, iv := range report.Intervals() {
				points, err := r.Series(ctx(t), q, loc, report.MetricVisitors, iv)
				if err != nil {
					t.Fatal(err)
				}
				for _, compare := range []bool{true, false} {
					l := &report.SQLLog{}
					got, err := r.Overview(report.WithSQLLog(ctx(t), l), q, loc, report.MetricVisitors, iv, compare)
					if err != nil {
						t.Fatalf("%s %s: %v", zone, iv, err)
					}
					used := strings.Contains(strings.Join(l.Statements(), "\n"), "FROM session_hours")
					if want := wantHours && zone != "Asia/Kolkata"; used != want {
						t.Errorf("%s %s compare=%t: Overview read session_hours %v, want %v", zone, iv, compare, used, want)
					}
					want := cmp
					if !compare {
						want = report.Comparison{Current: cmp.Current}
					}
					if !summaryEqual(got.Current, want.Current) || !summaryEqual(got.Previous, want.Previous) ||
						!reflect.DeepEqual(got.Change, want.Change) {
						t.Errorf("%s %s compare=%t: Overview = %+v, Compare = %+v", zone, iv, compare, got.Comparison, want)
					}
					if !reflect.DeepEqual(got.Points, points) {
						t.Errorf("%s %s compare=%t: Overview points = %+v, Series = %+v", zone, iv, compare, got.Points, points)
					}
				}
			}
		}
	}
	// shared: under WithHourMarks (the site page's), Overview and
	// Breakdowns read the marks once between them and return what they
	// return without.
	shared := func(t *testing.T, r *report.Reports, built bool) {
		t.Helper()
		loc, _ := time.LoadLocation("Europe/Berlin")
		dims := []report.Dimension{report.Channels, report.Browsers}
		wantOv, err := r.Overview(ctx(t), q, loc, report.MetricVisitors, report.Hour, true)
		if err != nil {
			t.Fatal(err)
		}
		wantBd, err := r.Breakdowns(ctx(t), q, dims, 10)
		if err != nil {
			t.Fatal(err)
		}
		l := &report.SQLLog{}
		c := report.WithSQLLog(report.WithHourMarks(ctx(t), site, q.Previous().From, q.To), l)
		gotOv, err := r.Overview(c, q, loc, report.MetricVisitors, report.Hour, true)
		if err != nil {
			t.Fatal(err)
		}
		gotBd, err := r.Breakdowns(c, q, dims, 10)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(gotOv, wantOv) || !reflect.DeepEqual(gotBd, wantBd) {
			t.Errorf("under WithHourMarks:\n%+v\n%+v\nwithout:\n%+v\n%+v", gotOv, gotBd, wantOv, wantBd)
		}
		all := strings.Join(l.Statements(), "\n")
		stored, live := strings.Count(all, "FROM session_hour_marks FINAL\nWHERE"), strings.Count(all, "FROM session_versions\nWHERE")
		want := 0
		if built {
			want = 1
		}
		if stored != 1 || live != want {
			t.Errorf("marks read %d and %d times, want 1 and %d:\n%s", stored, live, want, all)
		}
	}
	each(t, func(t *testing.T, r *report.Reports, e *chtest.Engine) {
		c := context.Background()
		t.Cleanup(func() {
			for _, table := range []string{"session_hours", "session_hour_marks"} {
				_ = e.Exec(c, "ALTER TABLE "+table+" DELETE WHERE site_id = '"+site+"'")
			}
		})
		var rows [][]any
		for _, s := range sessions {
			rows = append(rows, row(s))
			if s.version > 1 { // an earlier version, and the same one again (a replay)
				old := s
				old.version, old.pageviews, old.channel = s.version-1, s.pageviews-1, "email"
				rows = append(rows, row(old), row(s))
			}
		}
		if err := e.Insert(c, "session_versions", cols, rows); err != nil {
			t.Fatal(err)
		}
		check(t, r, false) // nothing built: the session rows alone
		shared(t, r, false)

		// The first four hours built; hours 4 and 5 read live.
		n, err := report.BuildHours(c, e, site, start, start.Add(4*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if n != 3 { // hours 0, 1 and 3 hold sessions
			t.Errorf("built %d hours, want 3", n)
		}
		check(t, r, true)
		shared(t, r, true)
		if n, err := report.BuildHours(c, e, site, start, start.Add(4*time.Hour)); err != nil || n != 0 {
			t.Errorf("a second build wrote %d hours (%v), want 0", n, err)
		}

		// b2 (hour 1) moves to another channel, gains pageviews and
		// turns out a bot in a new version: hour 1 is read live again.
		changed := sessions[3]
		changed.version, changed.pageviews, changed.channel, changed.bot = 2, 5, "paid_search", 1
		c1 := sessions[4]
		c1.version, c1.pageviews, c1.channel = 2, 2, "organic_social"
		if err := e.Insert(c, "session_versions", cols, [][]any{row(changed), row(c1)}); err != nil {
			t.Fatal(err)
		}
		check(t, r, true)
		shared(t, r, true)
		if n, err := report.BuildHours(c, e, site, start, start.Add(4*time.Hour)); err != nil || n != 1 {
			t.Errorf("the rebuild wrote %d hours (%v), want 1", n, err)
		}
		check(t, r, true)
	})
}
