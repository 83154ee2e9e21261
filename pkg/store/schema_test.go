package store_test

import (
	"context"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/teller-analytics/teller/internal/chtest"
	"github.com/teller-analytics/teller/pkg/session"
	"github.com/teller-analytics/teller/pkg/sessionizer"
	"github.com/teller-analytics/teller/pkg/store"
)

// TestSchemaOnBothEngines applies every migration to ClickHouse 18.16 and
// to the current release (26.7) and checks the result on each. A new
// migration is covered without a line here; a migration that needs a
// release newer than 26.7 fails until the test engine is upgraded.
func TestSchemaOnBothEngines(t *testing.T) {
	engines := chtest.Engines(t, "schema")
	ctx := context.Background()
	migs, err := store.Migrations()
	if err != nil {
		t.Fatal(err)
	}

	t.Run("migrations", func(t *testing.T) {
		chtest.Each(t, engines, func(t *testing.T, e *chtest.Engine) {
			// Running again (a second service starting) changes nothing.
			if err := store.Migrate(ctx, e, nil); err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, m := range migs {
				if m.MinMajor == 0 || e.Version.AtLeast(m.MinMajor, m.MinMinor) {
					want = append(want, strconv.Itoa(m.Version)+" "+m.Checksum)
				}
			}
			if e.Name == chtest.ChdbRelease && len(want) != len(migs) {
				t.Errorf("ClickHouse %s applies %d of %d migrations: every gated one must run on the current release", e.Name, len(want), len(migs))
			}
			got := strings.Split(queryString(t, e, "SELECT arrayStringConcat(groupArray(concat(toString(version), ' ', checksum)), '|') FROM (SELECT version, checksum FROM schema_migrations ORDER BY version)"), "|")
			if !reflect.DeepEqual(got, want) {
				t.Errorf("schema_migrations = %v, want %v (one row per applied migration)", got, want)
			}
		})
	})

	t.Run("documented", func(t *testing.T) {
		chtest.Each(t, engines, func(t *testing.T, e *chtest.Engine) {
			// People query these tables directly: every column says what it holds.
			if bare := queryString(t, e, `SELECT arrayStringConcat(groupArray(concat(table, '.', name)), ', ')
FROM system.columns WHERE database = currentDatabase() AND comment = '' AND table != 'sessions'`); bare != "" {
				t.Errorf("columns without a comment: %s", bare)
			}
			tables := []string{"sites", "events", "session_versions", "sessionizer_checkpoints", "rejected_events"}
			for _, table := range append(tables, "sessions") {
				if queryString(t, e, "SELECT toString(count()) FROM system.tables WHERE database = currentDatabase() AND name = ?", table) != "1" {
					t.Errorf("table %s missing", table)
				}
			}
			// 0060 dropped the aggregate states and the view that filled them.
			for _, table := range []string{"sessions_agg", "sessions_mv"} {
				if queryString(t, e, "SELECT toString(count()) FROM system.tables WHERE database = currentDatabase() AND name = ?", table) != "0" {
					t.Errorf("table %s still exists", table)
				}
			}
			// 0005 (table comments, from 23.9) really ran where it can.
			if e.Version.AtLeast(23, 9) {
				commented := queryString(t, e, `SELECT arrayStringConcat(groupArray(name), ' ') FROM (SELECT name FROM system.tables
WHERE database = currentDatabase() AND name IN ? AND comment != '' ORDER BY name)`, tables)
				if want := "events rejected_events session_versions sessionizer_checkpoints sites"; commented != want {
					t.Errorf("tables with a comment on %s: %q, want %q", e.Version, commented, want)
				}
			}
		})
	})

	t.Run("enums", func(t *testing.T) {
		sets := map[string]map[string]int{"session.Reason": goReasons(t), "event.Kind": goKinds(t)}
		// Columns known to hold them: each must be found. Any other Enum8
		// column with one of their names holds them too and is compared.
		known := map[string]string{
			"events.kind":                   "event.Kind",
			"events.session_start_reason":   "session.Reason",
			"session_versions.start_reason": "session.Reason",
			"sessions.start_reason":         "session.Reason",
		}
		chtest.Each(t, engines, func(t *testing.T, e *chtest.Engine) {
			rows, err := e.Query(ctx, `SELECT concat(table, '.', name), type FROM system.columns
WHERE database = currentDatabase() AND type LIKE 'Enum8(%' ORDER BY table, name`)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			seen := map[string]bool{}
			for rows.Next() {
				var col, typ string
				if err := rows.Scan(&col, &typ); err != nil {
					t.Fatal(err)
				}
				got := parseEnum8(t, typ)
				for set, names := range sets {
					holds := known[col] == set
					for name := range got {
						if _, ok := names[name]; ok {
							holds = true
						}
					}
					if !holds {
						continue
					}
					seen[col] = true
					if !reflect.DeepEqual(got, names) {
						t.Errorf("%s is %v; the Go names (%s) are %v", col, got, set, names)
					}
				}
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			for col := range known {
				if !seen[col] {
					t.Errorf("no Enum8 column %s", col)
				}
			}
		})
	})

	t.Run("views", func(t *testing.T) { testSessionsView(t, engines) })
	t.Run("versions", func(t *testing.T) { testSessionVersions(t, engines) })
}

// goReasons are pkg/session's start reasons: name -> the Reason's number,
// which the Enum8 values match so that both read the same.
func goReasons(t *testing.T) map[string]int {
	out := map[string]int{}
	for r := session.Reason(1); r.String() != "unknown"; r++ {
		out[r.String()] = int(r)
	}
	if len(out) == 0 {
		t.Fatal("pkg/session has no start reasons")
	}
	return out
}

// goKinds are pkg/event's Kind constants, read from its source (it has no
// list of them): name -> position, as the Enum8 numbers them from 1.
func goKinds(t *testing.T) map[string]int {
	fset := token.NewFileSet()
	pkgs, err := parser.ParseDir(fset, "../event", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, p := range pkgs {
		for name, f := range p.Files {
			if strings.HasSuffix(name, "_test.go") {
				continue
			}
			for _, d := range f.Decls {
				g, ok := d.(*ast.GenDecl)
				if !ok || g.Tok != token.CONST {
					continue
				}
				for _, spec := range g.Specs {
					vs := spec.(*ast.ValueSpec)
					if id, ok := vs.Type.(*ast.Ident); !ok || id.Name != "Kind" {
						continue
					}
					for _, v := range vs.Values {
						lit, ok := v.(*ast.BasicLit)
						if !ok || lit.Kind != token.STRING {
							t.Fatalf("event.Kind constant that is not a string literal: %#v", v)
						}
						s, _ := strconv.Unquote(lit.Value)
						out[s] = len(out) + 1
					}
				}
			}
		}
	}
	if len(out) == 0 {
		t.Fatal("found no event.Kind constants in pkg/event")
	}
	return out
}

var enumValue = regexp.MustCompile(`'((?:[^'\\]|\\.)*)' = (-?\d+)`)

func parseEnum8(t *testing.T, typ string) map[string]int {
	out := map[string]int{}
	for _, m := range enumValue.FindAllStringSubmatch(typ, -1) {
		n, _ := strconv.Atoi(m[2])
		out[m[1]] = n
	}
	if len(out) == 0 {
		t.Fatalf("cannot read %s", typ)
	}
	return out
}

func queryString(t *testing.T, e *chtest.Engine, query string, args ...any) string {
	t.Helper()
	rows, err := e.Query(context.Background(), query, args...)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	defer rows.Close()
	var s string
	for rows.Next() {
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return s
}

// mvEvent is one events row of the views fixture.
type mvEvent struct {
	name, session, visitor string
	startAt                string // session start, RFC 3339
	reason                 string
	offsetMs               int64
	kind, path             string
	refDomain, channel     string
	scroll                 uint8
	start, late, bridging  bool
	bot                    bool
}

var mvNS = uuid.MustParse("0c7f9c55-4a43-4f0e-9d8e-3b1f0a0c5a10")

func mvID(kind, name string) uuid.UUID { return uuid.NewSHA1(mvNS, []byte(kind+"/"+name)) }

// The fixture: three sessions whose events arrive out of order and twice.
var mvEvents = map[string]mvEvent{
	"a1": {session: "A", visitor: "V1", startAt: "2024-05-01T10:00:00Z", reason: "first_visit", offsetMs: 0, kind: "pageview", path: "/", refDomain: "google.com", channel: "organic_search", start: true},
	"a2": {session: "A", visitor: "V1", startAt: "2024-05-01T10:00:00Z", reason: "first_visit", offsetMs: 20500, kind: "pageview", path: "/pricing", refDomain: "example.com", channel: "internal"},
	"a3": {session: "A", visitor: "V1", startAt: "2024-05-01T10:00:00Z", reason: "first_visit", offsetMs: 30000, kind: "engagement", path: "/pricing", refDomain: "example.com", channel: "internal", scroll: 80},
	"a4": {session: "A", visitor: "V1", startAt: "2024-05-01T10:00:00Z", reason: "first_visit", offsetMs: 25000, kind: "event", path: "/pricing", refDomain: "example.com", channel: "internal", late: true},
	"b1": {session: "B", visitor: "V1", startAt: "2024-05-01T12:00:00Z", reason: "inactivity", offsetMs: 0, kind: "pageview", path: "/blog", channel: "direct", start: true},
	"b2": {session: "B", visitor: "V1", startAt: "2024-05-01T12:00:00Z", reason: "inactivity", offsetMs: 10000, kind: "engagement", path: "/blog", refDomain: "example.com", channel: "internal", scroll: 40, bridging: true},
	"c1": {session: "C", visitor: "VB", startAt: "2024-05-01T23:59:59Z", reason: "first_visit", offsetMs: 0, kind: "pageview", path: "/", channel: "direct", start: true, bot: true},
	"c2": {session: "C", visitor: "VB", startAt: "2024-05-01T23:59:59Z", reason: "first_visit", offsetMs: 1500, kind: "pageview", path: "/x", refDomain: "example.com", channel: "internal", bot: true},
}

// mvBatches is the delivery: every batch out of order, every event at
// least twice.
var mvBatches = [][]string{{"a3", "a2", "a1", "c2"}, {"a1", "a4", "b2"}, {"a2", "a3", "b1", "b2", "c1", "c2"}, {"b1", "a4", "c1"}}

// sessionFigures is one row of the sessions view.
type sessionFigures struct {
	Session, Date, Reason, Started        string
	FirstMs, LastMs, DurationMs           uint64
	Events, Pageviews, Custom             uint64
	Bounce                                uint8
	Entry, Exit, Host, RefDomain, Channel string
	Bot, MaxScroll                        uint8
	Late, Bridging                        uint64
}

func testSessionsView(t *testing.T, engines []*chtest.Engine) {
	ctx := context.Background()
	cols := []string{"event_id", "site_id", "visitor_id", "session_id", "ts", "ts_ms", "kind", "name", "url", "hostname", "pathname",
		"referrer_domain", "channel", "scroll_depth", "is_bot", "session_started_at", "session_start_reason", "is_session_start", "is_late", "is_bridging"}
	row := func(name string) []any {
		e := mvEvents[name]
		start, err := time.Parse(time.RFC3339, e.startAt)
		if err != nil {
			t.Fatal(err)
		}
		at := start.Add(time.Duration(e.offsetMs) * time.Millisecond)
		b := func(v bool) uint8 {
			if v {
				return 1
			}
			return 0
		}
		return []any{mvID("event", name), "mv", mvID("visitor", e.visitor), mvID("session", e.session), at, uint64(at.UnixMilli()), e.kind, e.kind,
			"https://example.com" + e.path, "example.com", e.path, e.refDomain, e.channel, e.scroll, b(e.bot), start, e.reason,
			b(e.start), b(e.late), b(e.bridging)}
	}
	ms := func(s string, off int64) uint64 {
		t0, _ := time.Parse(time.RFC3339, s)
		return uint64(t0.UnixMilli() + off)
	}
	// Worked out by hand from mvEvents.
	want := []sessionFigures{
		{Session: "A", Date: "2024-05-01", Reason: "first_visit", Started: "2024-05-01 10:00:00",
			FirstMs: ms("2024-05-01T10:00:00Z", 0), LastMs: ms("2024-05-01T10:00:00Z", 30000), DurationMs: 30000,
			Events: 4, Pageviews: 2, Custom: 1, Bounce: 0, Entry: "/", Exit: "/pricing", Host: "example.com",
			RefDomain: "google.com", Channel: "organic_search", MaxScroll: 80, Late: 1},
		{Session: "B", Date: "2024-05-01", Reason: "inactivity", Started: "2024-05-01 12:00:00",
			FirstMs: ms("2024-05-01T12:00:00Z", 0), LastMs: ms("2024-05-01T12:00:00Z", 10000), DurationMs: 10000,
			Events: 2, Pageviews: 1, Bounce: 1, Entry: "/blog", Exit: "/blog", Host: "example.com",
			Channel: "direct", MaxScroll: 40, Bridging: 1},
		{Session: "C", Date: "2024-05-01", Reason: "first_visit", Started: "2024-05-01 23:59:59",
			FirstMs: ms("2024-05-01T23:59:59Z", 0), LastMs: ms("2024-05-01T23:59:59Z", 1500), DurationMs: 1500,
			Events: 2, Pageviews: 2, Bounce: 0, Entry: "/", Exit: "/x", Host: "example.com",
			Channel: "direct", Bot: 1},
	}
	names := map[string]string{}
	for _, s := range []string{"A", "B", "C"} {
		names[mvID("session", s).String()] = s
	}
	read := func(e *chtest.Engine) ([]sessionFigures, error) {
		rows, err := e.Query(ctx, `SELECT toString(session_id), toString(session_date), toString(start_reason), toString(started_at),
       first_ms, last_ms, duration_ms, events, pageviews, custom_events, is_bounce,
       entry_pathname, exit_pathname, entry_hostname, referrer_domain, channel, is_bot, max_scroll, late_events, bridging_events
FROM sessions WHERE site_id = ? ORDER BY first_ms`, "mv")
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		var out []sessionFigures
		for rows.Next() {
			var f sessionFigures
			if err := rows.Scan(&f.Session, &f.Date, &f.Reason, &f.Started, &f.FirstMs, &f.LastMs, &f.DurationMs,
				&f.Events, &f.Pageviews, &f.Custom, &f.Bounce, &f.Entry, &f.Exit, &f.Host, &f.RefDomain, &f.Channel,
				&f.Bot, &f.MaxScroll, &f.Late, &f.Bridging); err != nil {
				return nil, err
			}
			f.Session = names[f.Session]
			out = append(out, f)
		}
		return out, rows.Err()
	}
	distinct := func(e *chtest.Engine) (string, error) {
		return queryString(t, e, "SELECT toString(count()) FROM events FINAL WHERE site_id = ?", "mv"), nil
	}
	for _, e := range engines {
		if e.Err != nil {
			continue // Same below fails or skips with the reason
		}
		for _, batch := range mvBatches {
			var rows [][]any
			for _, name := range batch {
				rows = append(rows, row(name))
			}
			if err := e.Insert(ctx, "events", cols, rows); err != nil {
				t.Fatalf("ClickHouse %s: %v", e.Name, err)
			}
		}
	}
	// The sessions view reads session_versions, which the sessionizer
	// writes: here its figures of the whole delivery, redeliveries and
	// disorder included, from the events' own session decisions.
	var delivered []store.EventRow
	for _, batch := range mvBatches {
		for _, name := range batch {
			e := mvEvents[name]
			start, err := time.Parse(time.RFC3339, e.startAt)
			if err != nil {
				t.Fatal(err)
			}
			delivered = append(delivered, store.EventRow{EventID: mvID("event", name), SiteID: "mv", VisitorID: mvID("visitor", e.visitor),
				SessionID: mvID("session", e.session), TimeMs: start.UnixMilli() + e.offsetMs, Kind: e.kind, Name: e.kind,
				URL: "https://example.com" + e.path, Hostname: "example.com", Pathname: e.path, ReferrerDomain: e.refDomain,
				Channel: e.channel, ScrollDepth: e.scroll, IsBot: e.bot, SessionStartedMs: start.UnixMilli(), SessionStartReason: e.reason,
				IsSessionStart: e.start, IsLate: e.late, IsBridging: e.bridging})
		}
	}
	versions, err := sessionizer.SessionVersions(delivered)
	if err != nil {
		t.Fatal(err)
	}
	var versionRows [][]any
	for i := range versions {
		versionRows = append(versionRows, versions[i].Values())
	}
	for _, e := range engines {
		if e.Err != nil {
			continue
		}
		if err := e.Insert(ctx, "session_versions", store.SessionVersionColumns, versionRows); err != nil {
			t.Fatalf("ClickHouse %s: %v", e.Name, err)
		}
	}
	got := chtest.Same(t, engines, "sessions view", read)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("sessions view =\n%+v\nwant\n%+v", got, want)
	}
	if n := chtest.Same(t, engines, "distinct events", distinct); n != strconv.Itoa(len(mvEvents)) {
		t.Errorf("events FINAL has %s rows, want %d", n, len(mvEvents))
	}
	// Merging every part changes no figure.
	for _, e := range engines {
		if e.Err != nil {
			continue
		}
		for _, table := range []string{"events", "session_versions"} {
			if err := e.Exec(ctx, "OPTIMIZE TABLE "+table+" FINAL"); err != nil {
				t.Fatalf("ClickHouse %s: %v", e.Name, err)
			}
		}
	}
	if got := chtest.Same(t, engines, "sessions view after merges", read); !reflect.DeepEqual(got, want) {
		t.Errorf("after merges =\n%+v\nwant\n%+v", got, want)
	}
}

// A session written as versions 1..k, each in its own part with merges
// stopped (as the sessionizer's flushes leave it until merges run), reads
// as version k through the sessions view, and a filter on a flag that
// flips between versions (is_bot) sees only the latest: it is never
// checked against an older version.
func testSessionVersions(t *testing.T, engines []*chtest.Engine) {
	ctx := context.Background()
	cols := []string{"site_id", "session_date", "session_id", "visitor_id", "started_at", "start_reason", "version",
		"first_ms", "last_ms", "events", "pageviews", "is_bot", "entry_pathname", "exit_pathname"}
	start := time.Date(2024, 6, 1, 9, 0, 0, 0, time.UTC)
	type session struct {
		name string
		k    uint32
		bot  func(v uint32) bool
	}
	sessions := []session{
		{"bot-at-end", 4, func(v uint32) bool { return v%2 == 0 }},   // 0 1 0 1
		{"bot-in-between", 3, func(v uint32) bool { return v == 2 }}, // 0 1 0
		{"human", 2, func(uint32) bool { return false }},             // 0 0
	}
	// Versions are inserted highest first for one session, so neither
	// insertion order nor part order decides.
	var parts [][]any
	for _, s := range sessions {
		for v := uint32(1); v <= s.k; v++ {
			b := uint8(0)
			if s.bot(v) {
				b = 1
			}
			row := []any{"vv", start, mvID("session", s.name), mvID("visitor", s.name), start, "first_visit", v,
				uint64(start.UnixMilli()), uint64(start.UnixMilli()) + uint64(v)*1000, v, v, b, "/", fmt.Sprintf("/%d", v)}
			if s.name == "bot-at-end" {
				parts = append([][]any{row}, parts...)
			} else {
				parts = append(parts, row)
			}
		}
	}
	for _, e := range engines {
		if e.Err != nil {
			continue
		}
		if err := e.Exec(ctx, "SYSTEM STOP MERGES session_versions"); err != nil {
			t.Fatalf("ClickHouse %s: %v", e.Name, err)
		}
		for _, row := range parts {
			if err := e.Insert(ctx, "session_versions", cols, [][]any{row}); err != nil {
				t.Fatalf("ClickHouse %s: %v", e.Name, err)
			}
		}
		if n, _ := strconv.Atoi(queryString(t, e, `SELECT toString(count()) FROM system.parts
WHERE database = currentDatabase() AND table = 'session_versions' AND active`)); n < len(parts) {
			t.Fatalf("ClickHouse %s: %d active parts for %d inserts: the versions were merged, so this proves nothing", e.Name, n, len(parts))
		}
	}
	names := map[string]string{}
	for _, s := range sessions {
		names[mvID("session", s.name).String()] = s.name
	}
	read := func(where string) func(e *chtest.Engine) (string, error) {
		return func(e *chtest.Engine) (string, error) {
			rows, err := e.Query(ctx, `SELECT toString(session_id), events, pageviews, duration_ms, is_bot, exit_pathname
FROM sessions WHERE site_id = 'vv' `+where+` ORDER BY events`)
			if err != nil {
				return "", err
			}
			defer rows.Close()
			var out []string
			for rows.Next() {
				var id, exit string
				var events, pageviews, duration uint64
				var bot uint8
				if err := rows.Scan(&id, &events, &pageviews, &duration, &bot, &exit); err != nil {
					return "", err
				}
				out = append(out, fmt.Sprintf("%s v%d pv%d %dms bot=%d %s", names[id], events, pageviews, duration, bot, exit))
			}
			return strings.Join(out, "; "), rows.Err()
		}
	}
	for _, tc := range []struct{ where, want string }{
		{"", "human v2 pv2 2000ms bot=0 /2; bot-in-between v3 pv3 3000ms bot=0 /3; bot-at-end v4 pv4 4000ms bot=1 /4"},
		{"AND is_bot = 0", "human v2 pv2 2000ms bot=0 /2; bot-in-between v3 pv3 3000ms bot=0 /3"},
		{"AND is_bot = 1", "bot-at-end v4 pv4 4000ms bot=1 /4"},
		{"AND events = 2", "human v2 pv2 2000ms bot=0 /2"},
	} {
		if got := chtest.Same(t, engines, "versions "+tc.where, read(tc.where)); got != tc.want {
			t.Errorf("sessions %s, unmerged versions: %q, want %q", tc.where, got, tc.want)
		}
	}
	for _, e := range engines {
		if e.Err != nil {
			continue
		}
		if err := e.Exec(ctx, "SYSTEM START MERGES session_versions"); err != nil {
			t.Fatalf("ClickHouse %s: %v", e.Name, err)
		}
		if err := e.Exec(ctx, "OPTIMIZE TABLE session_versions FINAL"); err != nil {
			t.Fatalf("ClickHouse %s: %v", e.Name, err)
		}
	}
	if got := chtest.Same(t, engines, "versions merged", read("")); got != "human v2 pv2 2000ms bot=0 /2; bot-in-between v3 pv3 3000ms bot=0 /3; bot-at-end v4 pv4 4000ms bot=1 /4" {
		t.Errorf("sessions after merges: %q", got)
	}
}
