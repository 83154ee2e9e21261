package resessionize

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/teller-analytics/teller/internal/chtest"
	"github.com/teller-analytics/teller/internal/testenv"
)

// TestSwapOnCurrentRelease: the switch's RENAME on the current release
// (18.16 runs it in TestResessionizeEqualsLiveRun): the sessions view reads
// the swapped-in tables by name, new events land in the swapped-in events
// table, and the same statement swaps back.
func TestSwapOnCurrentRelease(t *testing.T) {
	ctx := context.Background()
	live := chtest.OpenCurrent(ctx, "swap_live", testenv.Logger(t))
	t.Cleanup(live.Close)
	live.Require(t)
	stg := chtest.OpenCurrent(ctx, "swap_stg", testenv.Logger(t))
	t.Cleanup(stg.Close)
	stg.Require(t)

	day := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	oldID, newID := uuid.MustParse("00000000-0000-0000-0000-00000000000a"), uuid.MustParse("00000000-0000-0000-0000-00000000000b")
	version := func(e *chtest.Engine, id uuid.UUID) {
		t.Helper()
		if err := e.Insert(ctx, "session_versions", []string{"site_id", "session_date", "session_id", "started_at", "version", "events"},
			[][]any{{"s", day, id, day, uint32(1), uint32(1)}}); err != nil {
			t.Fatal(err)
		}
	}
	event := func(e *chtest.Engine, session uuid.UUID) {
		t.Helper()
		if err := e.Insert(ctx, "events", []string{"event_id", "site_id", "session_id", "ts", "ts_ms", "kind", "session_started_at"},
			[][]any{{uuid.New(), "s", session, day, uint64(day.UnixMilli()), "pageview", day}}); err != nil {
			t.Fatal(err)
		}
	}
	sessions := func() string {
		t.Helper()
		rows, err := live.Query(ctx, "SELECT toString(session_id) FROM sessions ORDER BY session_id")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out string
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				t.Fatal(err)
			}
			out += s + " "
		}
		return out
	}
	stored := func(session uuid.UUID) bool {
		t.Helper()
		rows, err := live.Query(ctx, "SELECT count() FROM events WHERE session_id = ?", session)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var n uint64
		if !rows.Next() || rows.Scan(&n) != nil {
			t.Fatal("no count")
		}
		return n > 0
	}
	version(live, oldID)
	version(stg, newID)
	before := sessions()

	l, s := named{live, "swap_live"}, named{stg, "swap_stg"}
	if err := swap(ctx, l, s); err != nil {
		t.Fatal(err)
	}
	if got, want := sessions(), newID.String()+" "; got != want {
		t.Fatalf("after the switch the sessions view reads %q, want %q", got, want)
	}
	event(live, newID)
	if !stored(newID) {
		t.Error("after the switch an event written to events is not in the live events table")
	}
	if err := swap(ctx, l, s); err != nil {
		t.Fatal(err)
	}
	if got := sessions(); got != before {
		t.Fatalf("after the rollback the sessions view reads %q, want %q", got, before)
	}
	event(live, oldID)
	if !stored(oldID) {
		t.Error("after the rollback an event written to events is not in the live events table")
	}
}

// named binds a chtest engine to its database's name.
type named struct {
	*chtest.Engine
	name string
}

func (n named) Database() string { return n.name }
