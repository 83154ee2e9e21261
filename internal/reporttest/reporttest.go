// Package reporttest holds what the report and dashboard tests share: a
// local ClickHouse with Teller's schema, and one small data set of events as
// the sessionizer writes them, whose figures the tests assert exactly.
//
// The data set runs on both engines of internal/chtest: MainBoth seeds
// ClickHouse 18.16 and the current release (26.7) alike, so every report
// test can assert the same figures on each.
//
// It is for tests only; no product code may import it.
//
// # The data set
//
// Site "example" (Europe/Berlin, UTC+1 in March 2024); times are UTC.
//
//	session visitor start (UTC)        events (offset: kind path)                       entry attribution
//	S0      V1      2024-03-09 22:59:59 0 pv /old                                        before the range (23:59:59 in Berlin)
//	S6      V5      2024-03-09 23:00:00 0 pv /about                                      direct; 00:00 in Berlin: first second of the range
//	S1      V1      2024-03-10 09:00:00 0 pv /, 20s pv /pricing, 40s pv /, 65.5s pv /signup google.com, organic_search, Firefox/Linux/desktop
//	S2      V2      2024-03-10 12:00:00 0 pv /                                           direct, Chrome/Windows/desktop
//	B1      VB      2024-03-11 06:00:00 0 pv /, 1s pv /robots-only (is_bot = 1)          direct, bot
//	S3      V1      2024-03-11 08:00:00 0 pv /blog/hello, 5s event signup_click          news.ycombinator.com, referral; reason inactivity
//	S4      V3      2024-03-11 23:30:00 0 pv /, 8s engagement /                          google.com, organic_search, Safari/iOS/mobile; 00:30 on the 12th in Berlin
//	S5      V2      2024-03-12 10:00:00 0 pv /<script>alert(1)</script>, 15s pv /         t.co, organic_social; reason inactivity
//	S7      V1      2024-03-12 23:00:00 0 pv /later                                      after the range (00:00 on the 13th in Berlin)
//
// Site "other" (UTC) has one session, O1 (visitor V1, 2024-03-10 10:00, one
// pageview of /). Every event after a session's first carries a different
// referrer and channel (example.com, internal), which must not change the
// session's entry attribution. Seed writes the whole batch twice, in reverse
// order, plus S1's events a third time.
//
// Over the Berlin days 2024-03-10..2024-03-12 (Range), without bots: 6
// sessions (S1-S6), 4 visitors, 10 pageviews, 3 bounces (S2, S4, S6), 93.5 s
// of duration in all.
//
// For the later reports the sessions also carry named sources (S1, S4
// Google; S3 Hacker News; S5 X), campaigns (S1 google/cpc/spring/analytics/
// ad1; S5 twitter/social/launch), browser versions, screen sizes (S4 390 px
// and S6 412 px wide; S1, S3 1920; S2 1366; S5 1280), titles ("Title of
// <path>"), S3's custom event properties (plan=pro, from=blog), S4's scroll
// depth (75 %), a bridging event (S1's third) and a late one (S5's second),
// and entry countries (S0, S1, S3, S7 DE; S2, S6, B1 US; S4 FR; S5 none;
// O1 GB; every later event NL): in Range without bots DE 2, US 2, FR 1,
// unknown 1.
// Seed also writes four refused messages (rejected_events, see rejected)
// and the collectors' per-minute accepted counts (collector_accepted, see
// accepted), each twice, as a replay or a rewrite would.
package reporttest

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/teller-analytics/teller/internal/chlocal"
	"github.com/teller-analytics/teller/internal/chtest"
	"github.com/teller-analytics/teller/pkg/sessionizer"
	"github.com/teller-analytics/teller/pkg/site"
	"github.com/teller-analytics/teller/pkg/store"
)

// Site ids and zones of the data set.
const (
	SiteID      = "example"
	SiteZone    = "Europe/Berlin"
	OtherSiteID = "other"
)

// XSSPath is the path of S5's entry page: visitor-supplied markup.
const XSSPath = "/<script>alert(1)</script>"

var ns = uuid.MustParse("6f1c2a52-93c4-4c55-9d3a-0b0e6f9b8d11")

