package dashboard

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/teller-analytics/teller/pkg/report"
)

// Identical concurrent requests share one computation: when four people
// open the same view of a site at once, each report runs once and all four
// get its figures. Nothing is stored: a computation is shared only while it
// runs, and a request that starts after it ended runs its own, so no answer
// is older than the request. Keys name the report and every input of it
// (site, range, bots, filters, zone and the report's own parameters).

// flight is one running computation and, once done is closed, its result.
type flight struct {
	done  chan struct{}
	val   any
	stmts []string
	err   error
}

// flights are the computations running now, by key.
type flights struct {
	mu sync.Mutex
	m  map[string]*flight
}

// shared runs run for key, or, when an identical computation is running,
// waits for its result. The statements run are added to ctx's SQL log
// either way. When the computation that was joined failed because its own
// request went away (its context ended), the caller runs its own.
func shared[T any](ctx context.Context, fs *flights, key string, run func(ctx context.Context) (T, error)) (T, error) {
	fs.mu.Lock()
	if fs.m == nil {
		fs.m = map[string]*flight{}
	}
	if f, ok := fs.m[key]; ok {
		fs.mu.Unlock()
		select {
		case <-f.done:
		case <-ctx.Done():
			var zero T
			return zero, ctx.Err()
		}
		if f.err == nil || !(errors.Is(f.err, context.Canceled) || errors.Is(f.err, context.DeadlineExceeded)) || ctx.Err() != nil {
			report.AddSQL(ctx, f.stmts...)
			v, _ := f.val.(T)
			return v, f.err
		}
		return run(ctx)
	}
	f := &flight{done: make(chan struct{})}
	fs.m[key] = f
	fs.mu.Unlock()
	defer func() {
		fs.mu.Lock()
		delete(fs.m, key)
		fs.mu.Unlock()
		close(f.done)
	}()
	var l report.SQLLog
	v, err := run(report.WithSQLLog(ctx, &l))
	f.val, f.err, f.stmts = v, err, l.Statements()
	report.AddSQL(ctx, f.stmts...)
	return v, err
}

// queryKey is the part of a key that q and the zone loc make.
func queryKey(q report.Query, loc *time.Location) string {
	var b strings.Builder
	// The FINAL streams change the statements, not the figures: a page's
	// request (one stream) and an API request (two) share nothing, so that
	// each shows the statements it ran.
	fmt.Fprintf(&b, "%q %d %d %t %d", q.Site, q.From.UnixNano(), q.To.UnixNano(), q.IncludeBots, q.FinalStreams())
	if loc != nil {
		fmt.Fprintf(&b, " %q", loc.String())
	}
	for _, f := range q.Filters {
		fmt.Fprintf(&b, " %q", f.String())
	}
	return b.String()
}
