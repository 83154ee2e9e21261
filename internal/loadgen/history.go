package loadgen

// History mode: weeks of realistic visits sent through the collector's
// import endpoint with explicit timestamps, so that a visitor's next visit
// really starts after a pause of half an hour or more and the sessions come
// out as planned. The generator keeps the ground truth of every session it
// meant (visitor, first event, page views, events, entry and exit page) and
// afterwards compares it with ClickHouse's sessions view, row by row.

import (
	"container/heap"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/google/uuid"

	"github.com/teller-analytics/teller/pkg/config"
	"github.com/teller-analytics/teller/pkg/event"
	"github.com/teller-analytics/teller/pkg/importer"
)

// HistoryConfig is one history run.
type HistoryConfig struct {
	// Collector, Site, PageOrigin, Paths, BotShare, Seed, Progress and
	// Verify mean what they mean for a live run (Config).
	Collector  string
	Site       string
	PageOrigin string
	Paths      config.StringList
	BotShare   float64
	Seed       uint64
	Progress   time.Duration
	Verify     VerifyConfig
	// Token is the site's import token.
	Token string
	// Span is how far back the history reaches (-history 90d).
	Span time.Duration
	// End is when the history ends (zero: a minute before the run starts).
	// A live run that must not overlap it starts after End.
	End time.Time
	// Events is how many events to send (-events 10M).
	Events int64
	// Visitors is how many distinct visitors come back over the span
	// (0: one per 12 events).
	Visitors int
	// Batch is events per request (0: importer.MaxBatchEvents).
	Batch int
	// MinPause is the shortest pause between a visitor's visits: more than
	// the sessionizer's gap, so each visit is one session (default 35 min).
	MinPause time.Duration
}

// RegisterFlags adds the history flags (-history, -events, -import-token).
// The shared ones come from Config.RegisterFlags.
func (h *HistoryConfig) RegisterFlags(fs *flag.FlagSet) {
	fs.Func("history", "send this much history (e.g. 90d, 36h) through POST /api/import instead of live traffic; needs -import-token", func(s string) error {
		d, err := ParseSpan(s)
		h.Span = d
		return err
	})
	fs.Func("events", "history: how many events to send (e.g. 10M, 250k)", func(s string) error {
		n, err := ParseCount(s)
		h.Events = n
		return err
	})
	fs.StringVar(&h.Token, "import-token", "", "history: the site's import token (teller import token add)")
	fs.IntVar(&h.Visitors, "history-visitors", 0, "history: distinct returning visitors (0: one per 12 events)")
}

// ParseSpan reads a duration that may end in d (days): 90d, 36h, 1d12h.
func ParseSpan(s string) (time.Duration, error) {
	days := time.Duration(0)
	if i := strings.IndexByte(s, 'd'); i > 0 {
		n, err := strconv.Atoi(s[:i])
		if err != nil {
			return 0, fmt.Errorf("%q: want a duration like 90d or 36h", s)
		}
		days, s = time.Duration(n)*24*time.Hour, s[i+1:]
	}
	if s == "" {
		return days, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q: want a duration like 90d or 36h", s)
	}
	return days + d, nil
}

