package loadgen

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/google/uuid"
)

// Report is what a run did, and what the pipeline should now hold.
type Report struct {
	Collector, Site, PageOrigin string
	// Rate is the target rate (0: unlimited); Concurrency the workers.
	Rate        float64
	Concurrency int
	// Browsers is the number of simulated browsers; Seed the traffic seed.
	Browsers int
	Seed     uint64
	Started  time.Time
	Elapsed  time.Duration
	// SendCPU is the load generator's own CPU time (user plus system, the
	// whole process) while it sent: its cost, without setting up and
	// verifying (0 where the system does not tell).
	SendCPU time.Duration
	// Interrupted is true when the run was stopped from outside (Ctrl-C)
	// before its duration or request budget ran out; nothing is verified then.
	Interrupted bool

	// Sent counts requests made, answered or not; SentEvents the events in
	// them (a request holds several when the snippet sends them together).
	Sent, SentEvents int64
	// Status2xx..Status5xx count answers by class; Other any other status.
	Status2xx, Status4xx, Status5xx, StatusOther int64
	// TransportErrors are requests without an answer (refused, timed out).
	TransportErrors int64
	// Connections counts the connections opened to the collector (one per
	// worker, and one more after each failed or closed one); Reconnects are
	// those after a worker's first.
	Connections, Reconnects int64
	// Latency covers every answered request.
	Latency Latency
	// Errors counts failed requests by message ("400 Bad Request: unknown site ...").
	Errors map[string]int64
	// Notes are anomalies that are not request failures, with counts.
	Notes map[string]int64

	// Ground truth: the events the collector accepted (answered 202), and
	// the requests that carried them.
	Accepted, AcceptedRequests int64
	// SentKinds and AcceptedKinds count events by kind.
	SentKinds, AcceptedKinds Kinds
	// Visits counts visits begun.
	Visits int64
	// Visitors is the number of browsers with at least one accepted event:
	// each kept its cookie, so each is exactly one visitor id downstream.
	Visitors int64
	// BotVisitors is the part of Visitors with a bot user agent.
	BotVisitors int64
	// CookieChanges counts answers that replaced a browser's visitor cookie
	// with a different one (expected 0; a change makes a second visitor).
	CookieChanges int64

	// Verification is the check against ClickHouse; nil when not asked for.
	Verification *Verification
	// Sessions compares ClickHouse's sessions with the visits; nil unless
	// time was compressed (Config.SessionGap) and ClickHouse checked.
	Sessions *SessionCheck `json:",omitempty"`
}

// Kinds counts events by kind.
type Kinds struct{ Pageviews, Custom, Engagement int64 }

func (k *Kinds) add(kind string) {
	switch kind {
	case "pageview":
		k.Pageviews++
	case "event":
		k.Custom++
	case "engagement":
		k.Engagement++
	}
}

// Latency summarises answered requests' latencies (nearest rank).
type Latency struct {
	N                  int
	P50, P95, P99, Max time.Duration
}

// Failed reports requests answered with 4xx/5xx (or another non-202
// status) or not answered at all.
func (r *Report) Failed() int64 {
	return r.Status4xx + r.Status5xx + r.StatusOther + r.TransportErrors + (r.Status2xx - r.AcceptedRequests)
}

// AchievedRate is requests sent per second of the run.
func (r *Report) AchievedRate() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Sent) / r.Elapsed.Seconds()
}

