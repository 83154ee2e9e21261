package loadgen

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/google/uuid"
)

// The ground truth of a time-compressed live run (Config.SessionGap): every
// visit is one session, made of the events the collector accepted for it.

// liveVisit is one planned session: its accepted events, their page views,
// and the paths (liveTruth.paths indices) of its first and last accepted
// event (the visit's requests are sequential, so those are the earliest
// and the latest in event time, unless two share the collector's
// millisecond: see clockOrder). It holds no pointer, nor does any part of
// the ground truth: a run of millions of events keeps it live for its
// whole length, and the garbage collector need not scan it.
type liveVisit struct {
	events, pageviews uint32
	entry, exit       uint32
	first, last       uuid.UUID // the first and the last accepted event
	// overdue: two of the visit's requests were further apart than the
	// session gap (from the start of one to the answer of the next), as
	// when the box falls behind the schedule and a browser waits for a
	// worker. The generator then no longer controls that pause, and the
	// session rules may rightly split the visit (see markOverdue).
	overdue bool
}

// clockOrder is a visit's earliest and latest event as the session rules
// order them: by the collector's receive time, ties by event id (smaller
// first). An SPA navigation sends the engagement event of the page left
// and the new page view at once, as the snippet's route() does, and both
// can be received within one millisecond: the exit page is then the one
// of the larger event id, which only ClickHouse's rows tell.
type clockOrder struct {
	minMs, maxMs    uint64
	minID, maxID    uuid.UUID
	firstMs, lastMs uint64 // receive times of the visit's first and last sent events
}

func (o *clockOrder) add(id uuid.UUID, ms uint64, v *liveVisit) {
	if o.minID == uuid.Nil || ms < o.minMs || ms == o.minMs && bytes.Compare(id[:], o.minID[:]) < 0 {
		o.minMs, o.minID = ms, id
	}
	if o.maxID == uuid.Nil || ms > o.maxMs || ms == o.maxMs && bytes.Compare(id[:], o.maxID[:]) > 0 {
		o.maxMs, o.maxID = ms, id
	}
	if id == v.first {
		o.firstMs = ms
	}
	if id == v.last {
		o.lastMs = ms
	}
}

// visitID is a visit's index in liveTruth.visits.
type visitID uint32

// liveTruth collects the visits as the collector accepts their events.
type liveTruth struct {
	mu      sync.Mutex
	visits  []liveVisit
	byEvent map[uuid.UUID]liveEvent
	// paths are the pages' paths, each once (pageSet.pathnames; a site has
	// few): an event keeps 4 bytes of its page (step.pathID), not a string.
	paths []string
}

// liveEvent is an accepted event's visit and page path (index in
// liveTruth.paths): 8 bytes without a pointer.
type liveEvent struct {
	visit visitID
	path  uint32
}

func newLiveTruth(paths []string) *liveTruth {
	return &liveTruth{byEvent: map[uuid.UUID]liveEvent{}, paths: paths}
}

// begin opens a visit; it counts once one of its events is accepted.
func (t *liveTruth) begin() visitID {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.visits = append(t.visits, liveVisit{})
	return visitID(len(t.visits) - 1)
}

// accepted records that the collector accepted event id of visit vid.
func (t *liveTruth) accepted(vid visitID, id uuid.UUID, s *step) {
	t.mu.Lock()
	defer t.mu.Unlock()
	path := s.pathID
	v := &t.visits[vid]
	if v.events == 0 {
		v.entry, v.first = path, id
	}
	v.events++
	if s.kind == "pageview" {
		v.pageviews++
	}
	v.exit, v.last = path, id
	t.byEvent[id] = liveEvent{vid, path}
}

// markOverdue records that a pause of visit vid grew past the session gap.
func (t *liveTruth) markOverdue(vid visitID) {
	t.mu.Lock()
	t.visits[vid].overdue = true
	t.mu.Unlock()
}

// sessions is the number of planned sessions: visits with an accepted event.
func (t *liveTruth) sessions() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, v := range t.visits {
		if v.events > 0 {
			n++
		}
	}
	return n
}