// ParseCount reads a count with an optional k or M suffix.
func ParseCount(s string) (int64, error) {
	mult := int64(1)
	switch {
	case strings.HasSuffix(s, "M"):
		mult, s = 1_000_000, strings.TrimSuffix(s, "M")
	case strings.HasSuffix(s, "k"), strings.HasSuffix(s, "K"):
		mult, s = 1_000, s[:len(s)-1]
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 {
		return 0, fmt.Errorf("%q: want a count like 10M, 250k or 5000", s)
	}
	return int64(f * float64(mult)), nil
}

// Validate reports what is wrong with the configuration (wrapping
// ErrUsage), as RunHistory would before sending anything.
func (h HistoryConfig) Validate() error {
	if _, err := h.withDefaults(time.Now()); err != nil {
		return fmt.Errorf("%w: %w", ErrUsage, err)
	}
	return nil
}

func (h HistoryConfig) withDefaults(now time.Time) (HistoryConfig, error) {
	live, err := Config{Collector: h.Collector, Site: h.Site, PageOrigin: h.PageOrigin, Paths: h.Paths, BotShare: h.BotShare,
		Requests: 1, Verify: h.Verify}.withDefaults()
	h.Collector, h.PageOrigin, h.Paths, h.Verify = live.Collector, live.PageOrigin, live.Paths, live.Verify
	errs := []error{err}
	if h.Token == "" {
		errs = append(errs, errors.New("-import-token is required for -history (teller import token add)"))
	}
	if h.Span <= 0 {
		errs = append(errs, errors.New("-history must be positive"))
	}
	if h.Events <= 0 {
		errs = append(errs, errors.New("-events is required for -history"))
	}
	if h.End.IsZero() {
		h.End = now.Add(-time.Minute)
	}
	if h.Visitors <= 0 {
		h.Visitors = int(max(1, h.Events/12))
	}
	if h.Batch <= 0 || h.Batch > importer.MaxBatchEvents {
		h.Batch = importer.MaxBatchEvents
	}
	if h.MinPause <= 0 {
		h.MinPause = 35 * time.Minute
	}
	return h, errors.Join(errs...)
}

// HistoryReport is what a history run did and found.
type HistoryReport struct {
	Site            string        `json:"site"`
	From            time.Time     `json:"from"`
	To              time.Time     `json:"to"`
	Seed            uint64        `json:"seed"`
	Sent            int64         `json:"sent"`
	Accepted        int64         `json:"accepted"`
	Rejected        int64         `json:"rejected"`
	FirstRejections []string      `json:"first_rejections,omitempty"`
	Batches         int64         `json:"batches"`
	Visitors        int           `json:"visitors"`
	Sessions        int           `json:"sessions"`
	Pageviews       int64         `json:"pageviews"`
	Elapsed         time.Duration `json:"elapsed_ns"`
	Latency         Latency       `json:"batch_latency"`
	Err             string        `json:"error,omitempty"`
	// Sessions as ClickHouse holds them, compared with the plan.
	Check *SessionCheck `json:"check,omitempty"`
}

// EventsPerSecond is the accepted events per second of sending.
func (r *HistoryReport) EventsPerSecond() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Accepted) / r.Elapsed.Seconds()
}

// SessionCheck compares the planned sessions with ClickHouse's.
type SessionCheck struct {
	GotEvents, WantEvents     uint64
	GotSessions, WantSessions int
	// Wrong counts planned sessions ClickHouse holds differently (other
	// page views, events, entry or exit page), Missing those it lacks,
	// Extra sessions it has that were not planned.
	Wrong, Missing, Extra int
	// Overdue counts the live visits whose pauses the generator did not
	// control: two of their requests were further apart than the session
	// gap (the box was behind the schedule). OverdueSplit of them came out
	// as more than one session, which the session rules may rightly do;
	// those are left out of Wrong (live runs only).
	Overdue, OverdueSplit int `json:",omitempty"`
	// Examples explain the first differences.
	Examples []string `json:",omitempty"`
	// Freshness is the time from the last accepted batch until ClickHouse
	// held every accepted event.
	Freshness time.Duration
	Match     bool
	Error     string `json:",omitempty"`
}

// failure is the check's verdict; nil when it matched or was not made.
func (c *SessionCheck) failure() error {
	if c == nil || c.Match {
		return nil
	}
	return fmt.Errorf("ClickHouse does not hold the planned sessions: %d events of %d, %d sessions of %d, %d wrong, %d missing, %d extra %s",
		c.GotEvents, c.WantEvents, c.GotSessions, c.WantSessions, c.Wrong, c.Missing, c.Extra, c.Error)
}

// print writes the check's summary line and examples, if it was made.
func (c *SessionCheck) print(w io.Writer) {
	if c == nil {
		return
	}
	verdict := "MATCH"
	if !c.Match {
		verdict = "MISMATCH"
	}
	fmt.Fprintf(w, "  sessions   %s: events %d/%d, sessions %d/%d, wrong %d, missing %d, extra %d",
		verdict, c.GotEvents, c.WantEvents, c.GotSessions, c.WantSessions, c.Wrong, c.Missing, c.Extra)
	if c.Freshness > 0 {
		fmt.Fprintf(w, "; freshness %s", c.Freshness.Round(time.Millisecond))
	}
	fmt.Fprintln(w)
	if c.Overdue > 0 {
		fmt.Fprintf(w, "             %d visits had a pause longer than the session gap (the box fell behind the schedule); %d of them came out split, which the rules allow, and are not counted wrong\n",
			c.Overdue, c.OverdueSplit)
	}
	for _, e := range c.Examples {
		fmt.Fprintln(w, "    ", e)
	}
	if c.Error != "" {
		fmt.Fprintln(w, "  error:", c.Error)
	}
}