// SessionID is the id of the named session of the data set (S1, B1, ...).
func SessionID(name string) uuid.UUID { return uuid.NewSHA1(ns, []byte("session/"+name)) }

// VisitorID is the id of the named visitor of the data set (V1, VB, ...).
func VisitorID(name string) uuid.UUID { return uuid.NewSHA1(ns, []byte("visitor/"+name)) }

// Range is the data set's main range: the Berlin days 2024-03-10 to
// 2024-03-12, as instants [From, To).
func Range() (from, to time.Time) {
	loc := Location()
	return time.Date(2024, 3, 10, 0, 0, 0, 0, loc), time.Date(2024, 3, 13, 0, 0, 0, 0, loc)
}

// Location is SiteZone loaded.
func Location() *time.Location {
	loc, err := time.LoadLocation(SiteZone)
	if err != nil {
		panic(err)
	}
	return loc
}

// Sites are the data set's sites.
func Sites() []site.Site {
	return []site.Site{
		{ID: SiteID, Name: "Example", Domains: []string{"example.com"}, Timezone: SiteZone},
		{ID: OtherSiteID, Name: "Other", Domains: []string{"other.example"}, Timezone: "UTC"},
	}
}

// Event is one row of the events table, with the columns reports read.
type Event struct {
	ID, Visitor, Session uuid.UUID
	Site                 string
	TS                   time.Time // millisecond precision
	Kind                 string    // pageview, event or engagement
	Name                 string
	Pathname             string
	Referrer             string // referrer URL
	ReferrerDomain       string
	Channel              string
	Browser, OS, Device  string
	Bot                  bool
	EngagedMs            uint32
	SessionStart         time.Time
	StartReason          string // first_visit, inactivity, ...
	IsStart              bool
	// The columns the later reports read (sources, campaigns, versions,
	// screens, properties, scroll, flags); zero when a test leaves them.
	Title                             string
	ReferrerSource                    string
	UTMSource, UTMMedium, UTMCampaign string
	UTMTerm, UTMContent               string
	BrowserVersion                    string
	ScreenWidth, ScreenHeight         uint16
	PropsKeys, PropsValues            []string
	ScrollDepth                       uint8
	Late, Bridging                    bool
	Country                           string // ISO 3166-1 alpha-2, empty when unknown
}

type step struct {
	offsetMs int64
	kind     string
	name     string
	path     string
	// props are a custom event's properties, key=value pairs in order.
	props []string
	// scroll is an engagement event's scroll depth (percent).
	scroll uint8
	// late and bridging flag the event as the sessionizer would.
	late, bridging bool
}

type session struct {
	name, site, visitor, reason string
	start                       string // RFC 3339, UTC
	refDomain, channel          string
	browser, os, device         string
	bot                         bool
	steps                       []step
	// Entry attribution the later reports read.
	source, version string
	utm             [5]string // source, medium, campaign, term, content
	width, height   uint16
	country         string
}

