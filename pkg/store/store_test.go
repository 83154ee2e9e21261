package store_test

import (
	"context"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/uuid"

	"github.com/teller-analytics/teller/internal/testenv"
	"github.com/teller-analytics/teller/pkg/sessionizer"
	"github.com/teller-analytics/teller/pkg/site"
	"github.com/teller-analytics/teller/pkg/store"
)

func TestMigrationsAreIdempotentAndDocumented(t *testing.T) {
	srv := testenv.ClickHouse(t)
	db := testenv.OpenStore(t, srv, "mig")
	// Running again (a second service starting) changes nothing.
	if err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	migs, err := store.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	applied := 0
	for _, m := range migs {
		if m.MinMajor == 0 || db.ServerVersion().AtLeast(m.MinMajor, m.MinMinor) {
			applied++
		}
	}
	if got := testenv.ClientQuery(t, srv, "mig", "SELECT count() FROM schema_migrations"); got != itoa(applied) {
		t.Fatalf("schema_migrations has %s rows, want %d (one per applied migration)", got, applied)
	}
	// People query these tables directly: every column says what it holds.
	if bare := testenv.ClientQuery(t, srv, "mig", `SELECT arrayStringConcat(groupArray(concat(table, '.', name)), ', ')
FROM system.columns WHERE database = 'mig' AND comment = '' AND table != 'sessions'`); bare != "" {
		t.Fatalf("columns without a comment: %s", bare)
	}
	for _, table := range []string{"sites", "events", "session_versions", "sessions", "sessionizer_checkpoints", "rejected_events"} {
		if testenv.ClientQuery(t, srv, "mig", "EXISTS TABLE "+table) != "1" {
			t.Fatalf("table %s missing", table)
		}
	}
	// 0060 dropped the aggregate states and the view that filled them.
	for _, table := range []string{"sessions_agg", "sessions_mv"} {
		if testenv.ClientQuery(t, srv, "mig", "EXISTS TABLE "+table) != "0" {
			t.Fatalf("table %s still exists", table)
		}
	}
}