// Failure is the run's verdict.
func (r *HistoryReport) Failure() error {
	var errs []error
	if r.Err != "" {
		errs = append(errs, errors.New(r.Err))
	}
	if r.Rejected > 0 {
		errs = append(errs, fmt.Errorf("the collector rejected %d of %d events", r.Rejected, r.Sent))
	}
	if err := r.Check.failure(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Print writes the summary.
func (r *HistoryReport) Print(w io.Writer) {
	fmt.Fprintf(w, "history %s .. %s for site %s (seed %d)\n", r.From.Format(time.RFC3339), r.To.Format(time.RFC3339), r.Site, r.Seed)
	fmt.Fprintf(w, "  sent       %d events in %d batches in %s: %d accepted (%.0f events/s), %d rejected\n",
		r.Sent, r.Batches, r.Elapsed.Round(time.Millisecond), r.Accepted, r.EventsPerSecond(), r.Rejected)
	fmt.Fprintf(w, "  planned    %d visitors, %d sessions, %d page views\n", r.Visitors, r.Sessions, r.Pageviews)
	if l := r.Latency; l.N > 0 {
		fmt.Fprintf(w, "  batch latency p50 %s  p95 %s  p99 %s  max %s\n", fmtDur(l.P50), fmtDur(l.P95), fmtDur(l.P99), fmtDur(l.Max))
	}
	for _, s := range r.FirstRejections {
		fmt.Fprintln(w, "  rejected:", s)
	}
	r.Check.print(w)
	if r.Err != "" {
		fmt.Fprintln(w, "  error:", r.Err)
	}
}

// plannedSession is the ground truth of one session. Paths are indices
// into the configured paths, to keep millions of sessions small.
type plannedSession struct {
	pageviews, events uint16
	entry, exit       uint16
}

type sessionKey struct {
	visitor uuid.UUID
	firstMs int64
}

// hvisitor is one simulated visitor between events.
type hvisitor struct {
	index   int
	key     string
	id      uuid.UUID
	agent   agent
	bot     bool
	screen  [2]int
	nextMs  int64 // time of the next event
	steps   []hstep
	session sessionKey
	seq     int
}

type hstep struct {
	ev      importer.Event
	pathIdx uint16
	gapMs   int64 // from the previous step
}

type visitorHeap []*hvisitor

func (h visitorHeap) Len() int           { return len(h) }
func (h visitorHeap) Less(i, j int) bool { return h[i].nextMs < h[j].nextMs }
func (h visitorHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *visitorHeap) Push(x any)        { *h = append(*h, x.(*hvisitor)) }
func (h *visitorHeap) Pop() any {
	old := *h
	v := old[len(old)-1]
	*h = old[:len(old)-1]
	return v
}

// RunHistory generates the history, sends it in time order and, with
// Verify.Addr, checks ClickHouse's sessions against the plan.
func RunHistory(ctx context.Context, hc HistoryConfig, log *slog.Logger) (*HistoryReport, error) {
	started := time.Now()
	hc, err := hc.withDefaults(started)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUsage, err)
	}
	if log == nil {
		log = slog.Default()
	}
	if hc.Seed == 0 {
		hc.Seed = rand.Uint64()
	}
	from := hc.End.Add(-hc.Span)
	rep := &HistoryReport{Site: hc.Site, From: from, To: hc.End, Seed: hc.Seed, Visitors: hc.Visitors}
	r := rand.New(rand.NewPCG(hc.Seed, 0x5e55))
	plan := map[sessionKey]*plannedSession{}
	// Visits arrive as a steady process over the span: each visitor's
	// pauses average meanPause, chosen so that the visitors make about the
	// events asked for (a visit is about 4 events: 2.8 page views, an
	// engagement event, a custom event in one of four).
	const eventsPerVisit = 4.0
	visitsPerVisitor := max(1, float64(hc.Events)/eventsPerVisit/float64(hc.Visitors)*1.1)
	meanPause := max(hc.MinPause.Milliseconds(), int64(float64(hc.Span.Milliseconds())/visitsPerVisitor))
	h := make(visitorHeap, 0, hc.Visitors)
	for i := 0; i < hc.Visitors; i++ {
		v := &hvisitor{index: i, key: fmt.Sprintf("loadgen-%d-%d", hc.Seed, i)}
		v.id = importer.VisitorID(hc.Site, v.key)
		v.agent = Pick(r, humans, func(a agent) int { return a.weight })
		if r.Float64() < hc.BotShare {
			v.agent, v.bot = Pick(r, bots, func(a agent) int { return a.weight }), true
		}
		if len(v.agent.screens) > 0 {
			v.screen = v.agent.screens[r.IntN(len(v.agent.screens))]
		}
		// The first visit falls within one mean pause of the start, so
		// that visits cover the whole span evenly.
		v.nextMs = from.UnixMilli() + r.Int64N(min(meanPause, hc.Span.Milliseconds()))
		h = append(h, v)
	}
	heap.Init(&h)

	client := &importer.Client{CollectorURL: hc.Collector, Token: hc.Token, Site: hc.Site}
	var (
		mu        sync.Mutex
		latencies []time.Duration
	)
	sender := &importer.Sender{Client: client, BatchSize: hc.Batch}
	lastProgress := time.Now()
	sender.Progress = func(t importer.Totals) {
		if hc.Progress > 0 && time.Since(lastProgress) >= hc.Progress {
			lastProgress = time.Now()
			mu.Lock()
			l := summarize(append([]time.Duration(nil), latencies...))
			mu.Unlock()
			log.Info("history progress", "accepted", t.Accepted, "rejected", t.Rejected,
				"events_per_s", int(float64(t.Accepted)/time.Since(started).Seconds()),
				"batch_p50", fmtDur(l.P50), "batch_p99", fmtDur(l.P99))
		}
	}
	endMs := hc.End.UnixMilli()
	origin := hc.PageOrigin
	sendStart := time.Now()
	var lastAccepted time.Time
	for rep.Sent < hc.Events && h.Len() > 0 && ctx.Err() == nil {
		v := h[0]
		if v.nextMs > endMs {
			heap.Pop(&h) // this visitor's next visit lies after the history's end
			continue
		}
		if len(v.steps) == 0 {
			v.steps = planHistoryVisit(r, v, hc.Site, origin, hc.Paths)
			v.session = sessionKey{visitor: v.id, firstMs: v.nextMs}
			plan[v.session] = &plannedSession{entry: v.steps[0].pathIdx}
			rep.Sessions++
		}
		st := v.steps[0]
		v.steps = v.steps[1:]
		ev := st.ev
		ev.TimeMs = v.nextMs
		v.seq++
		ev.ID = importer.EventID("loadgen", v.key, strconv.Itoa(v.seq))
		ev.NewVisitor = v.seq == 1
		ps := plan[v.session]
		ps.events++
		ps.exit = st.pathIdx
		if ev.Kind == event.KindPageview {
			ps.pageviews++
			rep.Pageviews++
		}
		t0 := time.Now()
		batchFull := sender.Pending()+1 >= sender.Size()
		if err := sender.Add(ctx, ev); err != nil {
			rep.Err = err.Error()
			break
		}
		if batchFull {
			mu.Lock()
			latencies = append(latencies, time.Since(t0))
			mu.Unlock()
			lastAccepted = time.Now()
		}
		rep.Sent++
		if len(v.steps) > 0 {
			v.nextMs += v.steps[0].gapMs
		} else {
			// The next visit starts after a real pause: more than the gap,
			// then a long tail (hours to weeks).
			v.nextMs += hc.MinPause.Milliseconds() + int64(r.ExpFloat64()*float64(meanPause-hc.MinPause.Milliseconds()))
		}
		heap.Fix(&h, 0)
	}
	if rep.Err == "" {
		t0 := time.Now()
		if err := sender.Flush(ctx); err != nil {
			rep.Err = err.Error()
		} else if sender.Totals().Batches > 0 {
			latencies = append(latencies, time.Since(t0))
			lastAccepted = time.Now()
		}
	}
	rep.Elapsed = time.Since(sendStart)
	if rep.Err == "" && ctx.Err() == nil && rep.Sent < hc.Events {
		log.Warn("the visitors' visits ran out before -events was reached: more -history-visitors or a longer -history give more",
			"sent", rep.Sent, "events", hc.Events)
	}
	t := sender.Totals()
	rep.Batches, rep.Accepted, rep.Rejected, rep.FirstRejections = t.Batches, t.Accepted, t.Rejected, t.FirstRejections
	rep.Latency = summarize(latencies)
	// A session cut short by the event budget is still planned exactly as
	// far as it was sent; one that was planned but sent nothing is dropped.
	for k, p := range plan {
		if p.events == 0 {
			delete(plan, k)
			rep.Sessions--
		}
	}
	if hc.Verify.Addr != "" && rep.Err == "" {
		rep.Check = checkSessions(ctx, hc, rep, plan, lastAccepted, log)
	}
	return rep, nil
}