// checkLiveSessions compares ClickHouse's sessions of the run with the
// visits: each visit's events must share one session, no session may hold
// two visits, and each session's page views, events, entry and exit page
// must be the visit's. Sessions rows are written in the same cycle as their
// events, so the check repeats until they agree or the timeout passes, or
// until the difference is final: every event there and every visit's
// session found, with the same figures for settleTime (waiting longer
// cannot change them, and each look reads every event of the run: a
// mismatch cost the load generator more CPU in two minutes of looks than
// sending the run's events).
func checkLiveSessions(ctx context.Context, vc VerifyConfig, site string, rep *Report, truth *liveTruth) *SessionCheck {
	c := &SessionCheck{WantSessions: truth.sessions(), WantEvents: uint64(rep.Accepted)}
	conn, err := clickhouse.Open(&clickhouse.Options{
		Addr:        []string{vc.Addr},
		Auth:        clickhouse.Auth{Database: vc.Database, Username: vc.User, Password: vc.Password},
		DialTimeout: 5 * time.Second, ReadTimeout: 5 * time.Minute,
	})
	if err != nil {
		c.Error = fmt.Sprintf("connect to ClickHouse at %s: %v", vc.Addr, err)
		return c
	}
	defer conn.Close()
	deadline := time.Now().Add(vc.Timeout)
	var first *SessionCheck // the first look of the figures seen since
	var since time.Time
	for {
		got := compareLiveSessions(ctx, conn, site, rep, truth)
		if got.Match || got.Error != "" || time.Now().After(deadline) || ctx.Err() != nil {
			return got
		}
		if !got.complete() || first == nil || !got.sameFigures(first) {
			first, since = got, time.Now()
		} else if time.Since(since) >= settleTime {
			return got
		}
		pause := 250 * time.Millisecond
		if got.complete() {
			pause = time.Second // settling: fewer looks
		}
		time.Sleep(pause)
	}
}

// settleTime is how long a complete mismatch must stay the same to be final:
// several of the sessionizer's flush cycles.
const settleTime = 5 * time.Second

// complete: every accepted event is in ClickHouse, and every visit's session.
func (c *SessionCheck) complete() bool { return c.GotEvents >= c.WantEvents && c.Missing == 0 }

func (c *SessionCheck) sameFigures(o *SessionCheck) bool {
	return c.GotEvents == o.GotEvents && c.GotSessions == o.GotSessions && c.Wrong == o.Wrong && c.Extra == o.Extra
}

