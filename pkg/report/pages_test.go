package report_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/teller-analytics/teller/internal/chtest"
	"github.com/teller-analytics/teller/internal/reporttest"
	"github.com/teller-analytics/teller/pkg/report"
	"github.com/teller-analytics/teller/pkg/session"
)

// TestPagesOfOverflowedSessions: the page breakdown reads a session's page
// arrays, and the events of a session whose arrays overflowed into
// session.OtherPages: on a site of its own, one session with more distinct
// pages than session.MaxPages (every event written twice), one ordinary
// session and one bot-flagged session with an unflagged pageview, the rows
// are those of the golden SQL over events (the bot-flagged session left out
// unless bots are asked for), they add up to Summary's pageviews, and no row
// is the overflow bucket; with page filters too.
func TestPagesOfOverflowedSessions(t *testing.T) {
	each(t, func(t *testing.T, r *report.Reports, e *chtest.Engine) {
		site := "pages-overflow-" + strings.ReplaceAll(e.Name, ".", "-")
		start := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
		var events []reporttest.Event
		add := func(name string, i int, path string, bot bool) {
			s := uuid.NewSHA1(uuid.NameSpaceURL, []byte(site+"/"+name))
			events = append(events, reporttest.Event{
				ID: uuid.NewSHA1(s, fmt.Appendf(nil, "%d", i)), Visitor: uuid.NewSHA1(s, []byte("visitor")), Session: s, Site: site,
				TS: start.Add(time.Duration(i) * time.Second), Kind: "pageview", Name: "pageview", Pathname: path,
				Browser: "Firefox", Device: "desktop", Bot: bot, SessionStart: start, StartReason: "first_visit", IsStart: i == 0,
			})
		}
		for i := 0; i < session.MaxPages+10; i++ {
			add("wide", i, fmt.Sprintf("/p%d", i%(session.MaxPages+6)), false)
		}
		add("plain", 0, "/p1", false)
		add("plain", 1, "/other", false)
		add("mixed", 0, "/p1", false)
		add("mixed", 1, "/crawled", true)
		if err := reporttest.Insert(ctx(t), e, events); err != nil {
			t.Fatal(err)
		}
		if err := reporttest.Insert(ctx(t), e, events); err != nil { // redelivered
			t.Fatal(err)
		}
		base := report.Query{Site: site, From: start.Add(-time.Hour), To: start.Add(time.Hour)}
		filters := [][]report.Filter{
			nil,
			{{Dimension: report.Pages, Op: report.Contains, Value: "/p1"}},
			{{Dimension: report.Pages, Op: report.IsNot, Value: "/other"}},
		}
		for _, bots := range []bool{false, true} {
			for _, fs := range filters {
				q := base
				q.IncludeBots, q.Filters = bots, fs
				got, err := r.Breakdown(ctx(t), q, report.Pages, report.MaxLimit)
				if err != nil {
					t.Fatal(err)
				}
				rowCond := "1"
				if len(fs) > 0 {
					rowCond = map[report.Op]string{report.Contains: "positionCaseInsensitiveUTF8(pathname, '/p1') > 0",
						report.IsNot: "pathname != '/other'"}[fs[0].Op]
				}
				cond := "1"
				if len(fs) > 0 && fs[0].Op == report.IsNot {
					cond = "x_id NOT IN (SELECT session_id FROM events WHERE pathname = '/other')"
				} else if len(fs) > 0 {
					cond = "x_id IN (SELECT session_id FROM events WHERE positionCaseInsensitiveUTF8(pathname, '/p1') > 0)"
				}
				if want := goldenBreakdown(t, e, q, report.Pages, cond, rowCond); !rowsEqual(got, want) {
					t.Errorf("bots %t %v: Pages =\n%+v\nwant\n%+v", bots, fs, got, want)
				}
				var n uint64
				for _, row := range got {
					if row.Key == session.OtherPages {
						t.Errorf("bots %t %v: a row of %s", bots, fs, session.OtherPages)
					}
					n += row.Pageviews
				}
				if fs != nil {
					continue
				}
				if len(got) != session.MaxPages+6+1+map[bool]int{false: 0, true: 1}[bots] {
					t.Errorf("bots %t: %d pages, want every distinct page", bots, len(got))
				}
				sum, err := r.Summary(ctx(t), q)
				if err != nil {
					t.Fatal(err)
				}
				if n != sum.Pageviews {
					t.Errorf("bots %t: pages add up to %d pageviews, summary has %d", bots, n, sum.Pageviews)
				}
			}
		}
	})
}
