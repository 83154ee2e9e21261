package loadgen

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/teller-analytics/teller/internal/testenv"
)

// The verification waits for the rows with a cheap count and reads the
// exact figures only once the rows could hold every event: when the rows
// never get there it gives up after its timeout and still reports how many
// events and visitors arrived; when they are there it matches, and Waited
// is short.
func TestVerifyWaitsWithCountAndReportsWhatArrived(t *testing.T) {
	ch := testenv.ClickHouse(t)
	const database = "teller_verify"
	testenv.OpenStore(t, ch, database)
	started := time.Now().Add(-time.Minute).Truncate(time.Second)
	// Three events of two visitors, one of them a pageview, one row
	// written twice (a replay).
	testenv.ClientQuery(t, ch, database, fmt.Sprintf(`INSERT INTO events (site_id, event_id, visitor_id, kind, ts, ts_ms)
SELECT 'v', toUUID(e), toUUID(vis), k, toDateTime(%[1]d), %[2]d FROM (
  SELECT arrayJoin([('00000000-0000-0000-0000-000000000001', '00000000-0000-0000-0000-0000000000a1', 'pageview'),
                    ('00000000-0000-0000-0000-000000000002', '00000000-0000-0000-0000-0000000000a1', 'event'),
                    ('00000000-0000-0000-0000-000000000002', '00000000-0000-0000-0000-0000000000a1', 'event'),
                    ('00000000-0000-0000-0000-000000000003', '00000000-0000-0000-0000-0000000000a2', 'engagement')]) AS t,
         t.1 AS e, t.2 AS vis, t.3 AS k)`, started.Unix()+1, started.UnixMilli()+1000))
	tests := []struct {
		name                      string
		accepted, visitors, views int64
		match                     bool
	}{
		{name: "every event there", accepted: 3, visitors: 2, views: 1, match: true},
		// Four rows, so the count reaches three, but the exact figures
		// tell the replayed row from a missing event.
		{name: "a row replayed, an event missing", accepted: 4, visitors: 2, views: 1},
		{name: "rows missing", accepted: 5, visitors: 3, views: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := &Report{Started: started, Accepted: tt.accepted, Visitors: tt.visitors}
			rep.AcceptedKinds.Pageviews = tt.views
			timeout := 700 * time.Millisecond
			v := verify(context.Background(), VerifyConfig{Addr: ch.Addr(), Database: database, Timeout: timeout}, "v", rep, nil, testenv.Logger(t))
			if v.Err != nil {
				t.Fatal(v.Err)
			}
			if v.Match != tt.match || v.GotEvents != 3 || v.GotVisitors != 2 || v.GotPageviews != 1 {
				t.Fatalf("match %t, got %d events, %d visitors, %d pageviews; want match %t and 3, 2, 1 (what arrived)",
					v.Match, v.GotEvents, v.GotVisitors, v.GotPageviews, tt.match)
			}
			if tt.match && v.Waited >= timeout {
				t.Errorf("matched after %s, the whole timeout", v.Waited)
			}
			if !tt.match && v.Waited < timeout {
				t.Errorf("gave up after %s, before the %s timeout", v.Waited, timeout)
			}
		})
	}
}
