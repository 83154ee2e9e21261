package dashbench

import (
	"context"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/teller-analytics/teller/pkg/store"
)

// NamedQuery is one report query of a storage candidate.
type NamedQuery struct {
	Name, SQL string
}

// queryHeader starts a query in a query file: "-- query: name".
var queryHeader = regexp.MustCompile(`(?m)^-- query: *(\S+) *$`)

// ParseQueries reads a query file: each query starts with a line
// "-- query: name" and runs to the next such line (a trailing ";" is
// dropped). Placeholders {site}, {from} and {to} (Unix seconds of the
// range's instants), {from_day} and {to_day} (its first and last UTC days
// widened by one, for the session_date key) and {tz} are replaced by Expand.
func ParseQueries(text string) ([]NamedQuery, error) {
	idx := queryHeader.FindAllStringSubmatchIndex(text, -1)
	if len(idx) == 0 {
		return nil, fmt.Errorf("dashbench: no \"-- query: name\" line in the query file")
	}
	var out []NamedQuery
	for i, m := range idx {
		end := len(text)
		if i+1 < len(idx) {
			end = idx[i+1][0]
		}
		sql := strings.TrimSpace(text[m[1]:end])
		sql = strings.TrimSpace(strings.TrimSuffix(sql, ";"))
		if sql == "" {
			return nil, fmt.Errorf("dashbench: query %s is empty", text[m[2]:m[3]])
		}
		out = append(out, NamedQuery{Name: text[m[2]:m[3]], SQL: sql})
	}
	return out, nil
}

// Expand fills a query's placeholders for site and the range r of days in
// loc.
func Expand(q NamedQuery, siteID string, r Range, loc *time.Location) (NamedQuery, error) {
	from, err := time.ParseInLocation(time.DateOnly, r.From, loc)
	if err != nil {
		return q, err
	}
	last, err := time.ParseInLocation(time.DateOnly, r.To, loc)
	if err != nil {
		return q, err
	}
	to := last.AddDate(0, 0, 1)
	rep := strings.NewReplacer(
		"{site}", "'"+strings.ReplaceAll(siteID, "'", "''")+"'",
		"{from}", fmt.Sprint(from.Unix()), "{to}", fmt.Sprint(to.Unix()),
		"{from_day}", "'"+from.UTC().AddDate(0, 0, -1).Format(time.DateOnly)+"'",
		"{to_day}", "'"+to.UTC().AddDate(0, 0, 1).Format(time.DateOnly)+"'",
		"{tz}", "'"+loc.String()+"'",
	)
	q.SQL = rep.Replace(q.SQL)
	return q, nil
}

// QueryStats are the latencies of one query, or of a whole page (every query
// at once, as the dashboard runs them), at one concurrency.
type QueryStats struct {
	Name          string
	Users         int
	Runs, Errors  int
	FirstError    string
	P50, P95, P99 time.Duration
	Rows          uint64 // rows the last run returned
	// ServerCPU is the ClickHouse server's CPU time per run (user +
	// system), when its process id was given: unlike latency it hardly
	// moves when other work shares the machine. Per query only when the
	// queries ran one at a time (serial).
	ServerCPU time.Duration
	cpuTotal  time.Duration
}