var fixture = []session{
	{name: "S0", country: "DE", site: SiteID, visitor: "V1", reason: "first_visit", start: "2024-03-09T22:59:59Z", channel: "direct",
		browser: "Firefox", os: "Linux", device: "desktop", steps: []step{{offsetMs: 0, kind: "pageview", path: "/old"}}},
	{name: "S6", country: "US", site: SiteID, visitor: "V5", reason: "first_visit", start: "2024-03-09T23:00:00Z", channel: "direct",
		browser: "Chrome", os: "Android", device: "mobile", version: "122", width: 412, height: 915, steps: []step{{offsetMs: 0, kind: "pageview", path: "/about"}}},
	{name: "S1", country: "DE", site: SiteID, visitor: "V1", reason: "first_visit", start: "2024-03-10T09:00:00Z",
		refDomain: "google.com", channel: "organic_search", browser: "Firefox", os: "Linux", device: "desktop",
		source: "Google", version: "123", width: 1920, height: 1080, utm: [5]string{"google", "cpc", "spring", "analytics", "ad1"},
		steps: []step{{offsetMs: 0, kind: "pageview", path: "/"}, {offsetMs: 20000, kind: "pageview", path: "/pricing"},
			{offsetMs: 40000, kind: "pageview", path: "/", bridging: true}, {offsetMs: 65500, kind: "pageview", path: "/signup"}}},
	{name: "S2", country: "US", site: SiteID, visitor: "V2", reason: "first_visit", start: "2024-03-10T12:00:00Z", channel: "direct",
		browser: "Chrome", os: "Windows", device: "desktop", version: "122", width: 1366, height: 768,
		steps: []step{{offsetMs: 0, kind: "pageview", path: "/"}}},
	{name: "B1", country: "US", site: SiteID, visitor: "VB", reason: "first_visit", start: "2024-03-11T06:00:00Z", channel: "direct",
		browser: "Googlebot", os: "", device: "bot", bot: true,
		steps: []step{{offsetMs: 0, kind: "pageview", path: "/"}, {offsetMs: 1000, kind: "pageview", path: "/robots-only"}}},
	{name: "S3", country: "DE", site: SiteID, visitor: "V1", reason: "inactivity", start: "2024-03-11T08:00:00Z",
		refDomain: "news.ycombinator.com", channel: "referral", browser: "Firefox", os: "Linux", device: "desktop",
		source: "Hacker News", version: "124", width: 1920, height: 1080,
		steps: []step{{offsetMs: 0, kind: "pageview", path: "/blog/hello"},
			{offsetMs: 5000, kind: "event", name: "signup_click", path: "/blog/hello", props: []string{"plan=pro", "from=blog"}}}},
	{name: "S4", country: "FR", site: SiteID, visitor: "V3", reason: "first_visit", start: "2024-03-11T23:30:00Z",
		refDomain: "google.com", channel: "organic_search", browser: "Safari", os: "iOS", device: "mobile",
		source: "Google", version: "17", width: 390, height: 844,
		steps: []step{{offsetMs: 0, kind: "pageview", path: "/"}, {offsetMs: 8000, kind: "engagement", path: "/", scroll: 75}}},
	{name: "S5", site: SiteID, visitor: "V2", reason: "inactivity", start: "2024-03-12T10:00:00Z",
		refDomain: "t.co", channel: "organic_social", browser: "Chrome", os: "Windows", device: "desktop",
		source: "X", version: "122", width: 1280, height: 720, utm: [5]string{"twitter", "social", "launch", "", ""},
		steps: []step{{offsetMs: 0, kind: "pageview", path: XSSPath}, {offsetMs: 15000, kind: "pageview", path: "/", late: true}}},
	{name: "S7", country: "DE", site: SiteID, visitor: "V1", reason: "inactivity", start: "2024-03-12T23:00:00Z", channel: "direct",
		browser: "Firefox", os: "Linux", device: "desktop", steps: []step{{offsetMs: 0, kind: "pageview", path: "/later"}}},
	{name: "O1", country: "GB", site: OtherSiteID, visitor: "V1", reason: "first_visit", start: "2024-03-10T10:00:00Z", channel: "direct",
		browser: "Firefox", os: "Linux", device: "desktop", steps: []step{{offsetMs: 0, kind: "pageview", path: "/"}}},
}

// Events returns the data set's events, session by session in time order.
func Events() []Event {
	var out []Event
	for _, s := range fixture {
		start, err := time.Parse(time.RFC3339, s.start)
		if err != nil {
			panic(err)
		}
		for i, st := range s.steps {
			e := Event{
				ID:      uuid.NewSHA1(ns, fmt.Appendf(nil, "event/%s/%d", s.name, i)),
				Visitor: VisitorID(s.visitor), Session: SessionID(s.name), Site: s.site,
				TS: start.Add(time.Duration(st.offsetMs) * time.Millisecond), Kind: st.kind, Name: st.name,
				Pathname: st.path, Browser: s.browser, OS: s.os, Device: s.device, Bot: s.bot,
				SessionStart: start, StartReason: s.reason, IsStart: i == 0,
				Title: "Title of " + st.path, BrowserVersion: s.version, ScreenWidth: s.width, ScreenHeight: s.height,
				ScrollDepth: st.scroll, Late: st.late, Bridging: st.bridging,
			}
			for _, kv := range st.props {
				k, v, _ := strings.Cut(kv, "=")
				e.PropsKeys, e.PropsValues = append(e.PropsKeys, k), append(e.PropsValues, v)
			}
			if e.Name == "" {
				e.Name = st.kind
			}
			if i == 0 {
				e.Country = s.country
				e.ReferrerDomain, e.Channel, e.ReferrerSource = s.refDomain, s.channel, s.source
				e.UTMSource, e.UTMMedium, e.UTMCampaign, e.UTMTerm, e.UTMContent = s.utm[0], s.utm[1], s.utm[2], s.utm[3], s.utm[4]
				if s.refDomain != "" {
					e.Referrer = "https://" + s.refDomain + "/"
				}
			} else {
				// Later events come from the site's own pages, and from
				// another country (a VPN switched on): they must not change
				// the session's entry attribution.
				e.Referrer, e.ReferrerDomain, e.Channel, e.Country = "https://example.com/", "example.com", "internal", "NL"
			}
			if st.kind == "engagement" {
				e.EngagedMs = uint32(st.offsetMs)
			}
			out = append(out, e)
		}
	}
	return out
}

