package store_test

import (
	"context"
	"testing"

	"github.com/teller-analytics/teller/internal/testenv"
	"github.com/teller-analytics/teller/pkg/store"
)

// An install from before session_versions (migrations up to 0022), whose
// sessions live only in sessions_agg, upgrades on 18.16: 0030 backfills
// session_versions from the aggregates, 0060 drops them, 0061 adds the
// country, and the sessions view keeps every figure.
func TestUpgradeFromTheAggregates(t *testing.T) {
	srv := testenv.ClickHouse(t)
	ctx := context.Background()
	db, err := store.Open(ctx, testenv.StoreConfig(srv, "upgrade"), testenv.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	migs, err := store.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	var old []store.Migration
	for _, m := range migs {
		if m.Version < 30 {
			old = append(old, m)
		}
	}
	if err := store.MigrateOnly(ctx, db, "", nil, old); err != nil {
		t.Fatal(err)
	}
	// What the old sessionizer wrote: session A with two pageviews (its
	// second twice), session B with one; sessions_mv aggregated them.
	if err := db.Exec(ctx, `INSERT INTO events (event_id, site_id, visitor_id, session_id, ts, ts_ms, kind, name, pathname,
 channel, session_started_at, session_start_reason, is_session_start)
SELECT toUUID(e), 'up', toUUID('00000000-0000-4000-8000-0000000000f1'), toUUID(s), toDateTime(intDiv(ms, 1000), 'UTC'), ms,
 'pageview', 'pageview', p, c, toDateTime(1709884800, 'UTC'), 'first_visit', st
FROM (SELECT arrayJoin([
  ('00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-00000000000a', toUInt64(1709884800000), '/', 'direct', toUInt8(1)),
  ('00000000-0000-4000-8000-000000000002', '00000000-0000-4000-8000-00000000000a', toUInt64(1709884830000), '/pricing', 'internal', toUInt8(0)),
  ('00000000-0000-4000-8000-000000000002', '00000000-0000-4000-8000-00000000000a', toUInt64(1709884830000), '/pricing', 'internal', toUInt8(0)),
  ('00000000-0000-4000-8000-000000000003', '00000000-0000-4000-8000-00000000000b', toUInt64(1709884800000), '/blog', 'referral', toUInt8(1))
 ]) AS x, tupleElement(x, 1) AS e, tupleElement(x, 2) AS s, tupleElement(x, 3) AS ms, tupleElement(x, 4) AS p,
 tupleElement(x, 5) AS c, tupleElement(x, 6) AS st)`); err != nil {
		t.Fatal(err)
	}
	if got := testenv.ClientQuery(t, srv, "upgrade", "SELECT count() FROM (SELECT session_id FROM sessions_agg GROUP BY session_id)"); got != "2" {
		t.Fatalf("sessions_agg holds %s sessions before the upgrade, want 2", got)
	}
	if err := db.Migrate(ctx); err != nil {
		t.Fatalf("upgrade: %v", err)
	}
	const figures = `SELECT toString(session_id), events, pageviews, duration_ms, entry_pathname, exit_pathname, channel, concat('[', country, ']')
FROM sessions WHERE site_id = 'up' ORDER BY session_id`
	want := "00000000-0000-4000-8000-00000000000a\t2\t2\t30000\t/\t/pricing\tdirect\t[]\n" +
		"00000000-0000-4000-8000-00000000000b\t1\t1\t0\t/blog\t/blog\treferral\t[]"
	if got := testenv.ClientQuery(t, srv, "upgrade", figures); got != want {
		t.Fatalf("sessions after the upgrade:\n%s\nwant:\n%s", got, want)
	}
	for _, table := range []string{"sessions_agg", "sessions_mv"} {
		if testenv.ClientQuery(t, srv, "upgrade", "EXISTS TABLE "+table) != "0" {
			t.Errorf("%s survived the upgrade", table)
		}
	}
	// Starting again changes nothing, and the new columns take writes.
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := db.WriteEvents(ctx, []store.EventRow{{SiteID: "up", Kind: "pageview", Name: "pageview", TimeMs: 1709884900000,
		SessionStartedMs: 1709884900000, SessionStartReason: "first_visit", Country: "FR"}}); err != nil {
		t.Fatal(err)
	}
	if got := testenv.ClientQuery(t, srv, "upgrade", "SELECT country FROM events WHERE ts_ms = 1709884900000"); got != "FR" {
		t.Fatalf("country written after the upgrade: %q", got)
	}
}

// ADD COLUMN IF NOT EXISTS, which 18.16 lacks, adds a missing column once,
// skips an existing one (a migration that stopped halfway and runs again),
// and two services running it at once both succeed.
func TestAddColumnIfNotExists(t *testing.T) {
	srv := testenv.ClickHouse(t)
	db := testenv.OpenStore(t, srv, "addcol")
	ctx := context.Background()
	mig := func(v int, stmt string) []store.Migration {
		return []store.Migration{{Version: v, Name: "test.sql", Checksum: "x", Statements: []string{stmt}}}
	}
	if err := store.MigrateOnly(ctx, db, "", nil, mig(9001, "ALTER TABLE events ADD COLUMN IF NOT EXISTS country String")); err != nil {
		t.Fatalf("an existing column: %v", err)
	}
	errs := make(chan error, 2)
	for range 2 {
		go func() {
			errs <- store.MigrateOnly(ctx, db, "", nil, mig(9002, "ALTER TABLE events ADD COLUMN IF NOT EXISTS test_extra UInt8 DEFAULT 7"))
		}()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Errorf("adding a column from two services at once: %v", err)
		}
	}
	if got := testenv.ClientQuery(t, srv, "addcol", "SELECT type, default_expression FROM system.columns WHERE database = 'addcol' AND table = 'events' AND name = 'test_extra'"); got != "UInt8\t7" {
		t.Fatalf("the added column: %q", got)
	}
	if err := store.MigrateOnly(ctx, db, "", nil, mig(9003, "ALTER TABLE nope ADD COLUMN IF NOT EXISTS x UInt8")); err == nil {
		t.Fatal("adding a column to a missing table succeeded")
	}
}