// QueryBench runs a page of queries: each of users runs rounds pages one
// after another, a page being every query at once on its own connection
// (the dashboard's runAll), after one warm-up page per user. It returns the
// page's latencies first, then each query's.
//
// serverPID, when not 0, is the ClickHouse server's process id: the page
// line then reports the server's CPU time per page.
//
// serial runs a page's queries one after another instead (one user), so
// that each query's server CPU time is its own.
func QueryBench(ctx context.Context, cfg store.Config, queries []NamedQuery, users, rounds, serverPID int, serial bool) ([]QueryStats, error) {
	conn, err := clickhouse.Open(&clickhouse.Options{
		Addr:         []string{cfg.Addr},
		Auth:         clickhouse.Auth{Database: cfg.Database, Username: cfg.User, Password: cfg.Password},
		DialTimeout:  5 * time.Second,
		ReadTimeout:  5 * time.Minute,
		Compression:  &clickhouse.Compression{Method: clickhouse.CompressionLZ4},
		MaxOpenConns: users*len(queries) + 1,
		MaxIdleConns: users*len(queries) + 1,
	})
	if err != nil {
		return nil, fmt.Errorf("dashbench: connect to %s: %w", cfg.Addr, err)
	}
	defer conn.Close()
	var mu sync.Mutex
	lat := make(map[string][]time.Duration)
	stats := map[string]*QueryStats{"page": {Name: "page", Users: users}}
	for _, q := range queries {
		stats[q.Name] = &QueryStats{Name: q.Name, Users: users}
	}
	page := func(record bool) {
		t0 := time.Now()
		var wg sync.WaitGroup
		failed := false
		for _, q := range queries {
			one := func() {
				t := time.Now()
				c0, _ := ProcessCPU(serverPID)
				n, err := drain(ctx, conn, q.SQL)
				d := time.Since(t)
				c1, _ := ProcessCPU(serverPID)
				mu.Lock()
				defer mu.Unlock()
				s := stats[q.Name]
				if serial && record {
					s.cpuTotal += c1 - c0
				}
				if err != nil {
					failed = true
					s.Errors++
					if s.FirstError == "" {
						s.FirstError = err.Error()
					}
					return
				}
				s.Rows = n
				if record {
					s.Runs++
					lat[q.Name] = append(lat[q.Name], d)
				}
			}
			if serial {
				one()
			} else {
				wg.Go(one)
			}
		}
		wg.Wait()
		if record && !failed {
			mu.Lock()
			stats["page"].Runs++
			lat["page"] = append(lat["page"], time.Since(t0))
			mu.Unlock()
		}
	}
	var wg sync.WaitGroup
	for range users {
		wg.Go(func() { page(false) })
	}
	wg.Wait()
	cpu0, _ := ProcessCPU(serverPID)
	for range users {
		wg.Go(func() {
			for range rounds {
				page(true)
			}
		})
	}
	wg.Wait()
	if cpu1, err := ProcessCPU(serverPID); serverPID != 0 && err == nil && stats["page"].Runs > 0 {
		stats["page"].ServerCPU = (cpu1 - cpu0) / time.Duration(stats["page"].Runs)
	}
	out := []QueryStats{}
	for _, name := range append([]string{"page"}, names(queries)...) {
		s := stats[name]
		l := lat[name]
		slices.Sort(l)
		s.P50, s.P95, s.P99 = percentile(l, 50), percentile(l, 95), percentile(l, 99)
		if s.cpuTotal > 0 && s.Runs > 0 {
			s.ServerCPU = s.cpuTotal / time.Duration(s.Runs)
		}
		out = append(out, *s)
	}
	return out, ctx.Err()
}

func names(qs []NamedQuery) []string {
	out := make([]string, len(qs))
	for i, q := range qs {
		out[i] = q.Name
	}
	return out
}

// drain runs a query and reads every row.
func drain(ctx context.Context, conn driver.Conn, sql string) (uint64, error) {
	rows, err := conn.Query(ctx, sql)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	var n uint64
	cols := rows.ColumnTypes()
	vals := make([]any, len(cols))
	for i, c := range cols {
		vals[i] = reflect.New(c.ScanType()).Interface()
	}
	for rows.Next() {
		if err := rows.Scan(vals...); err != nil {
			return n, err
		}
		n++
	}
	return n, rows.Err()
}

// FormatQueryStats prints a table of query stats.
func FormatQueryStats(w io.Writer, label string, stats []QueryStats) {
	fmt.Fprintf(w, "%-22s %5s %5s %4s %9s %9s %9s %6s %11s  %s\n", label, "users", "runs", "err", "p50_ms", "p95_ms", "p99_ms", "rows", "ch_cpu_ms", "first error")
	ms := func(d time.Duration) string { return fmt.Sprintf("%.1f", float64(d.Microseconds())/1000) }
	for _, s := range stats {
		rows, cpu := "", ""
		if s.Name != "page" {
			rows = fmt.Sprint(s.Rows)
		}
		if s.ServerCPU > 0 {
			cpu = ms(s.ServerCPU)
		}
		fmt.Fprintf(w, "%-22s %5d %5d %4d %9s %9s %9s %6s %11s  %s\n", s.Name, s.Users, s.Runs, s.Errors, ms(s.P50), ms(s.P95), ms(s.P99), rows, cpu, oneLine(s.FirstError, 100))
	}
}

// ProcessCPU is a process's user plus system CPU time from /proc (Linux).
func ProcessCPU(pid int) (time.Duration, error) {
	if pid == 0 {
		return 0, nil
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces; fields after its ')'
	// start at field 3, so utime and stime (14 and 15) are [11] and [12].
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("dashbench: /proc/%d/stat: too few fields", pid)
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("dashbench: /proc/%d/stat: bad times", pid)
	}
	const ticks = 100 // USER_HZ on Linux
	return time.Duration(ut+st) * time.Second / ticks, nil
}