// eventColumns are the events columns Insert writes, named as ClickHouse
// 18.16 requires.
var eventColumns = []string{"event_id", "site_id", "visitor_id", "session_id", "ts", "ts_ms", "kind", "name",
	"url", "hostname", "pathname", "referrer", "referrer_domain", "channel", "browser", "os", "device", "is_bot", "bot_reason", "engaged_ms",
	"session_started_at", "session_start_reason", "is_session_start",
	"title", "referrer_source", "utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content",
	"browser_version", "screen_width", "screen_height", "props_keys", "props_values", "scroll_depth", "is_late", "is_bridging", "country"}

// row is e as the sessionizer's events row.
func (e *Event) row() store.EventRow {
	host := "example.com"
	if e.Site == OtherSiteID {
		host = "other.example"
	}
	r := store.EventRow{EventID: e.ID, SiteID: e.Site, VisitorID: e.Visitor, SessionID: e.Session, TimeMs: e.TS.UnixMilli(),
		Kind: e.Kind, Name: e.Name, URL: "https://" + host + e.Pathname, Hostname: host, Pathname: e.Pathname, Title: e.Title,
		Referrer: e.Referrer, ReferrerDomain: e.ReferrerDomain, ReferrerSource: e.ReferrerSource, Channel: e.Channel,
		UTMSource: e.UTMSource, UTMMedium: e.UTMMedium, UTMCampaign: e.UTMCampaign, UTMTerm: e.UTMTerm, UTMContent: e.UTMContent,
		Browser: e.Browser, BrowserVersion: e.BrowserVersion, OS: e.OS, Device: e.Device, IsBot: e.Bot,
		ScreenWidth: e.ScreenWidth, ScreenHeight: e.ScreenHeight, PropsKeys: nonNil(e.PropsKeys), PropsValues: nonNil(e.PropsValues),
		EngagedMs: e.EngagedMs, ScrollDepth: e.ScrollDepth, SessionStartedMs: e.SessionStart.UnixMilli(),
		SessionStartReason: e.StartReason, IsSessionStart: e.IsStart, IsLate: e.Late, IsBridging: e.Bridging, Country: e.Country}
	if e.Bot {
		r.BotReason = "crawler:" + e.Browser
	}
	return r
}