// Failure is the run's verdict: nil when it passed. Failed requests fail it
// unless allowErrors; a verification mismatch or error always does.
func (r *Report) Failure(allowErrors bool) error {
	var errs []error
	if r.Sent == 0 {
		errs = append(errs, errors.New("no request was sent"))
	}
	if n := r.Failed(); n > 0 && !allowErrors {
		errs = append(errs, fmt.Errorf("%d of %d requests failed (4xx %d, 5xx %d, other %d, no answer %d); -allow-errors to accept that",
			n, r.Sent, r.Status4xx, r.Status5xx, r.StatusOther+r.Status2xx-r.AcceptedRequests, r.TransportErrors))
	}
	if v := r.Verification; v != nil {
		switch {
		case v.Err != nil:
			errs = append(errs, fmt.Errorf("verification: %w", v.Err))
		case !v.Match:
			errs = append(errs, errors.New("verification: ClickHouse does not hold exactly what the collector accepted"))
		}
	}
	if err := r.Sessions.failure(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Print writes the summary people read after a run.
func (r *Report) Print(w io.Writer) {
	p := func(format string, a ...any) { fmt.Fprintf(w, format+"\n", a...) }
	target := "unlimited"
	if r.Rate > 0 {
		target = fmt.Sprintf("%.0f/s", r.Rate)
	}
	p("Teller load generator: site %q at %s, pages on %s (seed %d)", r.Site, r.Collector, r.PageOrigin, r.Seed)
	p("  run        %s, %d workers, target rate %s, achieved %.1f requests/s", r.Elapsed.Round(time.Millisecond), r.Concurrency, target, r.AchievedRate())
	if r.SendCPU > 0 && r.Sent > 0 {
		p("  cost       %.2f s of CPU while sending: %.1f us per request", r.SendCPU.Seconds(), float64(r.SendCPU.Microseconds())/float64(r.Sent))
	}
	p("  requests   %d sent: 2xx %d, 4xx %d, 5xx %d, other %d, no answer %d; %d connections (%d reconnects)",
		r.Sent, r.Status2xx, r.Status4xx, r.Status5xx, r.StatusOther, r.TransportErrors, r.Connections, r.Reconnects)
	if l := r.Latency; l.N > 0 {
		p("  latency    p50 %s  p95 %s  p99 %s  max %s  (%d answers)", fmtDur(l.P50), fmtDur(l.P95), fmtDur(l.P99), fmtDur(l.Max), l.N)
	} else {
		p("  latency    no answers")
	}
	p("  sent       %d pageviews, %d custom events, %d engagement events in %d requests, %d visits by %d browsers",
		r.SentKinds.Pageviews, r.SentKinds.Custom, r.SentKinds.Engagement, r.Sent, r.Visits, r.Browsers)
	p("  accepted   %d events: %d pageviews, %d custom, %d engagement; %d visitors (%d of them bots)",
		r.Accepted, r.AcceptedKinds.Pageviews, r.AcceptedKinds.Custom, r.AcceptedKinds.Engagement, r.Visitors, r.BotVisitors)
	if r.Interrupted {
		p("  stopped    interrupted before the end of the run: no verification")
	}
	if r.CookieChanges > 0 {
		p("  warning    the collector replaced a browser's visitor cookie %d time(s): each change is one more visitor", r.CookieChanges)
	}
	printCounts(w, "errors", r.Errors)
	printCounts(w, "notes", r.Notes)
	if v := r.Verification; v != nil {
		v.print(w)
	}
	r.Sessions.print(w)
}

func printCounts(w io.Writer, title string, m map[string]int64) {
	if len(m) == 0 {
		return
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return m[keys[i]] > m[keys[j]] || (m[keys[i]] == m[keys[j]] && keys[i] < keys[j]) })
	fmt.Fprintf(w, "  %s\n", title)
	for _, k := range keys {
		fmt.Fprintf(w, "    %8d  %s\n", m[k], k)
	}
}

func fmtDur(d time.Duration) string {
	switch {
	case d >= time.Second:
		return d.Round(time.Millisecond).String()
	case d >= time.Millisecond:
		return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
	}
	return d.Round(time.Microsecond).String()
}

// processCPU is this process's user plus system CPU time so far, 0 if unknown.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// stats collects outcomes from all workers.
type stats struct {
	mu                             sync.Mutex
	sent, s2, s4, s5, other, noAns int64
	accepted, acceptedRequests     int64
	sentEvents                     int64
	visits                         int64
	sentKinds, acceptedKinds       Kinds
	latencies                      []time.Duration
	errors, notes                  map[string]int64
	ids                            []uuid.UUID // accepted event ids, when verifying
}

func newStats() *stats { return &stats{errors: map[string]int64{}, notes: map[string]int64{}} }

func (s *stats) visit() {
	s.mu.Lock()
	s.visits++
	s.mu.Unlock()
}

func (s *stats) note(msg string) {
	s.mu.Lock()
	s.notes[msg]++
	s.mu.Unlock()
}

// record one request of the events req: status 0 means no answer; errMsg
// empty means accepted, with the events' ids (nil when not kept).
func (s *stats) record(req []step, status int, took time.Duration, errMsg string, ids []uuid.UUID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sent++
	s.sentEvents += int64(len(req))
	for i := range req {
		s.sentKinds.add(req[i].kind)
	}
	switch {
	case status == 0:
		s.noAns++
	case status >= 200 && status < 300:
		s.s2++
	case status >= 400 && status < 500:
		s.s4++
	case status >= 500 && status < 600:
		s.s5++
	default:
		s.other++
	}
	if status != 0 {
		s.latencies = append(s.latencies, took)
	}
	if errMsg != "" {
		s.errors[errMsg]++
		return
	}
	s.acceptedRequests++
	s.accepted += int64(len(req))
	for i := range req {
		s.acceptedKinds.add(req[i].kind)
	}
	for _, id := range ids {
		if id != uuid.Nil {
			s.ids = append(s.ids, id)
		}
	}
}

func (s *stats) totals() (sent, accepted, failed int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sent, s.accepted, s.sent - s.accepted
}

// fill copies the totals into r; call once the workers are done.
func (s *stats) fill(r *Report) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r.Sent, r.Status2xx, r.Status4xx, r.Status5xx, r.StatusOther, r.TransportErrors = s.sent, s.s2, s.s4, s.s5, s.other, s.noAns
	r.SentEvents, r.Accepted, r.AcceptedRequests = s.sentEvents, s.accepted, s.acceptedRequests
	r.Visits, r.SentKinds, r.AcceptedKinds = s.visits, s.sentKinds, s.acceptedKinds
	r.Errors, r.Notes = s.errors, s.notes
	r.Latency = summarize(s.latencies)
}

func summarize(d []time.Duration) Latency {
	if len(d) == 0 {
		return Latency{}
	}
	sorted := append([]time.Duration(nil), d...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
	rank := func(q float64) time.Duration {
		i := int(q*float64(len(sorted))+0.999999) - 1 // nearest rank: ceil(q*n)
		return sorted[min(max(i, 0), len(sorted)-1)]
	}
	return Latency{N: len(sorted), P50: rank(0.50), P95: rank(0.95), P99: rank(0.99), Max: sorted[len(sorted)-1]}
}

// oneLine is s without line breaks, for messages that must stay on a line.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
