package dashbench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
)

// Endpoint is one page or report the load tool requests.
type Endpoint struct {
	// Name labels the figures, e.g. "site page" or "api breakdown/pages".
	Name string
	// Path is the request path with its query.
	Path string
}

// Endpoints lists the site page and every JSON report of the dashboard on
// main for siteID over the days [from, to] (YYYY-MM-DD, inclusive, in the
// site's zone): the page first, then the reports it is made of (those of
// the first API, then the rest of the page's: realtime, completeness and
// the default tabs of its other cards).
func Endpoints(siteID, from, to string) []Endpoint {
	q := "?" + url.Values{"from": {from}, "to": {to}}.Encode()
	id := url.PathEscape(siteID)
	eps := []Endpoint{
		{"site page", "/sites/" + id + q},
		{"api summary", "/api/sites/" + id + "/summary" + q},
		{"api timeseries", "/api/sites/" + id + "/timeseries" + q},
		{"api sessions", "/api/sites/" + id + "/sessions" + q},
	}
	for _, dim := range []string{"pages", "entry_pages", "exit_pages", "referrers", "channels", "utm_campaign", "browser", "event"} {
		eps = append(eps, Endpoint{"api breakdown/" + dim, "/api/sites/" + id + "/breakdown/" + dim + q})
	}
	eps = append(eps, Endpoint{"api realtime", "/api/sites/" + id + "/realtime" + q},
		Endpoint{"api completeness", "/api/sites/" + id + "/completeness" + q})
	return eps
}

// ExplorerEndpoints lists the session explorer's pages for siteID over the
// days [from, to]: the session list, and the path and the visitor's
// sessions of the range's latest session, which it asks the dashboard for
// (client signed in).
func ExplorerEndpoints(ctx context.Context, client *http.Client, base, siteID, from, to string) ([]Endpoint, error) {
	q := "?" + url.Values{"from": {from}, "to": {to}}.Encode()
	id := url.PathEscape(siteID)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/sites/"+id+"/sessions"+q+"&limit=1", nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("dashbench: latest session: %w", err)
	}
	defer resp.Body.Close()
	var latest struct {
		Sessions []struct {
			ID      string `json:"id"`
			Visitor string `json:"visitor_id"`
		} `json:"sessions"`
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("dashbench: latest session: %s", resp.Status)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&latest); err != nil {
		return nil, fmt.Errorf("dashbench: latest session: %w", err)
	}
	if len(latest.Sessions) == 0 {
		return nil, fmt.Errorf("dashbench: no session of %s in %s..%s", siteID, from, to)
	}
	s := latest.Sessions[0]
	return []Endpoint{
		{"sessions page", "/sites/" + id + "/sessions" + q},
		{"session path", "/sites/" + id + "/sessions/" + url.PathEscape(s.ID) + q},
		{"visitor page", "/sites/" + id + "/visitors/" + url.PathEscape(s.Visitor) + q},
	}, nil
}