// Insert writes events in one insert, and their sessions' session_versions
// rows as the sessionizer would write them (pkg/sessionizer's
// SessionVersions: the real figures code, from the events' own session
// decisions). Give each call whole sessions: a session's row is its
// figures over the events of that call. The fixture's log order is time
// order (ties by id), whatever order the events are given in, so a replay
// in another order writes equal rows.
func Insert(ctx context.Context, db chtest.Inserter, events []Event) error {
	rows := make([]store.EventRow, len(events))
	values := make([][]any, len(events))
	for i := range events {
		r := events[i].row()
		rows[i] = r
		values[i] = []any{r.EventID, r.SiteID, r.VisitorID, r.SessionID, time.UnixMilli(r.TimeMs).UTC(), uint64(r.TimeMs), r.Kind, r.Name,
			r.URL, r.Hostname, r.Pathname, r.Referrer, r.ReferrerDomain, r.Channel, r.Browser, r.OS, r.Device, b2u(r.IsBot), r.BotReason,
			r.EngagedMs, time.UnixMilli(r.SessionStartedMs).UTC(), r.SessionStartReason, b2u(r.IsSessionStart),
			r.Title, r.ReferrerSource, r.UTMSource, r.UTMMedium, r.UTMCampaign, r.UTMTerm, r.UTMContent,
			r.BrowserVersion, r.ScreenWidth, r.ScreenHeight, r.PropsKeys, r.PropsValues, r.ScrollDepth, b2u(r.IsLate), b2u(r.IsBridging), r.Country}
	}
	if err := db.Insert(ctx, "events", eventColumns, values); err != nil {
		return fmt.Errorf("reporttest: insert %d events: %w", len(events), err)
	}
	sort.SliceStable(rows, func(i, j int) bool {
		if rows[i].TimeMs != rows[j].TimeMs {
			return rows[i].TimeMs < rows[j].TimeMs
		}
		return rows[i].EventID.String() < rows[j].EventID.String()
	})
	versions, err := sessionizer.SessionVersions(rows)
	if err != nil {
		return fmt.Errorf("reporttest: %w", err)
	}
	vals := make([][]any, len(versions))
	for i := range versions {
		vals[i] = versions[i].Values()
	}
	if err := db.Insert(ctx, "session_versions", store.SessionVersionColumns, vals); err != nil {
		return fmt.Errorf("reporttest: insert %d session versions: %w", len(vals), err)
	}
	return nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func b2u(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

// Seed saves the sites and writes the data set as an at-least-once pipeline
// might: the whole batch twice, in reverse order (each session's opening
// event last), then S1's events once more.
func Seed(ctx context.Context, db chtest.Inserter) error {
	var sites [][]any
	for _, s := range Sites() {
		if err := s.Normalize(); err != nil {
			return err
		}
		created := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
		sites = append(sites, []any{s.ID, s.Name, s.Domains, s.Timezone, created, uint64(created.UnixMilli()), uint8(0)})
	}
	if err := db.Insert(ctx, "sites", []string{"site_id", "name", "domains", "timezone", "created_at", "updated_ms", "deleted"}, sites); err != nil {
		return fmt.Errorf("reporttest: save sites: %w", err)
	}
	events := Events()
	reversed := make([]Event, len(events))
	for i, e := range events {
		reversed[len(events)-1-i] = e
	}
	var s1 []Event
	for _, e := range events {
		if e.Session == SessionID("S1") {
			s1 = append(s1, e)
		}
	}
	for _, batch := range [][]Event{reversed, reversed, s1} {
		if err := Insert(ctx, db, batch); err != nil {
			return err
		}
	}
	// A replay rejects the same messages again, and a collector rewrites a
	// minute's running count: both written twice, as in production.
	for i := 0; i < 2; i++ {
		if err := db.Insert(ctx, "rejected_events", []string{"received_at", "kafka_topic", "kafka_partition", "kafka_offset", "reason", "payload"}, rejected()); err != nil {
			return fmt.Errorf("reporttest: insert rejected messages: %w", err)
		}
	}
	for _, rows := range [][][]any{accepted(1), accepted(2)} {
		if err := db.Insert(ctx, "collector_accepted", []string{"site_id", "minute_at", "collector_id", "accepted", "updated_ms"}, rows); err != nil {
			return fmt.Errorf("reporttest: insert accepted counts: %w", err)
		}
	}
	return nil
}

// Rejected messages of the data set (rejected_events has no site):
//
//	received (UTC)       partition/offset reason
//	2024-03-10 10:00:00  0/100            invalid event: not a JSON event: invalid character 'x'
//	2024-03-10 11:00:00  1/7              invalid event: not a JSON event: unexpected end of JSON input
//	2024-03-11 12:00:00  0/250            invalid event: unknown version 9
//	2024-03-11 23:30:00  2/3              invalid event: field site_id: empty (00:30 on the 12th in Berlin)
func rejected() [][]any {
	at := func(s string) time.Time { t, _ := time.Parse(time.RFC3339, s); return t }
	return [][]any{
		{at("2024-03-10T10:00:00Z"), "events", int32(0), int64(100), "invalid event: not a JSON event: invalid character 'x'", "x{"},
		{at("2024-03-10T11:00:00Z"), "events", int32(1), int64(7), "invalid event: not a JSON event: unexpected end of JSON input", "{"},
		{at("2024-03-11T12:00:00Z"), "events", int32(0), int64(250), "invalid event: unknown version 9", `{"v":9}`},
		{at("2024-03-11T23:30:00Z"), "events", int32(2), int64(3), "invalid event: field site_id: empty", `{"v":1}`},
	}
}

// accepted are the collectors' per-minute counts of the data set, version
// v: each collector's running count of a minute, as rewritten every few
// seconds. Version 1 holds a count the minute had not finished (S1's
// 09:00 minute: 2 of 3); version 2 the final counts. In Berlin days: the
// 10th accepts 6 (stored 6), the 11th 4 (stored 4), the 12th 5 (stored 4:
// one accepted event of S5's minute never arrived).
func accepted(v uint64) [][]any {
	at := func(s string) time.Time { t, _ := time.Parse(time.RFC3339, s); return t }
	s1 := uint64(3)
	if v == 1 {
		s1 = 2
	}
	return [][]any{
		{SiteID, at("2024-03-09T23:00:00Z"), "c1", uint64(1), v},
		{SiteID, at("2024-03-10T09:00:00Z"), "c1", s1, v},
		{SiteID, at("2024-03-10T09:01:00Z"), "c1", uint64(1), v},
		{SiteID, at("2024-03-10T12:00:00Z"), "c2", uint64(1), v},
		{SiteID, at("2024-03-11T06:00:00Z"), "c2", uint64(2), v},
		{SiteID, at("2024-03-11T08:00:00Z"), "c1", uint64(2), v},
		{SiteID, at("2024-03-11T23:30:00Z"), "c1", uint64(2), v},
		{SiteID, at("2024-03-12T10:00:00Z"), "c2", uint64(3), v},
		{OtherSiteID, at("2024-03-10T10:00:00Z"), "c1", uint64(1), v},
	}
}

// Server is a local ClickHouse with Teller's schema migrated into a
// database, and, after MainBoth, the same database on the current release.
type Server struct {
	CH *chlocal.Server
	DB *store.DB
	// Engines are 18.16 (first) and, after MainBoth, the current release,
	// each seeded alike. The current one may carry an Err: see
	// chtest.Engine.Require.
	Engines []*chtest.Engine
}

// Start starts a local ClickHouse in a new temporary folder, opens database
// and migrates it. It fails with a clear error when clickhouse-server is not
// installed: the tests that use it must fail then, never skip.
func Start(ctx context.Context, database string) (*Server, error) {
	srv, err := chtest.StartServer(ctx, database, nil)
	if err != nil {
		return nil, fmt.Errorf("reporttest: %w", err)
	}
	return &Server{CH: srv.CH, DB: srv.Store, Engines: []*chtest.Engine{&srv.Engine}}, nil
}

// Stop closes the engines, stops the server and removes its folder.
func (s *Server) Stop() {
	for _, e := range s.Engines {
		e.Close()
	}
}

// Main is a test package's TestMain body: it starts one ClickHouse with the
// seeded data set into *srv, runs the tests, stops the server and returns
// the exit code.
func Main(m *testing.M, pkg string, srv **Server) int { return run(m, pkg, srv, false) }

// MainBoth is Main with the data set also seeded on the current release
// (chdb), as srv.Engines[1]. When that engine cannot be used the tests still
// run; each 26.7 subtest then fails (or skips, see chtest).
func MainBoth(m *testing.M, pkg string, srv **Server) int { return run(m, pkg, srv, true) }

func run(m *testing.M, pkg string, srv **Server, current bool) int {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	s, err := Start(ctx, "teller_test")
	if err == nil {
		err = Seed(ctx, s.Engines[0])
	}
	if err == nil && current {
		cur := chtest.OpenCurrent(ctx, "teller_test", nil)
		if cur.Err == nil {
			if err := Seed(ctx, cur); err != nil {
				cur.Close()
				cur.Err = err
			}
		}
		s.Engines = append(s.Engines, cur)
	}
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, pkg+" tests:", err)
		if s != nil {
			s.Stop()
		}
		return 1
	}
	*srv = s
	defer s.Stop()
	return m.Run()
}
