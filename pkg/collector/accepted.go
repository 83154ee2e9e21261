package collector

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
)

// Counter counts accepted events; the collector calls Add once per event it
// answered 202 for. *Acceptances implements it.
type Counter interface {
	Add(site string, receivedMs int64)
}

// Execer runs a statement on ClickHouse (*store.DB).
type Execer interface {
	Exec(ctx context.Context, query string, args ...any) error
}

// FlushEvery is how often Acceptances writes its counts by default.
const FlushEvery = 10 * time.Second

// keepMinutes is how long a minute's count is kept in memory after the
// minute: an event can be received up to MaxAge late (age_ms), and a count
// dropped and restarted would replace a larger one with a smaller.
const keepMinutes = MaxAge + time.Hour

// Acceptances keeps, per site and minute of event time, how many events
// this collector instance accepted, and writes them to table
// collector_accepted: the figure the data-completeness report compares with
// what was stored.
//
// Each row holds the running count of its minute and a growing version, so
// a rewrite replaces the row and never adds: writing the same counts twice,
// or retrying a write that may have landed, changes no figure. Each process
// has an id of its own, so instances never overwrite each other.
type Acceptances struct {
	db  Execer
	id  string
	log *slog.Logger
	now func() time.Time

	mu      sync.Mutex
	counts  map[acceptKey]uint64
	dirty   map[acceptKey]bool
	version uint64
}

type acceptKey struct {
	site   string
	minute int64 // Unix seconds of the minute's start
}

// NewAcceptances returns a counter writing through db, with a new instance
// id. log may be nil.
func NewAcceptances(db Execer, log *slog.Logger) *Acceptances {
	if log == nil {
		log = slog.Default()
	}
	return &Acceptances{db: db, id: uuid.NewString(), log: log, now: time.Now,
		counts: map[acceptKey]uint64{}, dirty: map[acceptKey]bool{}}
}

// ID is the instance id the rows are written under.
func (a *Acceptances) ID() string { return a.id }

// Add counts one accepted event of site received at receivedMs (the event
// time the events table keeps).
func (a *Acceptances) Add(site string, receivedMs int64) {
	k := acceptKey{site: site, minute: receivedMs / 60000 * 60}
	a.mu.Lock()
	a.counts[k]++
	a.dirty[k] = true
	a.mu.Unlock()
}

// maxRowsPerInsert bounds one INSERT's SELECT ... UNION ALL chain.
const maxRowsPerInsert = 200

// Flush writes the counts that changed since the last flush. On failure
// they stay to write, so the next flush retries them with their (larger)
// current counts.
func (a *Acceptances) Flush(ctx context.Context) error {
	a.mu.Lock()
	type row struct {
		k acceptKey
		n uint64
	}
	rows := make([]row, 0, len(a.dirty))
	for k := range a.dirty {
		rows = append(rows, row{k, a.counts[k]})
	}
	clear(a.dirty)
	a.version = max(a.version+1, uint64(a.now().UnixMilli()))
	version := a.version
	cutoff := a.now().Add(-keepMinutes).Unix()
	for k := range a.counts {
		if k.minute < cutoff {
			delete(a.counts, k)
		}
	}
	a.mu.Unlock()

	for len(rows) > 0 {
		n := min(len(rows), maxRowsPerInsert)
		chunk := rows[:n]
		// INSERT ... SELECT with bound values is the form that works on
		// ClickHouse 18.16 over the native protocol.
		selects := make([]string, len(chunk))
		args := make([]any, 0, 5*len(chunk))
		for i, r := range chunk {
			selects[i] = "SELECT ?, toDateTime(?), ?, toUInt64(?), toUInt64(?)"
			args = append(args, r.k.site, r.k.minute, a.id, r.n, version)
		}
		err := a.db.Exec(ctx, "INSERT INTO collector_accepted (site_id, minute_at, collector_id, accepted, updated_ms)\n"+
			strings.Join(selects, "\nUNION ALL\n"), args...)
		if err != nil {
			a.mu.Lock()
			for _, r := range rows {
				a.dirty[r.k] = true
			}
			a.mu.Unlock()
			return fmt.Errorf("collector: write accepted counts (%d rows): %w", len(rows), err)
		}
		rows = rows[n:]
	}
	return nil
}

// Run flushes every interval (FlushEvery when 0) until ctx ends, then
// once more with a short deadline of its own, so a clean shutdown loses no
// count. A failed flush is logged and retried on the next tick.
func (a *Acceptances) Run(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		interval = FlushEvery
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			if err := a.Flush(ctx); err != nil {
				a.log.Warn("accepted counts not written; retrying", "err", err)
			}
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			if err := a.Flush(fctx); err != nil {
				a.log.Error("accepted counts lost at shutdown", "err", err)
			}
			cancel()
			return
		}
	}
}
