package report

import (
	"context"
)

// The previous period of a comparison (Compare, Overview with compare) lies
// before the range a user looks at, so its sessions rarely change once it
// is a few days old, yet every page view read it again: about half of the
// comparison's scan. With a PreviousCache, its figures are computed once
// and kept with a mark of the rows they came from; a later comparison
// reads only the mark (a scan without FINAL of the columns the figures
// read) and uses the kept figures when the mark is the same, so a figure is
// never older than the rows: any insert, merge, replay or rewrite of a
// session row in the period changes the mark, and the period is computed
// again.
//
// The mark (markOf, shared with ClosedCache) is the number of
// session_versions rows of the sessions that started in the period and the
// sum (mod 2^64) of a 64-bit hash of every column the figures and the
// filters read. Equal marks from different rows take a 64-bit hash
// collision; the figures' visitor counts (uniqExact of UUIDs) are exact,
// and the marks are the one place that trades that for speed.
//
// The cache is per process: dashboards behind a load balancer each keep
// their own, and each checks the mark itself. It is not used on a cluster
// (Distributed tables): the mark and the figures could be read from
// different replicas of a shard, one behind the other, and a mark from the
// up-to-date replica would then keep the lagging one's figures.

// DefaultPreviousEntries bounds a PreviousCache made with NewPreviousCache(0):
// one entry is a Summary and its key, well under a kilobyte.
const DefaultPreviousEntries = 1024

// PreviousCache keeps previous periods' figures with their marks, the
// least recently used dropped first. It is safe for concurrent use.
type PreviousCache struct{ kept *marked[Summary] }

// NewPreviousCache holds at most entries previous periods
// (DefaultPreviousEntries when entries <= 0).
func NewPreviousCache(entries int) *PreviousCache {
	if entries <= 0 {
		entries = DefaultPreviousEntries
	}
	return &PreviousCache{newMarked(int64(entries), 1, func(string, Summary) int64 { return 1 })}
}

// Stats is how many comparisons used kept figures (hits) and how many
// computed them (misses).
func (c *PreviousCache) Stats() (hits, misses uint64) {
	hits, misses, _ = c.kept.stats()
	return hits, misses
}

// WithPreviousCache makes r keep previous periods' figures in c (nil: never).
// Use it only on a single ClickHouse server (see the note above).
func (r *Reports) WithPreviousCache(c *PreviousCache) *Reports {
	r.previous = c
	return r
}

// previousKeptCols are the session columns the summary figures and the
// bot rule read; the mark hashes them with every filter's expression.
// visitor_id and started_at are left out: a session id is made from them
// (session.SessionID), so they cannot change while it stays, and they are
// a third of what the mark would read.
var previousKeptCols = []string{"reinterpretAsString(session_id)", "version", "first_ms", "last_ms", "pageviews",
	"custom_events", "is_bot"}

// previousLookup is a previous period that may be answered from the cache.
type previousLookup struct {
	key  string // the Summary statement the figures are the result of, inlined
	mark previousMark
}

// lookupPrevious reads the mark of p (the previous period) and returns the
// kept figures when they were computed from the same rows. ok is false
// when there is no cache, p filters on events (their rows are not in the
// mark), or the figures must be computed; the returned lookup, when not
// nil, is what to store them under. The mark is read before the figures
// are computed, so a change in between makes the stored mark older than
// the figures and the next lookup computes them again: never the reverse.
func (r *Reports) lookupPrevious(ctx context.Context, p Query) (Summary, *previousLookup, bool, error) {
	if r.previous == nil {
		return Summary{}, nil, false, nil
	}
	if p.filtersEvents() {
		return Summary{}, nil, false, nil
	}
	m, err := r.markOf(ctx, p, nil)
	if err != nil {
		return Summary{}, nil, false, err
	}
	from, fromArgs := p.sessionsFrom(summaryCols...)
	stmt := "SELECT " + summaryAggs + "\nFROM " + from
	l := &previousLookup{key: Inline(stmt, fromArgs...), mark: m}
	s, ok := r.previous.kept.get(l.key, m)
	if ok {
		AddSQL(ctx, "-- The previous period's figures were kept from an earlier run of this statement: the\n"+
			"-- rows they were computed from are unchanged (the statement above gave the same count and hash).\n"+
			l.key)
	}
	return s, l, ok, nil
}

// keepPrevious stores s, computed after l's mark was read.
func (r *Reports) keepPrevious(l *previousLookup, s Summary) {
	if l != nil {
		r.previous.kept.put(l.key, l.mark, s)
	}
}