func compareLiveSessions(ctx context.Context, conn clickhouse.Conn, site string, rep *Report, truth *liveTruth) *SessionCheck {
	truth.mu.Lock()
	defer truth.mu.Unlock()
	c := &SessionCheck{WantEvents: uint64(rep.Accepted)}
	for _, v := range truth.visits {
		if v.events > 0 {
			c.WantSessions++
			if v.overdue {
				c.Overdue++
			}
		}
	}
	example := func(format string, args ...any) {
		if len(c.Examples) < 10 {
			c.Examples = append(c.Examples, fmt.Sprintf(format, args...))
		}
	}
	startSec, startMs := rep.Started.Unix(), rep.Started.UnixMilli()
	// Which session each accepted event landed in.
	rows, err := conn.Query(ctx, fmt.Sprintf(`SELECT DISTINCT event_id, session_id, ts_ms FROM events
WHERE site_id = ? AND ts >= toDateTime(%d) AND ts_ms >= %d`, startSec, startMs), site)
	if err != nil {
		c.Error = fmt.Sprintf("read the events' sessions: %v", err)
		return c
	}
	// Per visit, indexed by visitID: slices, not maps keyed by visit (a
	// look reads every event of the run).
	n := len(truth.visits)
	sessionOf := make([]uuid.UUID, n) // uuid.Nil: none seen yet
	split := make([]bool, n)
	order := make([]clockOrder, n)
	seen := make([]bool, n) // an event of the visit was read
	visitOf := make(map[uuid.UUID]visitID, c.WantSessions)
	merged := map[uuid.UUID]bool{}
	nSplit := 0
	for rows.Next() {
		var ev, sid uuid.UUID
		var ms uint64
		if err := rows.Scan(&ev, &sid, &ms); err != nil {
			rows.Close()
			c.Error = fmt.Sprintf("scan an event's session: %v", err)
			return c
		}
		e, ok := truth.byEvent[ev]
		if !ok {
			continue // not this run's (the event counts of Verification tell)
		}
		vid := e.visit
		v := &truth.visits[vid]
		c.GotEvents++
		seen[vid] = true
		order[vid].add(ev, ms, v)
		s := sessionOf[vid]
		if s == sid {
			continue // as the visit's earlier events: visitOf was checked then
		}
		if s != uuid.Nil {
			if !split[vid] {
				split[vid] = true
				if v.overdue {
					c.OverdueSplit++ // the rules may split it: not the visit planned
				} else {
					nSplit++
					example("a visit of %d events is split: sessions %s and %s", v.events, s, sid)
				}
			}
			continue
		}
		sessionOf[vid] = sid
		if w, seen := visitOf[sid]; !seen {
			visitOf[sid] = vid
		} else if w != vid && !merged[sid] {
			merged[sid] = true
			wv := &truth.visits[w]
			example("session %s holds two visits (%s -> %s and %s -> %s)", sid,
				truth.paths[wv.entry], truth.paths[wv.exit], truth.paths[v.entry], truth.paths[v.exit])
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		c.Error = fmt.Sprintf("read the events' sessions: %v", err)
		return c
	}
	c.Wrong += nSplit + len(merged)
	// The sessions' figures, compared with their visits'.
	srows, err := conn.Query(ctx, fmt.Sprintf(`SELECT session_id, pageviews, events, entry_pathname, exit_pathname FROM sessions
WHERE site_id = ? AND session_date >= toDate(toDateTime(%d)) - 1 AND first_ms >= %d`, startSec, startMs), site)
	if err != nil {
		c.Error = fmt.Sprintf("read sessions: %v", err)
		return c
	}
	defer srows.Close()
	found := make([]bool, n)
	for srows.Next() {
		var (
			sid         uuid.UUID
			pv, evs     uint64
			entry, exit string
		)
		if err := srows.Scan(&sid, &pv, &evs, &entry, &exit); err != nil {
			c.Error = fmt.Sprintf("scan a session: %v", err)
			return c
		}
		vid, ok := visitOf[sid]
		if !ok {
			continue // another client's session, or one whose events were not all read yet
		}
		v := &truth.visits[vid]
		c.GotSessions++
		found[vid] = true
		if split[vid] || merged[sid] {
			continue // counted already
		}
		// The first and the last sent event must be the earliest and the
		// latest received, or share their millisecond; then the session
		// rules' tie decides, as the stored rows show. (Every visit in
		// visitOf had an event read, so its order is set.)
		o := &order[vid]
		if o.firstMs != o.minMs || o.lastMs != o.maxMs {
			c.Wrong++
			example("session %s: the collector's clock does not keep the visit's order (first sent %d ms, earliest %d; last sent %d ms, latest %d)",
				sid, o.firstMs, o.minMs, o.lastMs, o.maxMs)
			continue
		}
		wantEntry, wantExit := truth.paths[truth.byEvent[o.minID].path], truth.paths[truth.byEvent[o.maxID].path]
		if pv != uint64(v.pageviews) || evs != uint64(v.events) || entry != wantEntry || exit != wantExit {
			c.Wrong++
			example("session %s: %d page views, %d events, %s -> %s; the visit had %d, %d, %s -> %s",
				sid, pv, evs, entry, exit, v.pageviews, v.events, wantEntry, wantExit)
		}
	}
	if err := srows.Err(); err != nil {
		c.Error = fmt.Sprintf("read sessions: %v", err)
		return c
	}
	for vid := range truth.visits {
		v := &truth.visits[vid]
		if v.events > 0 && !found[vid] {
			c.Missing++
			if !seen[vid] {
				example("no event of the visit %s -> %s (%d events) is in ClickHouse", truth.paths[v.entry], truth.paths[v.exit], v.events)
			} else {
				example("the session of the visit %s -> %s (%d events) has no sessions row", truth.paths[v.entry], truth.paths[v.exit], v.events)
			}
		}
	}
	c.Match = c.GotEvents == c.WantEvents && c.GotSessions == c.WantSessions && c.Wrong == 0 && c.Missing == 0
	return c
}
