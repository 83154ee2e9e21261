package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/teller-analytics/teller/pkg/identity"
)

// ErrUsage wraps configuration errors (bad or missing flags).
var ErrUsage = errors.New("usage")

// Run sends the configured load to the collector, then, when cfg.Verify.Addr
// is set, waits for ClickHouse to hold exactly what was accepted. The report
// is returned even when the run failed; the error is for runs that could not
// be made at all (bad configuration). Use Report.Failure for the verdict.
//
// Cancelling ctx stops sending; requests in flight still complete (within
// cfg.Timeout), so that the ground truth stays exact.
func Run(ctx context.Context, cfg Config, log *slog.Logger) (*Report, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUsage, err)
	}
	if log == nil {
		log = slog.Default()
	}
	seed := cfg.Seed
	if seed == 0 {
		seed = rand.Uint64()
	}
	g := newGenerator(cfg, log)
	runCtx, cancelRun := context.WithCancel(ctx) // ends sending; the request budget is the pacer's
	defer cancelRun()
	if cfg.Duration > 0 {
		runCtx, cancelRun = context.WithTimeout(ctx, cfg.Duration)
		defer cancelRun()
	}
	if cfg.SessionGap > 0 && cfg.Verify.Addr != "" {
		g.truth = newLiveTruth(g.pages.pathnames)
	}
	sched := newSchedule(runCtx)
	now := time.Now()
	for i := 0; i < cfg.Visitors; i++ {
		b := newBrowser(i, seed, cfg.BotShare)
		at := now
		if cfg.SessionGap > 0 {
			// First visits spread over one return pause, so the load starts level.
			at = now.Add(b.between(cfg.SessionGap, 0, pauseMax))
		}
		sched.put(b, at)
	}
	p := newPacer(cfg.Rate, cfg.Requests)
	rep := &Report{Collector: cfg.Collector, Site: cfg.Site, PageOrigin: cfg.PageOrigin, Rate: cfg.Rate,
		Concurrency: cfg.Concurrency, Browsers: cfg.Visitors, Seed: seed, Started: time.Now()}
	log.Info("load generator starting", "collector", cfg.Collector, "site", cfg.Site, "page_origin", cfg.PageOrigin,
		"visitors", cfg.Visitors, "rate", cfg.Rate, "concurrency", cfg.Concurrency, "duration", cfg.Duration,
		"requests", cfg.Requests, "seed", seed)

	cpuBefore := processCPU()
	stopProgress := g.progress(rep.Started)
	var wg sync.WaitGroup
	conns := make([]*conn, cfg.Concurrency)
	for w := range conns {
		// One keep-alive connection per worker: the collector sees as many
		// connections as there are workers, not one per browser.
		conns[w] = newConn(g.collectorURL, cfg.Timeout, cfg.tlsConfig)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer conns[w].close()
			g.work(runCtx, sched, p, &worker{conn: conns[w]})
		}()
	}
	wg.Wait()
	stopProgress()
	rep.Elapsed = time.Since(rep.Started)
	if cpu := processCPU(); cpuBefore > 0 {
		rep.SendCPU = cpu - cpuBefore
	}
	g.stats.fill(rep)
	for _, c := range conns {
		rep.Connections += c.dials
		rep.Reconnects += c.redials
	}
	cancelRun() // every worker has given its browser back; end the schedule
	for _, b := range sched.drain() {
		if b.accepted > 0 {
			rep.Visitors++
			if b.bot {
				rep.BotVisitors++
			}
		}
		rep.CookieChanges += int64(b.changes)
	}
	rep.Interrupted = ctx.Err() != nil
	if cfg.Verify.Addr != "" && !rep.Interrupted {
		rep.Verification = verify(ctx, cfg.Verify, cfg.Site, rep, g.stats.ids, log)
		if g.truth != nil {
			rep.Sessions = checkLiveSessions(ctx, cfg.Verify, cfg.Site, rep, g.truth)
		}
	}
	return rep, nil
}

