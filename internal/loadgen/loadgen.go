package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
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
	collectorURL, _ := url.Parse(cfg.Collector) // checked in withDefaults
	g := &generator{cfg: cfg, log: log, endpoint: cfg.Collector + "/api/event", collectorURL: collectorURL,
		keepIDs: cfg.Verify.Addr != "", stats: newStats()}
	// One keep-alive connection pool for all browsers: the collector sees
	// as many connections as there are workers, not one per browser.
	transport := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        2 * cfg.Concurrency,
		MaxIdleConnsPerHost: 2 * cfg.Concurrency,
		IdleConnTimeout:     90 * time.Second,
		TLSHandshakeTimeout: 10 * time.Second,
		ForceAttemptHTTP2:   true,
	}
	defer transport.CloseIdleConnections()
	runCtx, cancelRun := context.WithCancel(ctx) // ends sending; the request budget is the pacer's
	defer cancelRun()
	if cfg.Duration > 0 {
		runCtx, cancelRun = context.WithTimeout(ctx, cfg.Duration)
		defer cancelRun()
	}
	if cfg.SessionGap > 0 && cfg.Verify.Addr != "" {
		g.truth = newLiveTruth()
	}
	sched := newSchedule(runCtx)
	now := time.Now()
	for i := 0; i < cfg.Visitors; i++ {
		b := newBrowser(i, seed, cfg.BotShare, transport)
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

	stopProgress := g.progress(rep.Started)
	var wg sync.WaitGroup
	for w := 0; w < cfg.Concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			g.work(runCtx, ctx, sched, p)
		}()
	}
	wg.Wait()
	stopProgress()
	rep.Elapsed = time.Since(rep.Started)
	g.stats.fill(rep)
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
	endpoint     string
	collectorURL *url.URL
	keepIDs      bool
	stats        *stats
	truth        *liveTruth // the planned sessions, when they are checked
}

// work takes the browser due first, sends its next request, and gives it
// back due after a think time (or, at the end of its visit, a return
// pause: see schedule.go), until the run is over. reqCtx is the parent of
// request contexts: the end of the run stops new requests, not those in
// flight.
func (g *generator) work(runCtx, reqCtx context.Context, sched *schedule, p *pacer) {
	gap := g.cfg.SessionGap
	for {
		b, ok := sched.next()
		if !ok {
			return
		}
		if b.next == len(b.plan) {
			b.plan, b.next = b.planVisit(g.cfg.Site, g.cfg.PageOrigin, g.cfg.Paths), 0
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
		g.send(reqCtx, b, b.plan[b.next])
		b.next++
		at := time.Now()
		switch {
		case gap <= 0:
		case b.next < len(b.plan):
			at = at.Add(b.between(gap, thinkMin, thinkMax))
		default:
			at = at.Add(b.between(gap, pauseMin, pauseMax))
		}
		sched.put(b, at)
	}
}

// send posts one event as the snippet does and records the outcome.
func (g *generator) send(parent context.Context, b *browser, s step) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(parent), g.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.endpoint, bytes.NewReader(s.body))
	if err != nil {
		g.stats.record(s.kind, 0, 0, "build request: "+err.Error(), uuid.Nil)
		return
	}
	h := req.Header
	// fetch(api, {method: 'POST', body, credentials: 'include', keepalive:
	// true, headers: {'Content-Type': 'text/plain'}}) from the page.
	h.Set("Content-Type", "text/plain")
	h.Set("Origin", g.cfg.PageOrigin)
	h.Set("Referer", g.referer(s.page))
	h.Set("User-Agent", b.ua)
	h.Set("Accept", "*/*")
	h.Set("Accept-Language", "en-US,en;q=0.9")
	start := time.Now()
	resp, err := b.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		g.stats.record(s.kind, 0, 0, err.Error(), uuid.Nil)
		return
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	_, _ = io.Copy(io.Discard, resp.Body) // keep the connection reusable
	resp.Body.Close()
	took := time.Since(start)
	if err != nil {
		g.stats.record(s.kind, resp.StatusCode, took, fmt.Sprintf("%d: reading the answer: %v", resp.StatusCode, err), uuid.Nil)
		return
	}
	if resp.StatusCode != http.StatusAccepted {
		g.stats.record(s.kind, resp.StatusCode, took, answerError(resp.StatusCode, body), uuid.Nil)
		return
	}
	var answer struct {
		ID uuid.UUID `json:"id"`
	}
	if g.keepIDs {
		_ = json.Unmarshal(body, &answer) // only used to explain a mismatch
	}
	b.accepted++
	cookie := ""
	for _, c := range b.client.Jar.Cookies(g.collectorURL) {
		if c.Name == identity.CookieName {
			cookie = c.Value
		}
	}
	switch {
	case cookie == "":
		g.stats.note("the collector's answer left no visitor cookie in the browser's jar (cookie Domain not matching the collector URL?)")
	case b.cookie != "" && cookie != b.cookie:
		b.changes++
	}
	b.cookie = cookie
	g.stats.record(s.kind, resp.StatusCode, took, "", answer.ID)
	if g.truth != nil && answer.ID != uuid.Nil {
		g.truth.accepted(b.visit, answer.ID, s)
	}
}

// referer is what a browser sends with the snippet's fetch under the default
// policy (strict-origin-when-cross-origin): the page URL to the same origin,
// only the origin elsewhere.
func (g *generator) referer(page string) string {
	if strings.EqualFold(g.collectorURL.Scheme+"://"+g.collectorURL.Host, g.cfg.PageOrigin) {
		return page
	}
	return g.cfg.PageOrigin + "/"
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