func TestLoadMigrationsRules(t *testing.T) {
	good := fstest.MapFS{
		"0001_a.sql": {Data: []byte("-- a comment\nCREATE TABLE a (x UInt8, s String DEFAULT 'x;y') ENGINE = Memory;\n\nCREATE TABLE b (x UInt8) ENGINE = Memory;\n")},
		"0002_b.sql": {Data: []byte("-- requires-server: 23.9\nALTER TABLE a MODIFY COMMENT 'c';\n")},
	}
	migs, err := store.LoadMigrations(good)
	if err != nil {
		t.Fatal(err)
	}
	if len(migs) != 2 || len(migs[0].Statements) != 2 || migs[1].MinMajor != 23 || migs[1].MinMinor != 9 {
		t.Fatalf("parsed %+v", migs)
	}
	if !strings.Contains(migs[0].Statements[0], "'x;y'") {
		t.Fatalf("a ';' inside a line split the statement: %q", migs[0].Statements)
	}
	for name, fs := range map[string]fstest.MapFS{
		"no number":  {"a_b.sql": {Data: []byte("SELECT 1;")}},
		"duplicate":  {"0001_a.sql": {Data: []byte("SELECT 1;")}, "0001_b.sql": {Data: []byte("SELECT 1;")}},
		"empty":      {"0001_a.sql": {Data: []byte("-- nothing\n")}},
		"bad header": {"0001_a.sql": {Data: []byte("-- requires-server: soon\nSELECT 1;")}},
	} {
		if _, err := store.LoadMigrations(fs); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestSitesCheckpointsAndRejected(t *testing.T) {
	srv := testenv.ClickHouse(t)
	db := testenv.OpenStore(t, srv, "rw")
	ctx := context.Background()
	if err := db.SaveSite(ctx, site.Site{ID: "a", Domains: []string{"a.example"}, Timezone: "Europe/Paris"}); err != nil {
		t.Fatal(err)
	}
	first, _, _ := db.GetSite(ctx, "a")
	time.Sleep(5 * time.Millisecond) // versions are milliseconds
	if err := db.SaveSite(ctx, site.Site{ID: "a", Name: "A", Domains: []string{"a.example", "b.example"}}); err != nil {
		t.Fatal(err)
	}
	s, ok, err := db.GetSite(ctx, "a")
	if err != nil || !ok || s.Name != "A" || len(s.Domains) != 2 || s.Timezone != "UTC" || !s.CreatedAt.Equal(first.CreatedAt) {
		t.Fatalf("after update: %+v ok=%v err=%v (created %v)", s, ok, err, first.CreatedAt)
	}
	if err := db.SaveSite(ctx, site.Site{ID: "Bad Id", Domains: []string{"x"}}); err == nil {
		t.Fatal("invalid site saved")
	}
	if _, ok, _ := db.GetSite(ctx, "nope"); ok {
		t.Fatal("unknown site found")
	}

	if _, ok, err := db.LoadCheckpoint(ctx, "g", "t", 0); err != nil || ok {
		t.Fatalf("checkpoint before any: ok=%v err=%v", ok, err)
	}
	for i, off := range []int64{10, 25} {
		if err := db.SaveCheckpoint(ctx, store.Checkpoint{Group: "g", Topic: "t", Partition: 0, NextOffset: off, ClockMs: int64(i), State: []byte{0, 1, 2, byte(i)}}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	cp, ok, err := db.LoadCheckpoint(ctx, "g", "t", 0)
	if err != nil || !ok || cp.NextOffset != 25 || string(cp.State) != string([]byte{0, 1, 2, 1}) {
		t.Fatalf("latest checkpoint: %+v ok=%v err=%v", cp, ok, err)
	}
	if err := db.WriteRejected(ctx, []store.Rejected{{At: time.Now(), Topic: "t", Offset: 3, Reason: "bad", Payload: []byte("{")}}); err != nil {
		t.Fatal(err)
	}
	if got := testenv.ClientQuery(t, srv, "rw", "SELECT kafka_offset, reason, payload FROM rejected_events"); got != "3\tbad\t{" {
		t.Fatalf("rejected: %q", got)
	}
	// Writing the same event twice leaves one event in the sessions figures.
	row := store.EventRow{EventID: uuid.New(), SiteID: "a", VisitorID: uuid.New(), SessionID: uuid.New(), TimeMs: 1_700_000_000_123,
		Kind: "pageview", Name: "pageview", Pathname: "/", SessionStartedMs: 1_700_000_000_123, SessionStartReason: "first_visit", IsSessionStart: true,
		Country: "DE"}
	for i := 0; i < 2; i++ {
		if err := db.WriteEvents(ctx, []store.EventRow{row}); err != nil {
			t.Fatal(err)
		}
	}
	// The sessions view reads session_versions, which the sessionizer
	// writes: here its figures of the two deliveries, written twice.
	versions, err := sessionizer.SessionVersions([]store.EventRow{row, row})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if err := db.WriteSessionVersions(ctx, versions); err != nil {
			t.Fatal(err)
		}
	}
	if got := testenv.ClientQuery(t, srv, "rw", "SELECT count(), sum(pageviews), any(first_ms), any(country) FROM sessions"); got != "1\t1\t1700000000123\tDE" {
		t.Fatalf("sessions after a duplicate write: %q", got)
	}
	if got := testenv.ClientQuery(t, srv, "rw", "SELECT count(), any(country) FROM events FINAL"); got != "1\tDE" {
		t.Fatalf("events after a duplicate write: %q", got)
	}
	// Writing the same session version twice, and an older one after it,
	// leaves the newest once.
	v := store.SessionVersion{SiteID: "b", SessionID: uuid.New(), VisitorID: uuid.New(), StartedMs: 1_700_000_000_000,
		StartReason: "inactivity", Version: 2, FirstMs: 1_700_000_000_000, LastMs: 1_700_000_004_000, Events: 2, Pageviews: 2,
		EntryPathname: "/a", ExitPathname: "/b", Pages: []string{"/a", "/b"}, PageViews: []uint32{1, 1}}
	older := v
	older.Version, older.Events, older.Pageviews, older.LastMs, older.ExitPathname = 1, 1, 1, older.FirstMs, "/a"
	older.Pages, older.PageViews = nil, nil
	for _, rows := range [][]store.SessionVersion{{v}, {v}, {older}} {
		if err := db.WriteSessionVersions(ctx, rows); err != nil {
			t.Fatal(err)
		}
	}
	if got := testenv.ClientQuery(t, srv, "rw", `SELECT count(), sum(events), any(duration_ms), any(exit_pathname), any(start_reason),
 any(toString(session_date)) FROM sessions WHERE site_id = 'b'`); got != "1\t2\t4000\t/b\tinactivity\t2023-11-14" {
		t.Fatalf("sessions after writing versions 2, 2, 1: %q", got)
	}
	if got := testenv.ClientQuery(t, srv, "rw", "SELECT pages, page_views FROM session_versions FINAL WHERE site_id = 'b'"); got != "['/a','/b']\t[1,1]" {
		t.Fatalf("pages of the newest version: %q", got)
	}
	// SessionVersion.Values, as fixtures write a row, gives the row
	// WriteSessionVersions writes, column for column.
	c, d := v, v
	c.SiteID, d.SiteID, c.Country, d.Country, c.ReferrerSource, d.ReferrerSource = "c", "d", "FR", "FR", "Google", "Google"
	if err := db.WriteSessionVersions(ctx, []store.SessionVersion{c}); err != nil {
		t.Fatal(err)
	}
	batch, err := db.Conn().PrepareBatch(ctx, "INSERT INTO session_versions ("+strings.Join(store.SessionVersionColumns, ", ")+")")
	if err != nil {
		t.Fatal(err)
	}
	if err := batch.Append(d.Values()...); err != nil {
		t.Fatal(err)
	}
	if err := batch.Send(); err != nil {
		t.Fatal(err)
	}
	cols := strings.Join(store.SessionVersionColumns[1:], ", ")
	wrote := testenv.ClientQuery(t, srv, "rw", "SELECT "+cols+" FROM session_versions WHERE site_id = 'c'")
	if got := testenv.ClientQuery(t, srv, "rw", "SELECT "+cols+" FROM session_versions WHERE site_id = 'd'"); got != wrote || !strings.Contains(got, "FR") {
		t.Fatalf("a row written from Values:\n%s\nby WriteSessionVersions:\n%s", got, wrote)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// The collector settings of a site survive the round trip through
// ClickHouse, and a site saved without them reads back with the defaults.
func TestSiteSettingsRoundTrip(t *testing.T) {
	srv := testenv.ClickHouse(t)
	db := testenv.OpenStore(t, srv, "rw")
	ctx := context.Background()
	want := site.Settings{CookieMode: site.CookieModeCookieless, CookieDomain: "a.example", SameSite: site.SameSiteNone,
		Bots: site.BotsDrop, QueryParams: []string{"page", "q"}, RateLimit: 12.5, RateBurst: 40,
		RespectDNT: true, MidnightSplit: site.SplitOn, CampaignSplit: site.SplitOff, SessionGap: 45 * time.Minute}
	if err := db.SaveSite(ctx, site.Site{ID: "a", Domains: []string{"a.example"}, Settings: want}); err != nil {
		t.Fatal(err)
	}
	if err := db.SaveSite(ctx, site.Site{ID: "b", Domains: []string{"b.example"}}); err != nil {
		t.Fatal(err)
	}
	// A settings row as written before 0065 added the session options
	// and respect_dnt reads back with their defaults.
	if err := db.SaveSite(ctx, site.Site{ID: "c", Domains: []string{"c.example"}}); err != nil {
		t.Fatal(err)
	}
	testenv.ClientQuery(t, srv, "rw", "INSERT INTO site_settings (site_id, cookie_mode, cookie_domain, same_site, bots, query_params, rate_limit, rate_burst, updated_ms) VALUES ('c', 'cookie', '', 'auto', 'flag', [], 0, 0, 99999999999999)")
	list, err := db.ListSites(ctx)
	if err != nil || len(list) != 3 {
		t.Fatalf("sites: %+v %v", list, err)
	}
	if got := list[0].Settings; !reflect.DeepEqual(got, want) {
		t.Fatalf("settings read back %+v, want %+v", got, want)
	}
	def := site.Settings{CookieMode: site.CookieModeCookie, SameSite: site.SameSiteAuto, Bots: site.BotsFlag, QueryParams: []string{},
		MidnightSplit: site.SplitDefault, CampaignSplit: site.SplitDefault}
	if got := list[1].Settings; !reflect.DeepEqual(got, def) {
		t.Fatalf("default settings read back %+v, want %+v", got, def)
	}
	if got := list[2].Settings; !reflect.DeepEqual(got, def) {
		t.Fatalf("a row from before 0065 read back %+v, want %+v", got, def)
	}
}

// -clickhouse-compression none talks to a real server without LZ4 both
// ways (a block written and read back), and a value other than lz4 or none
// is refused before any I/O.
func TestCompression(t *testing.T) {
	for _, tt := range []struct {
		value string
		ok    bool
	}{{"", true}, {store.CompressionLZ4, true}, {store.CompressionNone, true}, {"zstd", false}, {"LZ4", false}} {
		c := store.Config{Addr: "127.0.0.1:9000", Database: "teller", DialTimeout: time.Second, MaxConns: 1, Compression: tt.value}
		if err := c.Validate(); (err == nil) != tt.ok || err != nil && !strings.Contains(err.Error(), "-clickhouse-compression") {
			t.Errorf("compression %q: %v, want ok=%v", tt.value, err, tt.ok)
		}
	}
	ctx := context.Background()
	srv := testenv.ClickHouse(t)
	cfg := testenv.StoreConfig(srv, "uncompressed")
	cfg.Compression = store.CompressionNone
	db, err := store.Open(ctx, cfg, testenv.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	want := site.Site{ID: "plain", Domains: []string{"plain.example"}}
	if err := db.SaveSite(ctx, want); err != nil {
		t.Fatal(err)
	}
	got, ok, err := db.GetSite(ctx, "plain")
	if err != nil || !ok || got.ID != want.ID || !reflect.DeepEqual(got.Domains, want.Domains) {
		t.Fatalf("site read back without compression: %+v, %v, %v", got, ok, err)
	}
}