// planHistoryVisit plans a visit as a browser makes it: page views with
// think times (SPA navigations among them), a custom event now and then,
// the engagement event when the last page is left.
func planHistoryVisit(r *rand.Rand, v *hvisitor, site, origin string, paths []string) []hstep {
	pages := 1 + Pick(r, Indices(len(pagesPerVisit)), func(i int) int { return pagesPerVisit[i] })
	if v.bot {
		pages = 1 + r.IntN(3)
	}
	src := Pick(r, sources, func(s source) int { return s.weight })
	referrer := src.referrers[r.IntN(len(src.referrers))]
	query := src.query
	if v.bot {
		referrer, query = "", ""
	}
	custom := -1
	if !v.bot && r.Float64() < customShare {
		custom = r.IntN(pages)
	}
	base := importer.Event{Visitor: v.key, UserAgent: v.agent.ua, ScreenWidth: v.screen[0], ScreenHeight: v.screen[1]}
	var steps []hstep
	var pageURL, title string
	var pathIdx uint16
	for i := 0; i < pages; i++ {
		pathIdx = uint16(r.IntN(len(paths)))
		path := paths[pathIdx]
		if i == 0 && query != "" {
			path += "?" + query
		}
		pageURL, title = origin+path, TitleOf(path)
		ev := base
		ev.Kind, ev.URL, ev.Title, ev.Referrer = event.KindPageview, pageURL, title, referrer
		// Think time before this page: 5 s to about 4 min, never near the gap.
		gap := int64(5_000 + r.Int64N(240_000))
		steps = append(steps, hstep{ev: ev, pathIdx: pathIdx, gapMs: gap})
		referrer = pageURL
		if i == custom {
			ce := customEvents[r.IntN(len(customEvents))]
			ev := base
			ev.Kind, ev.Name, ev.URL, ev.Title, ev.Props = event.KindCustom, ce.name, pageURL, title, ce.props(r, origin)
			steps = append(steps, hstep{ev: ev, pathIdx: pathIdx, gapMs: 1_000 + r.Int64N(20_000)})
		}
	}
	if !v.bot {
		ev := base
		ev.Kind, ev.URL, ev.Title = event.KindEngagement, pageURL, title
		ev.EngagedMs, ev.ScrollDepth = 1000+r.Int64N(120_000), 10+r.IntN(91)
		steps = append(steps, hstep{ev: ev, pathIdx: pathIdx, gapMs: 1_000 + r.Int64N(60_000)})
	}
	return steps
}