// generator is the state the workers share.
type generator struct {
	cfg          Config
	log          *slog.Logger
	collectorURL *url.URL
	// head is the start of every request, the same for all: request line,
	// Host and the headers the snippet's fetch sends from any page.
	head []byte
	// sameOrigin: the pages are on the collector's origin, so the Referer
	// is the whole page URL (else only the page's origin).
	sameOrigin bool
	cookies    cookieRules
	keepIDs    bool
	stats      *stats
	truth      *liveTruth // the planned sessions, when they are checked
	pages      *pageSet   // cfg.Paths on cfg.PageOrigin
}

func newGenerator(cfg Config, log *slog.Logger) *generator {
	u, _ := url.Parse(cfg.Collector) // checked in withDefaults
	path := strings.TrimRight(u.EscapedPath(), "/") + "/api/event"
	g := &generator{cfg: cfg, log: log, collectorURL: u, keepIDs: cfg.Verify.Addr != "", stats: newStats(),
		sameOrigin: strings.EqualFold(u.Scheme+"://"+u.Host, cfg.PageOrigin), cookies: newCookieRules(u, path),
		pages: newPageSet(cfg.PageOrigin, cfg.Paths)}
	// fetch(api, {method: 'POST', body, credentials: 'include', keepalive:
	// true, headers: {'Content-Type': 'text/plain'}}) from the page.
	g.head = fmt.Appendf(nil, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: text/plain\r\nOrigin: %s\r\nAccept: */*\r\nAccept-Language: en-US,en;q=0.9\r\n",
		path, u.Host, cfg.PageOrigin)
	return g
}

// worker is what one worker owns: its connection, request buffer and the
// ids of the last answer.
type worker struct {
	conn *conn
	req  []byte
	ids  []uuid.UUID
}

// work takes the browser due first, sends its next request, and gives it
// back due after a think time (or, at the end of its visit, a return
// pause: see schedule.go), until the run is over. The end of the run stops
// new requests, not the one in flight (bounded by cfg.Timeout).
func (g *generator) work(runCtx context.Context, sched *schedule, p *pacer, w *worker) {
	gap := g.cfg.SessionGap
	for {
		b, ok := sched.next()
		if !ok {
			return
		}
		if b.next == len(b.plan) {
			b.plan, b.next = b.planVisit(g.cfg.Site, g.pages), 0
		}
		if !p.wait(runCtx) {
			// Time is up or the request budget is spent.
			sched.put(b, time.Now())
			return
		}
		if b.next == 0 {
			g.stats.visit()
			if g.truth != nil {
				b.visit = g.truth.begin()
			}
		}
		n := 1 // the steps of one request: the first and those sent with it
		for b.next+n < len(b.plan) && b.plan[b.next+n].with {
			n++
		}
		req := b.plan[b.next : b.next+n]
		at := g.send(w, b, req) // when the answer came: the pause starts there
		b.next += n
		switch {
		case gap <= 0:
		case req[n-1].then:
			// The next request follows at once (an app navigation's
			// engagement event, then its page view).
		case b.next < len(b.plan):
			at = at.Add(b.between(gap, thinkMin, thinkMax))
		default:
			at = at.Add(b.between(gap, pauseMin, pauseMax))
		}
		sched.put(b, at)
	}
}

// send posts the events of one request (one step, or a step and those
// sent with it) as the snippet does and records the outcome. It returns
// when the answer came (or the request failed): the clock is read twice
// per request, not once more by the caller (a clock read costs about 0.1 µs
// on a virtual machine).
func (g *generator) send(w *worker, b *browser, req []step) time.Time {
	start := time.Now()
	w.req = g.request(w.req[:0], b, req, start)
	a, err := w.conn.do(w.req)
	took := time.Since(start)
	end := start.Add(took)
	g.checkPause(b, start, end)
	if err != nil {
		var ae *errAnswer
		if errors.As(err, &ae) {
			g.stats.record(req, a.status, took, fmt.Sprintf("%d: %v", a.status, err), nil)
			return end
		}
		g.stats.record(req, 0, 0, transportError(err), nil)
		return end
	}
	for _, line := range a.setCookies {
		g.cookies.apply(&b.jar, line, start)
	}
	if a.status != http.StatusAccepted {
		g.stats.record(req, a.status, took, answerError(a.status, a.body), nil)
		return end
	}
	var ids []uuid.UUID
	if g.keepIDs {
		if len(req) == 1 {
			w.ids = append(w.ids[:0], answerID(a.body))
		} else {
			w.ids = answerIDs(w.ids[:0], a.body)
		}
		if len(w.ids) != len(req) {
			g.stats.record(req, a.status, took, fmt.Sprintf("202 for %d events with %d ids: %s", len(req), len(w.ids), oneLine(string(a.body))), nil)
			return end
		}
		ids = w.ids
	}
	b.accepted += len(req)
	cookie := ""
	if b.jar.held(start) {
		cookie = b.jar.value
	}
	switch {
	case cookie == "":
		g.stats.note("the collector's answer left no visitor cookie in the browser (cookie Domain not matching the collector URL, or Secure over http?)")
	case b.cookie != "" && cookie != b.cookie:
		b.changes++
	}
	b.cookie = cookie
	g.stats.record(req, a.status, took, "", ids)
	if g.truth != nil {
		for i, id := range ids {
			if id != uuid.Nil {
				g.truth.accepted(b.visit, id, &req[i])
			}
		}
	}
	return end
}

// checkPause marks the visit overdue when this request's answer (end) came
// more than the session gap after the visit's previous request was sent:
// the collector's receive times of the two events may then be further
// apart than the gap, and the visit is not the one session planned.
// Pauses between requests are at most G/6 and latency is milliseconds, so
// only a box behind the schedule (browsers waiting for a worker) gets here.
func (g *generator) checkPause(b *browser, start, end time.Time) {
	if g.truth == nil || g.cfg.SessionGap <= 0 {
		return
	}
	if b.next > 0 && end.Sub(b.sent) > g.cfg.SessionGap {
		g.truth.markOverdue(b.visit)
	}
	b.sent = start
}

// request appends the HTTP request of the steps req of browser b to buf:
// what a browser sends with the snippet's fetch, one event as an object,
// several as an array.
func (g *generator) request(buf []byte, b *browser, req []step, now time.Time) []byte {
	s := &req[0]
	buf = append(buf, g.head...)
	// The Referer under the default policy (strict-origin-when-cross-origin):
	// the document's URL to the same origin, only its origin elsewhere.
	buf = append(buf, "Referer: "...)
	if g.sameOrigin {
		buf = append(buf, s.location()...)
	} else {
		buf = append(buf, g.cfg.PageOrigin...)
		buf = append(buf, '/')
	}
	buf = append(buf, "\r\nUser-Agent: "...)
	buf = append(buf, b.ua...)
	if b.jar.held(now) {
		buf = append(buf, "\r\nCookie: "+identity.CookieName+"="...)
		buf = append(buf, b.jar.value...)
	}
	buf = append(buf, "\r\nContent-Length: "...)
	if len(req) == 1 {
		buf = strconv.AppendInt(buf, int64(len(s.body)), 10)
		buf = append(buf, "\r\n\r\n"...)
		return append(buf, s.body...)
	}
	n := 1 + len(req) // the brackets and the commas
	for i := range req {
		n += len(req[i].body)
	}
	buf = strconv.AppendInt(buf, int64(n), 10)
	buf = append(buf, "\r\n\r\n["...)
	for i := range req {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, req[i].body...)
	}
	return append(buf, ']')
}

// answerID is the event id of an accepted answer, {"id":"<uuid>"} (nil if
// there is none). The collector's exact form is read directly; any other
// goes through encoding/json, so the result is always json.Unmarshal's.
func answerID(body []byte) uuid.UUID {
	const prefix, suffix = `{"id":"`, `"}`
	if len(body) == len(prefix)+36+len(suffix) && string(body[:len(prefix)]) == prefix && string(body[len(body)-len(suffix):]) == suffix {
		if id, err := uuid.ParseBytes(body[len(prefix) : len(prefix)+36]); err == nil {
			return id
		}
	}
	var answer struct {
		ID uuid.UUID `json:"id"`
	}
	_ = json.Unmarshal(body, &answer)
	return answer.ID
}

// answerIDs appends the event ids of a batch's accepted answer,
// {"ids":["<uuid>",...],"rejected":null}, to dst (none if there are none).
// The collector's exact form is read directly; any other goes through
// encoding/json, so the result is always json.Unmarshal's.
func answerIDs(dst []uuid.UUID, body []byte) []uuid.UUID {
	const prefix, suffix = `{"ids":[`, `],"rejected":null}`
	start := len(dst)
	if rest, ok := bytes.CutPrefix(body, []byte(prefix)); ok {
		if rest, ok = bytes.CutSuffix(rest, []byte(suffix)); ok {
			for len(rest) >= 38 && rest[0] == '"' && rest[37] == '"' {
				id, err := uuid.ParseBytes(rest[1:37])
				if err != nil {
					break
				}
				dst = append(dst, id)
				if rest = rest[38:]; len(rest) == 0 {
					return dst
				}
				if rest[0] != ',' {
					break
				}
				rest = rest[1:]
			}
		}
	}
	dst = dst[:start]
	var answer struct {
		IDs []uuid.UUID `json:"ids"`
	}
	_ = json.Unmarshal(body, &answer)
	return append(dst, answer.IDs...)
}

// answerError is the message of a refusal: the collector's JSON error, or
// the start of the body.
func answerError(status int, body []byte) string {
	var e struct {
		Error string `json:"error"`
	}
	msg := oneLine(string(body))
	if json.Unmarshal(body, &e) == nil && e.Error != "" {
		msg = e.Error
	}
	if len(msg) > 200 {
		msg = msg[:200] + "..."
	}
	return fmt.Sprintf("%d %s: %s", status, http.StatusText(status), msg)
}

// progress logs a line every cfg.Progress; the returned func stops it.
func (g *generator) progress(start time.Time) func() {
	if g.cfg.Progress <= 0 {
		return func() {}
	}
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(g.cfg.Progress)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				sent, accepted, failed := g.stats.totals()
				elapsed := time.Since(start)
				g.log.Info("progress", "elapsed", elapsed.Round(time.Second), "sent", sent, "accepted", accepted,
					"failed", failed, "rate", fmt.Sprintf("%.0f/s", float64(sent)/elapsed.Seconds()))
			}
		}
	}()
	return func() { close(done); <-stopped }
}

// pacer hands out send times: at most rate per second overall (no bursts to
// catch up when the collector was slow), and at most limit in all.
type pacer struct {
	mu       sync.Mutex
	interval time.Duration // 0: no rate limit
	next     time.Time
	left     int64 // sends still allowed; -1: no limit
}

func newPacer(rate float64, limit int64) *pacer {
	p := &pacer{left: -1}
	if rate > 0 {
		p.interval = time.Duration(float64(time.Second) / rate)
	}
	if limit > 0 {
		p.left = limit
	}
	return p
}

// wait blocks until the caller may send; false means the run is over.
func (p *pacer) wait(ctx context.Context) bool {
	p.mu.Lock()
	if p.left == 0 {
		p.mu.Unlock()
		return false
	}
	if p.left > 0 {
		p.left--
	}
	var at time.Time
	if p.interval > 0 {
		now := time.Now()
		at = p.next
		if at.Before(now) {
			at = now
		}
		p.next = at.Add(p.interval)
	}
	p.mu.Unlock()
	if at.IsZero() {
		return ctx.Err() == nil // no rate limit: no clock to read
	}
	if d := time.Until(at); d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
		}
	}
	return ctx.Err() == nil
}
