package loadgen

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/google/uuid"
)

// Verification compares the ground truth with the events table.
type Verification struct {
	Addr, Database string
	// Got* are ClickHouse's figures for the site since the run started;
	// Want* are the run's accepted events, visitors and page views.
	GotEvents, WantEvents       uint64
	GotVisitors, WantVisitors   uint64
	GotPageviews, WantPageviews uint64
	// BotVisitors is how many of the visitors ClickHouse flags as bots
	// (for information: which user agents count as bots is the enricher's call).
	BotVisitors uint64
	// Match is true when every Got equals its Want.
	Match bool
	// Waited is how long after the verification began the matching
	// query started (every event was queryable then), or how long it took
	// to give up.
	Waited time.Duration
	// Missing and Extra explain a mismatch: accepted event ids not in
	// ClickHouse, and ids in ClickHouse for the site and time that this run
	// did not send (other traffic to the same site, or a request the
	// collector accepted after this run gave up on it). -1: not computed.
	Missing, Extra int
	// Err is set when ClickHouse could not be asked; Error is its text (JSON).
	Err   error  `json:"-"`
	Error string `json:"error,omitempty"`
}

// verify polls ClickHouse until its figures for the site since the run's
// start equal what the collector accepted, or the timeout passes. Events
// are counted by event_id (a replay may write a row twice), visitors by
// visitor_id.
func verify(ctx context.Context, vc VerifyConfig, site string, rep *Report, ids []uuid.UUID, log *slog.Logger) *Verification {
	v := &Verification{Addr: vc.Addr, Database: vc.Database, Missing: -1, Extra: -1,
		WantEvents: uint64(rep.Accepted), WantVisitors: uint64(rep.Visitors), WantPageviews: uint64(rep.AcceptedKinds.Pageviews)}
	conn, err := clickhouse.Open(&clickhouse.Options{
		Addr:        []string{vc.Addr},
		Auth:        clickhouse.Auth{Database: vc.Database, Username: vc.User, Password: vc.Password},
		DialTimeout: 5 * time.Second,
		ReadTimeout: 30 * time.Second,
	})
	if err != nil {
		v.Err = fmt.Errorf("connect to ClickHouse at %s: %w", vc.Addr, err)
		v.Error = v.Err.Error()
		return v
	}
	defer conn.Close()
	// ts is in the table's key (by day), ts_ms is the exact instant: the
	// collector stamps events with its clock, which must agree with ours.
	where := fmt.Sprintf("site_id = ? AND ts >= toDateTime(%d) AND ts_ms >= %d", rep.Started.Unix(), rep.Started.UnixMilli())
	query := `SELECT uniqExact(event_id), uniqExact(visitor_id), uniqExactIf(event_id, kind = 'pageview'),
 uniqExactIf(visitor_id, is_bot = 1) FROM events WHERE ` + where
	log.Info("verifying against ClickHouse", "addr", vc.Addr, "database", vc.Database, "events", v.WantEvents, "visitors", v.WantVisitors)
	start := time.Now()
	deadline := start.Add(vc.Timeout)
	// The exact count takes seconds over millions of rows, so the wait is
	// polled with count(): rows only grow, and until they reach the events
	// accepted (a replayed row counts twice, so reaching them is necessary,
	// not sufficient) the exact query cannot match.
	rows := `SELECT count() FROM events WHERE ` + where
	exact := false // whether the Got figures are from the last round
	for {
		var n uint64
		exact = false
		if err = conn.QueryRow(ctx, rows, site).Scan(&n); err == nil && n >= v.WantEvents {
			exact = true
			// A SELECT reads the parts present when it starts: on a match
			// every event was queryable then, so Waited ends there.
			asked := time.Now()
			err = conn.QueryRow(ctx, query, site).Scan(&v.GotEvents, &v.GotVisitors, &v.GotPageviews, &v.BotVisitors)
			if err == nil {
				v.Match = v.GotEvents == v.WantEvents && v.GotVisitors == v.WantVisitors && v.GotPageviews == v.WantPageviews
				// Figures only grow: once one is too high, waiting cannot help.
				over := v.GotEvents > v.WantEvents || v.GotVisitors > v.WantVisitors || v.GotPageviews > v.WantPageviews
				if v.Match {
					v.Waited = asked.Sub(start)
					break
				}
				if over {
					break
				}
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			if err != nil {
				v.Err = fmt.Errorf("query ClickHouse at %s (database %s): %w", vc.Addr, vc.Database, err)
			}
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
	if !v.Match {
		v.Waited = time.Since(start) // gave up
		if err == nil && !exact && ctx.Err() == nil {
			// Gave up before the rows were all there: the exact figures
			// say how many arrived.
			err = conn.QueryRow(ctx, query, site).Scan(&v.GotEvents, &v.GotVisitors, &v.GotPageviews, &v.BotVisitors)
			if err != nil {
				v.Err = fmt.Errorf("query ClickHouse at %s (database %s): %w", vc.Addr, vc.Database, err)
			}
		}
	}
	if v.Err != nil {
		v.Error = v.Err.Error()
	}
	if v.Err == nil && !v.Match && ids != nil {
		v.Missing, v.Extra = diagnose(ctx, conn, where, site, ids)
	}
	return v
}

// diagnose compares event ids: accepted but absent, present but not sent.
func diagnose(ctx context.Context, conn clickhouse.Conn, where, site string, ids []uuid.UUID) (missing, extra int) {
	rows, err := conn.Query(ctx, "SELECT DISTINCT event_id FROM events WHERE "+where, site)
	if err != nil {
		return -1, -1
	}
	defer rows.Close()
	sent := make(map[uuid.UUID]bool, len(ids))
	for _, id := range ids {
		sent[id] = false
	}
	for rows.Next() {
		var id uuid.UUID
		if err := rows.Scan(&id); err != nil {
			return -1, -1
		}
		if _, ok := sent[id]; ok {
			sent[id] = true
		} else {
			extra++
		}
	}
	if rows.Err() != nil {
		return -1, -1
	}
	for _, found := range sent {
		if !found {
			missing++
		}
	}
	return missing, extra
}

func (v *Verification) print(w io.Writer) {
	p := func(format string, a ...any) { fmt.Fprintf(w, format+"\n", a...) }
	p("  verify     ClickHouse %s, database %s, events of the site since the run started:", v.Addr, v.Database)
	if v.Err != nil {
		p("             ERROR: %v", v.Err)
		return
	}
	mark := func(got, want uint64) string {
		if got == want {
			return "ok"
		}
		return fmt.Sprintf("MISMATCH (%+d)", int64(got)-int64(want))
	}
	row := func(what string, got, want uint64) {
		p("             %-10s %9d in ClickHouse, %9d accepted  %s", what, got, want, mark(got, want))
	}
	row("events", v.GotEvents, v.WantEvents)
	row("visitors", v.GotVisitors, v.WantVisitors)
	row("pageviews", v.GotPageviews, v.WantPageviews)
	p("             (%d visitors flagged as bots by the sessionizer)", v.BotVisitors)
	if v.Match {
		p("             MATCH after %s", v.Waited.Round(time.Millisecond))
		return
	}
	p("             MISMATCH after %s", v.Waited.Round(time.Millisecond))
	if v.Missing >= 0 {
		p("             %d accepted event ids are not in ClickHouse; %d ids there were not sent by this run (other traffic to the site?)", v.Missing, v.Extra)
	}
}
