package importer_test

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/teller-analytics/teller/pkg/enrich"
	"github.com/teller-analytics/teller/pkg/event"
	"github.com/teller-analytics/teller/pkg/importer"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

type golden struct {
	Stats  importer.Stats   `json:"stats"`
	Events []importer.Event `json:"events"`
}

// checkGolden compares what a reader made of a sample with testdata/name.golden.json.
func checkGolden(t *testing.T, name string, got golden) {
	t.Helper()
	b, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", name+".golden.json")
	if *update {
		if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update once)", err)
	}
	if strings.TrimSpace(string(want)) != strings.TrimSpace(string(b)) {
		t.Errorf("%s differs from the golden file; got:\n%s", name, b)
	}
}

func read(t *testing.T, name string, fn func(f *os.File, emit func(importer.Event) error) (importer.Stats, error)) golden {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var g golden
	g.Stats, err = fn(f, func(ev importer.Event) error {
		g.Events = append(g.Events, ev)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestReadCombinedSample(t *testing.T) {
	g := read(t, "nginx-access.log", func(f *os.File, emit func(importer.Event) error) (importer.Stats, error) {
		return importer.ReadCombined(f, importer.CombinedOptions{Origin: "https://www.example.com"}, emit)
	})
	// The rules, stated here so the golden file cannot hide a regression:
	// 14 lines; pages only (no assets, no POST/HEAD, no 4xx), bots kept.
	if g.Stats.Lines != 14 || g.Stats.Events != 7 {
		t.Errorf("lines %d events %d, want 14 and 7", g.Stats.Lines, g.Stats.Events)
	}
	want := map[string]int64{"asset": 2, "method": 2, "status": 2, "malformed": 1}
	for k, v := range want {
		if g.Stats.Skipped[k] != v {
			t.Errorf("skipped %s: %d, want %d (all: %v)", k, g.Stats.Skipped[k], v, g.Stats.Skipped)
		}
	}
	first := g.Events[0]
	if first.URL != "https://www.example.com/" || first.Referrer != "https://www.google.com/" ||
		first.TimeMs != time.Date(2026, 11, 3, 8, 12, 1, 0, time.UTC).UnixMilli() || first.Kind != event.KindPageview {
		t.Errorf("first event %+v", first)
	}
	if g.Events[1].Visitor != first.Visitor || g.Events[1].URL != "https://www.example.com/pricing?utm_source=newsletter&utm_medium=email" {
		t.Errorf("second event %+v: want the same visitor on /pricing with its campaign", g.Events[1])
	}
	ua := enrich.NewUAParser(0)
	bots := 0
	for _, ev := range g.Events {
		if ua.Parse(ev.UserAgent).Bot {
			bots++
		}
		if err := (&event.Event{V: 1, ID: ev.ID, Site: "s", Visitor: importer.VisitorID("s", ev.Visitor), ReceivedMs: ev.TimeMs,
			Kind: ev.Kind, Name: "pageview", URL: ev.URL, Referrer: ev.Referrer, UserAgent: ev.UserAgent}).Validate(); err != nil {
			t.Errorf("event %s is not valid: %v", ev.URL, err)
		}
	}
	if bots != 1 {
		t.Errorf("%d bot events, want 1 (Googlebot), kept and flagged downstream", bots)
	}
	checkGolden(t, "nginx-access", g)
}

func TestReadCombinedIsStable(t *testing.T) {
	// The same line twice is two requests; reading the file again gives the
	// same ids, so a re-import counts nothing twice.
	line := `192.0.2.1 - - [01/Dec/2026:10:00:00 +0000] "GET /a HTTP/1.1" 200 1 "-" "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"` + "\n"
	ids := func() []string {
		var out []string
		_, err := importer.ReadCombined(strings.NewReader(line+line), importer.CombinedOptions{Origin: "https://a.example"},
			func(ev importer.Event) error { out = append(out, ev.ID.String()); return nil })
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	a, b := ids(), ids()
	if len(a) != 2 || a[0] == a[1] || a[0] != b[0] || a[1] != b[1] {
		t.Errorf("ids %v then %v: want two distinct ids, the same on both reads", a, b)
	}
}

func TestReadCombinedRefuses(t *testing.T) {
	for _, tc := range []struct{ name, origin, input, want string }{
		{"origin with a path", "https://a.example/x", "", "origin"},
		{"origin without scheme", "a.example", "", "origin"},
		{"overlong line", "https://a.example", strings.Repeat("x", 300<<10), "longer than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := importer.ReadCombined(strings.NewReader(tc.input), importer.CombinedOptions{Origin: tc.origin}, func(importer.Event) error { return nil })
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestReadUmamiSample(t *testing.T) {
	g := read(t, "umami-website_event.csv", func(f *os.File, emit func(importer.Event) error) (importer.Stats, error) {
		return importer.ReadUmami(f, emit)
	})
	if g.Stats.Lines != 8 || g.Stats.Events != 6 || g.Stats.Skipped["event_type"] != 1 || g.Stats.Skipped["malformed"] != 1 {
		t.Errorf("stats %+v: want 8 rows, 6 events, one unknown event type, one bad time", g.Stats)
	}
	if e := g.Events[0]; e.URL != "https://www.example.com/" || e.Referrer != "https://www.google.com/search" || e.ScreenWidth != 1920 {
		t.Errorf("first event %+v", e)
	}
	if e := g.Events[2]; e.Kind != event.KindCustom || e.Name != "Signup" {
		t.Errorf("third event %+v: want the custom event Signup", e)
	}
	// The representative user agents classify as Umami classified them.
	ua := enrich.NewUAParser(0)
	for _, tc := range []struct {
		i                   int
		browser, os, device string
	}{{0, "Chrome", "Windows", enrich.DeviceDesktop}, {3, "Safari", "iOS", enrich.DeviceMobile}, {5, "Firefox", "Linux", enrich.DeviceDesktop}} {
		got := ua.Parse(g.Events[tc.i].UserAgent)
		if got.Browser != tc.browser || got.OS != tc.os || got.Device != tc.device || got.Bot {
			t.Errorf("event %d: user agent %q parses as %+v, want %s on %s (%s)", tc.i, g.Events[tc.i].UserAgent, got, tc.browser, tc.os, tc.device)
		}
	}
	checkGolden(t, "umami-website_event", g)
}

func TestReadUmamiNeedsItsColumns(t *testing.T) {
	_, err := importer.ReadUmami(strings.NewReader("date,visitors,pageviews\n2026-11-01,3,5\n"), func(importer.Event) error { return nil })
	if err == nil || !strings.Contains(err.Error(), `"session_id" is missing`) {
		t.Errorf("error %v, want one naming the missing column", err)
	}
}

func TestEventCheckBounds(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	b := importer.Bounds{Now: now, Horizon: 24 * time.Hour}
	for _, tc := range []struct {
		name string
		ev   importer.Event
		want string
	}{
		{"now", importer.Event{Visitor: "v", TimeMs: now.UnixMilli()}, ""},
		{"at the horizon", importer.Event{Visitor: "v", TimeMs: now.Add(-24 * time.Hour).UnixMilli()}, ""},
		{"future", importer.Event{Visitor: "v", TimeMs: now.UnixMilli() + 1}, "future"},
		{"past the horizon", importer.Event{Visitor: "v", TimeMs: now.Add(-24*time.Hour).UnixMilli() - 1}, "horizon"},
		{"no time", importer.Event{Visitor: "v"}, "time_ms"},
		{"no visitor", importer.Event{TimeMs: now.UnixMilli()}, "visitor"},
		{"long visitor", importer.Event{Visitor: strings.Repeat("v", importer.MaxVisitorKeyLength+1), TimeMs: now.UnixMilli()}, "visitor"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.ev.Check(b)
			if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
				t.Errorf("Check: %v, want %q", err, tc.want)
			}
		})
	}
}