// csrfInput finds the login form's CSRF token.
var csrfInput = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// Login signs in through the dashboard's own form, as a browser does: GET
// /login (which sets the pre-login cookie and renders the CSRF token), then
// POST the form. On success client's jar holds the login session. It is the
// only place that knows how the login works, so that a new login (another
// branch changes it) needs a change here only.
func Login(ctx context.Context, client *http.Client, base, user, password string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/login", nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("dashbench: load the login form: %w", err)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if err != nil {
		return fmt.Errorf("dashbench: read the login form: %w", err)
	}
	m := csrfInput.FindSubmatch(body)
	if resp.StatusCode != http.StatusOK || m == nil {
		return fmt.Errorf("dashbench: GET /login: %s, csrf field found: %v", resp.Status, m != nil)
	}
	form := url.Values{"csrf": {string(m[1])}, "next": {"/"}, "username": {user}, "password": {password}}
	req, err = http.NewRequestWithContext(ctx, http.MethodPost, base+"/login", strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", base)
	noRedirect := *client
	noRedirect.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err = noRedirect.Do(req)
	if err != nil {
		return fmt.Errorf("dashbench: POST /login: %w", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther && resp.StatusCode != http.StatusFound {
		return fmt.Errorf("dashbench: POST /login answered %s, want a redirect (wrong password?)", resp.Status)
	}
	return nil
}

// NewUser returns an HTTP client with its own cookie jar, signed in: one
// user of the dashboard. Each has its own connections, as browsers do.
func NewUser(ctx context.Context, base, user, password string) (*http.Client, error) {
	jar, _ := cookiejar.New(nil) // never fails without options
	c := &http.Client{Jar: jar, Timeout: 2 * time.Minute,
		Transport: &http.Transport{MaxIdleConnsPerHost: 4, DisableCompression: false}}
	if err := Login(ctx, c, base, user, password); err != nil {
		return nil, err
	}
	return c, nil
}

// Stats are the latencies of one endpoint at one concurrency.
type Stats struct {
	Endpoint    Endpoint
	Concurrency int
	// Requests answered 200; Errors the others (status or transport).
	Requests, Errors int
	// FirstError describes the first failure.
	FirstError string
	// P50, P95, P99 and Max are of the answered requests, from sending the
	// request to the last byte of the body.
	P50, P95, P99, Max time.Duration
	// Wall is the time the batch took; Requests/Wall is the throughput.
	Wall time.Duration
	// ServerCPU is the ClickHouse server's CPU time over the timed batch
	// divided by the requests answered (0 when its pid is not known): what
	// one request costs the server, which, unlike the latencies, hardly
	// depends on what else runs on the machine.
	ServerCPU time.Duration
	// First is the slowest of the untimed first requests (one per user):
	// for the first endpoint measured on a range, what a view costs before
	// the dashboard keeps anything of it (the caches of pkg/report).
	First time.Duration
}

// PerSecond is the throughput of the batch.
func (s Stats) PerSecond() float64 { return float64(s.Requests) / s.Wall.Seconds() }

// Measure requests ep with users (one goroutine each, all signed in), each
// sending rounds requests one after another, after one untimed warm-up
// request per user, and returns the latencies. paths, when not nil, gives
// each user a path of its own (paths[i] for users[i], e.g. another range),
// ep naming them; chPid, when not 0, is the ClickHouse server's process,
// whose CPU time the batch costs goes into ServerCPU.
func Measure(ctx context.Context, base string, users []*http.Client, ep Endpoint, paths []string, rounds, chPid int) Stats {
	st := Stats{Endpoint: ep, Concurrency: len(users)}
	pathOf := func(i int) string {
		if paths != nil {
			return paths[i]
		}
		return ep.Path
	}
	var mu sync.Mutex
	var lat []time.Duration
	fail := func(msg string) {
		mu.Lock()
		defer mu.Unlock()
		st.Errors++
		if st.FirstError == "" {
			st.FirstError = oneLine(msg, 100)
		}
	}
	get := func(c *http.Client, path string) (time.Duration, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
		if err != nil {
			return 0, err
		}
		t0 := time.Now()
		resp, err := c.Do(req)
		if err != nil {
			return 0, err
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		d := time.Since(t0)
		if err != nil {
			return 0, err
		}
		if resp.StatusCode != http.StatusOK {
			return 0, fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(body[:min(len(body), 200)])))
		}
		return d, nil
	}
	var wg sync.WaitGroup
	for i, c := range users {
		wg.Go(func() {
			d, err := get(c, pathOf(i))
			if err != nil {
				fail("warm-up: " + err.Error())
				return
			}
			mu.Lock()
			st.First = max(st.First, d)
			mu.Unlock()
		})
	}
	wg.Wait()
	cpu0, cpuErr := ProcessCPU(chPid)
	start := time.Now()
	for i, c := range users {
		wg.Go(func() {
			for range rounds {
				d, err := get(c, pathOf(i))
				if err != nil {
					fail(err.Error())
					continue
				}
				mu.Lock()
				lat = append(lat, d)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	st.Wall = time.Since(start)
	st.Requests = len(lat)
	if cpu1, err := ProcessCPU(chPid); cpuErr == nil && err == nil && len(lat) > 0 {
		st.ServerCPU = (cpu1 - cpu0) / time.Duration(len(lat))
	}
	slices.Sort(lat)
	st.P50, st.P95, st.P99 = percentile(lat, 50), percentile(lat, 95), percentile(lat, 99)
	if len(lat) > 0 {
		st.Max = lat[len(lat)-1]
	}
	return st
}

// percentile is the nearest-rank percentile of sorted.
func percentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := (p*len(sorted) + 99) / 100 // ceil(p/100 * n)
	return sorted[max(rank, 1)-1]
}

// Users signs in n users.
func Users(ctx context.Context, base, user, password string, n int) ([]*http.Client, error) {
	if n < 1 {
		return nil, errors.New("dashbench: at least one user")
	}
	out := make([]*http.Client, n)
	for i := range out {
		c, err := NewUser(ctx, base, user, password)
		if err != nil {
			return nil, err
		}
		out[i] = c
	}
	return out, nil
}

// FormatStats prints a table of stats, one line each.
func FormatStats(w io.Writer, label string, stats []Stats) {
	fmt.Fprintf(w, "%-28s %5s %5s %4s %9s %9s %9s %9s %8s %9s %9s  %s\n", label, "users", "ok", "err", "p50_ms", "p95_ms", "p99_ms", "max_ms", "req/s", "ch_cpu_ms", "first_ms", "first error")
	ms := func(d time.Duration) string { return fmt.Sprintf("%.1f", float64(d.Microseconds())/1000) }
	for _, s := range stats {
		cpu := "-"
		if s.ServerCPU > 0 {
			cpu = ms(s.ServerCPU)
		}
		fmt.Fprintf(w, "%-28s %5d %5d %4d %9s %9s %9s %9s %8.2f %9s %9s  %s\n", s.Endpoint.Name, s.Concurrency, s.Requests, s.Errors,
			ms(s.P50), ms(s.P95), ms(s.P99), ms(s.Max), s.PerSecond(), cpu, ms(s.First), s.FirstError)
	}
}

// oneLine squeezes an error for a table cell.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		s = s[:n] + "..."
	}
	return s
}
