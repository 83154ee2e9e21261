package report_test

import (
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/teller-analytics/teller/internal/chtest"
	"github.com/teller-analytics/teller/internal/reporttest"
	"github.com/teller-analytics/teller/pkg/report"
	"github.com/teller-analytics/teller/pkg/store"
)

func f64(v float64) *float64 { return &v }

// TestCompare: the previous period of the Berlin days 10-12 March is 7-9
// March, which holds S0 only (23:59:59 on the 9th in Berlin).
func TestCompare(t *testing.T) {
	each(t, func(t *testing.T, r *report.Reports, e *chtest.Engine) {
		q := mainQuery()
		got, err := r.Compare(ctx(t), q)
		if err != nil {
			t.Fatal(err)
		}
		if want := goldenSummary(t, e, q.Previous(), "1"); !summaryEqual(got.Previous, want) || got.Previous.Sessions != 1 {
			t.Errorf("Previous = %+v, want %+v (S0 alone)", got.Previous, want)
		}
		if want := goldenSummary(t, e, q, "1"); !summaryEqual(got.Current, want) {
			t.Errorf("Current = %+v, want %+v", got.Current, want)
		}
		from, _ := reporttest.Range()
		if p := q.Previous(); !p.To.Equal(from) || !p.From.Equal(from.Add(-72*time.Hour)) {
			t.Errorf("Previous() = [%s, %s)", p.From, p.To)
		}
		c := got.Change
		checks := []struct {
			name string
			got  *float64
			want *float64
		}{
			{"visitors", c.Visitors, f64(3)},    // 4 vs 1
			{"sessions", c.Sessions, f64(5)},    // 6 vs 1
			{"pageviews", c.Pageviews, f64(9)},  // 10 vs 1
			{"bounce", c.BounceRate, f64(-0.5)}, // 0.5 vs 1
			{"events", c.Events, nil},           // 1 vs 0: no base
			{"duration", c.AvgDurationSec, nil}, // S0 lasted 0 s
		}
		for _, ch := range checks {
			if (ch.got == nil) != (ch.want == nil) || (ch.got != nil && !near(*ch.got, *ch.want)) {
				t.Errorf("change of %s = %v, want %v", ch.name, deref(ch.got), deref(ch.want))
			}
		}
	})
}

func deref(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}

// TestSeriesMatchesSessions: for every interval and metric, the series'
// buckets hold what grouping the golden sessions by their start in the
// site's zone (done here in Go) gives, zeros included.
func TestSeriesMatchesSessions(t *testing.T) {
	berlin := reporttest.Location()
	each(t, func(t *testing.T, r *report.Reports, e *chtest.Engine) {
		type sess struct {
			started         time.Time
			visitor         uuid.UUID
			pv, custom, dur uint64
		}
		q := withBots(mainQuery())
		q.From = q.From.Add(-24 * time.Hour) // S0 and S6 at the zone's midnight
		from, args := sessionsOf(q, "1")
		var all []sess
		golden(t, e, "SELECT x_started, x_visitor, x_pv, x_custom, x_dur FROM "+from, args, func(rows store.Rows) error {
			var s sess
			err := rows.Scan(&s.started, &s.visitor, &s.pv, &s.custom, &s.dur)
			all = append(all, s)
			return err
		})
		start := func(t time.Time, iv report.Interval) string {
			t = t.In(berlin)
			switch iv {
			case report.Hour:
				return t.Format("2006-01-02 15:00")
			case report.Week:
				for t.Weekday() != time.Monday {
					t = t.AddDate(0, 0, -1)
				}
				return t.Format(time.DateOnly)
			case report.Month:
				return t.Format("2006-01")
			}
			return t.Format(time.DateOnly)
		}
		wantBuckets := map[report.Interval]int{report.Hour: 4 * 24, report.Day: 4, report.Week: 2, report.Month: 1}
		for _, iv := range report.Intervals() {
			for _, m := range report.Metrics() {
				got, err := r.Series(ctx(t), q, berlin, m, iv)
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != wantBuckets[iv] {
					t.Errorf("%s: %d points, want %d", iv, len(got), wantBuckets[iv])
				}
				type agg struct {
					visitors                      map[uuid.UUID]bool
					sessions, pv, custom, bounces uint64
					dur                           uint64
				}
				want := map[string]*agg{}
				for _, s := range all {
					k := start(s.started, iv)
					a := want[k]
					if a == nil {
						a = &agg{visitors: map[uuid.UUID]bool{}}
						want[k] = a
					}
					a.visitors[s.visitor] = true
					a.sessions++
					a.pv += s.pv
					a.custom += s.custom
					a.dur += s.dur
					if s.pv < 2 && s.dur <= 10000 && s.custom == 0 {
						a.bounces++
					}
				}
				var seen uint64
				for _, p := range got {
					a := want[p.Label]
					if a == nil {
						if p.Sessions != 0 || p.Value != 0 {
							t.Errorf("%s %s: %s has %+v, want zeros", iv, m, p.Label, p)
						}
						continue
					}
					seen += a.sessions
					n := float64(a.sessions)
					values := map[report.Metric]float64{
						report.MetricVisitors: float64(len(a.visitors)), report.MetricSessions: n, report.MetricPageviews: float64(a.pv),
						report.MetricEvents: float64(a.custom), report.MetricBounceRate: float64(a.bounces) / n,
						report.MetricAvgDuration: float64(a.dur) / 1000 / n,
					}
					if p.Sessions != a.sessions || p.Pageviews != a.pv || p.Visitors != uint64(len(a.visitors)) || !near(p.Value, values[m]) {
						t.Errorf("%s %s: %s = %+v, want %d sessions, value %v", iv, m, p.Label, p, a.sessions, values[m])
					}
					if !strings.HasPrefix(p.Start.In(berlin).Format("2006-01-02 15:00"), strings.TrimSuffix(p.Label, "-01")) && iv != report.Month {
						t.Errorf("%s: point %s starts at %s", iv, p.Label, p.Start)
					}
				}
				if seen != uint64(len(all)) || seen == 0 {
					t.Errorf("%s %s: the points hold %d of %d sessions", iv, m, seen, len(all))
				}
			}
		}
	})
}