// checkSessions waits until ClickHouse holds every accepted event of the
// history's window, then compares its sessions with the plan.
func checkSessions(ctx context.Context, hc HistoryConfig, rep *HistoryReport, plan map[sessionKey]*plannedSession, lastAccepted time.Time, log *slog.Logger) *SessionCheck {
	c := &SessionCheck{WantEvents: uint64(rep.Accepted), WantSessions: len(plan)}
	conn, err := clickhouse.Open(&clickhouse.Options{
		Addr: []string{hc.Verify.Addr}, Auth: clickhouse.Auth{Database: hc.Verify.Database, Username: hc.Verify.User, Password: hc.Verify.Password},
		DialTimeout: 5 * time.Second, ReadTimeout: 5 * time.Minute,
	})
	if err != nil {
		c.Error = fmt.Sprintf("connect to ClickHouse at %s: %v", hc.Verify.Addr, err)
		return c
	}
	defer conn.Close()
	fromMs, toMs := rep.From.UnixMilli(), rep.To.UnixMilli()
	window := fmt.Sprintf("site_id = ? AND ts >= toDateTime(%d) AND ts <= toDateTime(%d) AND ts_ms >= %d AND ts_ms <= %d",
		rep.From.Unix(), rep.To.Unix()+1, fromMs, toMs)
	deadline := time.Now().Add(hc.Verify.Timeout)
	for {
		if err := conn.QueryRow(ctx, "SELECT uniqExact(event_id) FROM events WHERE "+window, hc.Site).Scan(&c.GotEvents); err != nil {
			c.Error = fmt.Sprintf("count events: %v", err)
			return c
		}
		if c.GotEvents >= c.WantEvents || time.Now().After(deadline) || ctx.Err() != nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if c.GotEvents != c.WantEvents {
		log.Warn("ClickHouse does not hold every accepted event", "got", c.GotEvents, "want", c.WantEvents)
	}
	// A sessions row follows its events' insert (the materialized view runs
	// after the events block): compare until they agree or time is up.
	for {
		got := compareSessions(ctx, conn, hc, rep, plan)
		got.GotEvents, got.WantEvents = c.GotEvents, c.WantEvents
		got.Match = got.Match && c.GotEvents == c.WantEvents
		got.Freshness = time.Since(lastAccepted)
		if got.Match || got.Error != "" || time.Now().After(deadline) || ctx.Err() != nil {
			return got
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// compareSessions reads the history window's sessions and compares them
// with the plan.
func compareSessions(ctx context.Context, conn clickhouse.Conn, hc HistoryConfig, rep *HistoryReport, plan map[sessionKey]*plannedSession) *SessionCheck {
	c := &SessionCheck{WantSessions: len(plan)}
	fromMs, toMs := rep.From.UnixMilli(), rep.To.UnixMilli()
	paths := hc.Paths
	rows, err := conn.Query(ctx, fmt.Sprintf(`SELECT visitor_id, first_ms, pageviews, events, entry_pathname, exit_pathname
FROM sessions WHERE site_id = ? AND session_date >= toDate(%d) - 1 AND session_date <= toDate(%d) + 1
  AND first_ms >= %d AND first_ms <= %d`, rep.From.Unix(), rep.To.Unix(), fromMs, toMs), hc.Site)
	if err != nil {
		c.Error = fmt.Sprintf("read sessions: %v", err)
		return c
	}
	defer rows.Close()
	seen := make(map[sessionKey]bool, len(plan))
	example := func(format string, args ...any) {
		if len(c.Examples) < 10 {
			c.Examples = append(c.Examples, fmt.Sprintf(format, args...))
		}
	}
	for rows.Next() {
		var (
			k           sessionKey
			firstMs     uint64
			pv, evs     uint64
			entry, exit string
		)
		if err := rows.Scan(&k.visitor, &firstMs, &pv, &evs, &entry, &exit); err != nil {
			c.Error = fmt.Sprintf("scan session: %v", err)
			return c
		}
		k.firstMs = int64(firstMs)
		c.GotSessions++
		p, ok := plan[k]
		if !ok {
			c.Extra++
			example("extra session: visitor %s first %s (%d page views)", k.visitor, time.UnixMilli(k.firstMs).UTC().Format(time.RFC3339), pv)
			continue
		}
		seen[k] = true
		if pv != uint64(p.pageviews) || evs != uint64(p.events) || entry != pathOnly(paths[p.entry]) || exit != pathOnly(paths[p.exit]) {
			c.Wrong++
			example("session of %s at %s: %d page views, %d events, %s -> %s; planned %d, %d, %s -> %s", k.visitor,
				time.UnixMilli(k.firstMs).UTC().Format(time.RFC3339), pv, evs, entry, exit, p.pageviews, p.events, paths[p.entry], paths[p.exit])
		}
	}
	if err := rows.Err(); err != nil {
		c.Error = fmt.Sprintf("read sessions: %v", err)
		return c
	}
	for k := range plan {
		if !seen[k] {
			c.Missing++
			example("missing session: visitor %s first %s", k.visitor, time.UnixMilli(k.firstMs).UTC().Format(time.RFC3339))
		}
	}
	c.Match = c.GotSessions == c.WantSessions && c.Wrong == 0 && c.Missing == 0 && c.Extra == 0
	return c
}

// pathOnly is a page's path without its query and fragment, decoded as
// url.Parse decodes it: what the sessions table's entry and exit pages hold.
func pathOnly(p string) string {
	if !strings.ContainsAny(p, "?#%") && !strings.HasPrefix(p, "//") {
		return p // url.Parse gives a plain path back as it is (and it allocated, per request)
	}
	u, err := url.Parse(p)
	if err != nil {
		return p
	}
	return u.Path
}