// TestSeriesZones: an hour series of one Berlin day has 24 points, of the
// day the clocks go forward 23, and of the day they go back 24 too: the
// two 02:00 hours share their label, so they are one point.
func TestSeriesZones(t *testing.T) {
	berlin := reporttest.Location()
	r := report.New(srv.DB)
	for _, tt := range []struct {
		day    time.Time
		points int
	}{
		{time.Date(2024, 3, 10, 0, 0, 0, 0, berlin), 24},
		{time.Date(2024, 3, 31, 0, 0, 0, 0, berlin), 23},
		{time.Date(2024, 10, 27, 0, 0, 0, 0, berlin), 24},
	} {
		q := report.Query{Site: reporttest.SiteID, From: tt.day, To: tt.day.AddDate(0, 0, 1)}
		got, err := r.Series(ctx(t), q, berlin, report.MetricSessions, report.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != tt.points {
			t.Errorf("%s: %d hours, want %d", tt.day.Format(time.DateOnly), len(got), tt.points)
		}
	}
	got, err := r.Series(ctx(t), mainQuery(), berlin, report.MetricSessions, report.Hour)
	if err != nil {
		t.Fatal(err)
	}
	// S1 at 09:00 UTC is 10:00 in Berlin.
	for _, p := range got {
		if p.Label == "2024-03-10 10:00" && p.Sessions != 1 {
			t.Errorf("10:00 in Berlin: %+v, want S1", p)
		}
	}
	if d := report.DefaultInterval(time.Time{}, time.Time{}.Add(24*time.Hour)); d != report.Hour {
		t.Errorf("a day's default interval is %s", d)
	}
}

// TestSessionExplorer: paging, one session's path and one visitor's
// sessions.
func TestSessionExplorer(t *testing.T) {
	each(t, func(t *testing.T, r *report.Reports, e *chtest.Engine) {
		all, err := r.Sessions(ctx(t), withBots(mainQuery()), report.MaxLimit)
		if err != nil {
			t.Fatal(err)
		}
		var paged []report.SessionRow
		cursor, pages := "", 0
		for {
			p, err := r.SessionList(ctx(t), withBots(mainQuery()), 3, cursor)
			if err != nil {
				t.Fatal(err)
			}
			paged, pages = append(paged, p.Rows...), pages+1
			if cursor = p.Next; cursor == "" || pages > 10 {
				break
			}
		}
		if !reflect.DeepEqual(paged, all) || pages != 3 || len(all) != 7 {
			t.Errorf("%d pages of 3 give %d sessions, the whole list %d", pages, len(paged), len(all))
		}
		q := mainQuery()
		q.Filters = []report.Filter{{Dimension: report.Channels, Op: report.Is, Value: "organic_search"}}
		filtered, err := r.SessionList(ctx(t), q, 10, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(filtered.Rows) != 2 || filtered.Rows[0].ID != reporttest.SessionID("S4") || filtered.Rows[1].ID != reporttest.SessionID("S1") || filtered.Next != "" {
			t.Errorf("organic search sessions = %+v", filtered)
		}

		d, found, err := r.SessionPath(ctx(t), mainQuery(), reporttest.SessionID("S1"))
		if err != nil || !found {
			t.Fatalf("S1: found %v, %v", found, err)
		}
		var path []string
		for _, ev := range d.Events {
			path = append(path, strings.Join([]string{ev.Kind, ev.Path, ev.Title, strconv.FormatUint(ev.SincePrevMs, 10), strconv.FormatUint(ev.SinceStartMs, 10), flagName(ev.Late, "late"), flagName(ev.Bridging, "bridging")}, " "))
		}
		want := []string{"pageview / Title of / 0 0 - -", "pageview /pricing Title of /pricing 20000 20000 - -",
			"pageview / Title of / 20000 40000 - bridging", "pageview /signup Title of /signup 25500 65500 - -"}
		if !reflect.DeepEqual(path, want) || d.Session.ID != reporttest.SessionID("S1") || d.Session.DurationMs != 65500 {
			t.Errorf("S1 path =\n%q\nwant\n%q", path, want)
		}
		// The golden count and order of S1's events.
		var ids []uuid.UUID
		golden(t, e, "SELECT event_id FROM events FINAL WHERE session_id = toUUID(?) ORDER BY ts_ms, event_id", []any{reporttest.SessionID("S1").String()},
			func(rows store.Rows) error {
				var id uuid.UUID
				err := rows.Scan(&id)
				ids = append(ids, id)
				return err
			})
		for i, ev := range d.Events {
			if i >= len(ids) || ev.ID != ids[i] {
				t.Errorf("event %d of S1 is %s, want %v", i, ev.ID, ids)
			}
		}
		d, _, err = r.SessionPath(ctx(t), mainQuery(), reporttest.SessionID("S3"))
		if err != nil || len(d.Events) != 2 {
			t.Fatalf("S3: %+v, %v", d, err)
		}
		if ev := d.Events[1]; ev.Kind != "event" || ev.Name != "signup_click" || !reflect.DeepEqual(ev.Props, [][2]string{{"plan", "pro"}, {"from", "blog"}}) {
			t.Errorf("S3's custom event = %+v", ev)
		}
		d, _, err = r.SessionPath(ctx(t), mainQuery(), reporttest.SessionID("S4"))
		if err != nil || len(d.Events) != 2 || d.Events[1].EngagedMs != 8000 || d.Events[1].ScrollDepth != 75 || d.Events[1].Kind != "engagement" {
			t.Errorf("S4's engagement = %+v, %v", d, err)
		}
		d, _, err = r.SessionPath(ctx(t), mainQuery(), reporttest.SessionID("S5"))
		if err != nil || len(d.Events) != 2 || !d.Events[1].Late || d.Events[0].Late {
			t.Errorf("S5's late event = %+v, %v", d, err)
		}
		if _, found, err := r.SessionPath(ctx(t), mainQuery(), reporttest.SessionID("S7")); err != nil || found {
			t.Errorf("S7 starts after the range: found %v, %v", found, err)
		}

		visits, err := r.VisitorSessions(ctx(t), mainQuery(), reporttest.VisitorID("V1"), 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(visits) != 2 || visits[0].ID != reporttest.SessionID("S3") || visits[1].ID != reporttest.SessionID("S1") {
			t.Errorf("V1's sessions = %+v, want S3, S1", visits)
		}
	})
}

// flagName names a set flag, "-" for an unset one.
func flagName(b bool, name string) string {
	if b {
		return name
	}
	return "-"
}

// TestCompareIsTwoSummaries: Compare's single scan over both periods gives
// each period exactly what Summary gives it alone, with the bot rule and
// session, page and negated page filters (whose event subquery then covers
// both periods), and with a range whose previous period holds sessions.
func TestCompareIsTwoSummaries(t *testing.T) {
	wide := mainQuery()
	wide.To = wide.To.Add(24 * time.Hour)
	wide.From = wide.To.Add(-36 * time.Hour) // previous period: the 36 h before
	tests := []struct {
		name    string
		q       report.Query
		filters []report.Filter
	}{
		{"main", mainQuery(), nil},
		{"bots", withBots(mainQuery()), nil},
		{"wide", wide, nil},
		{"channel", withBots(wide), []report.Filter{{Dimension: report.Channels, Op: report.Is, Value: "organic_search"}}},
		{"page", wide, []report.Filter{{Dimension: report.Pages, Op: report.Contains, Value: "pricing"}}},
		{"not page", withBots(wide), []report.Filter{{Dimension: report.Pages, Op: report.NotContains, Value: "pricing"}}},
	}
	each(t, func(t *testing.T, r *report.Reports, e *chtest.Engine) {
		for _, tt := range tests {
			q := tt.q
			q.Filters = tt.filters
			got, err := r.Compare(ctx(t), q)
			if err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			cur, err := r.Summary(ctx(t), q)
			if err != nil {
				t.Fatal(err)
			}
			prev, err := r.Summary(ctx(t), q.Previous())
			if err != nil {
				t.Fatal(err)
			}
			if !summaryEqual(got.Current, cur) || !summaryEqual(got.Previous, prev) {
				t.Errorf("%s: Compare = %+v / %+v, Summary = %+v / %+v", tt.name, got.Current, got.Previous, cur, prev)
			}
			if tt.name == "wide" && (prev.Sessions == 0 || cur.Sessions == 0) {
				t.Errorf("wide: want sessions in both periods, got %d and %d", cur.Sessions, prev.Sessions)
			}
		}
	})
}
