package report

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/teller-analytics/teller/pkg/store"
)

// Most of a report's range lies in the past: every session that started
// more than sessionSpan ago is closed, and its row in session_versions
// changes again only through a late event, a merge, a replay or a rewrite.
// Yet every view merged all of them again with FINAL, the report's largest
// cost. With a ClosedCache a grouped report (Overview, Compare, Series,
// the session breakdowns, the pages; and Completeness' stored events per
// day, marked by their event ids) splits its range at a cut before
// which every session is closed (closedCut): the closed part's figures are
// computed once, per group key with its visitors as a set, and kept with a
// mark of the rows they came from (the one PreviousCache uses: row count
// and the sum of a 64-bit hash of every column the figures and filters
// read, over the sessions that started in the part); a later view reads
// that mark (a scan without FINAL), and when it is unchanged reads only
// the open part with FINAL and merges it with the kept figures in Go: sums
// add, and a key's visitors are the union of both parts' visitor ids, so
// the distinct counts stay exact. A changed mark computes the closed part
// again. The mark is read before the figures, so a change in between
// leaves an older mark beside newer figures, which the next view
// recomputes; never the reverse.
//
// The cut is midnight UTC of the day sessionSpan before now, so it moves
// once a day and the closed part's key (its statement) stays the same
// between views all day. Like PreviousCache it is per process and not for
// clusters (a mark and figures could come from different replicas).

// DefaultClosedBytes bounds a ClosedCache made with NewClosedCache(0). An
// entry costs about 16 bytes per (key, visitor) pair: a 30-day page of a
// site with 170,000 sessions keeps about 40 MB across its reports.
const DefaultClosedBytes = 512 << 20

// ClosedCache keeps the closed parts' figures with their marks, the least
// recently used dropped first, within a byte budget. It is safe for
// concurrent use.
//
// A closed part whose figures cost more than an entry may (a quarter of
// the budget: a long range of a very large site) is remembered as such,
// and its reports then read the plain statements: computing it on every
// view without keeping it would cost about twice the plain statement.
type ClosedCache struct {
	kept *marked[map[string]*group]

	mu       sync.Mutex
	tooLarge map[string]struct{} // statements whose figures were not kept
}

// maxTooLarge bounds ClosedCache.tooLarge; when full it starts again.
const maxTooLarge = 1024

// errNotKept: the closed part is too large to keep; the report reads the
// plain statements.
var errNotKept = errors.New("report: the closed part's figures are too large to keep")

func (c *ClosedCache) isTooLarge(key string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.tooLarge[key]
	return ok
}

func (c *ClosedCache) setTooLarge(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.tooLarge) >= maxTooLarge {
		clear(c.tooLarge)
	}
	c.tooLarge[key] = struct{}{}
}

// id16 is a UUID (a visitor's, a session's, an event's) as its 16 bytes.
type id16 [16]byte

// group is one key's figures over a part of a range: its sets of distinct
// ids (sorted; the visitors first), and its additive figures, in the order
// of the grouping's sums.
type group struct {
	sets [][]id16
	sums []uint64
}

// NewClosedCache keeps at most maxBytes of figures (DefaultClosedBytes when
// maxBytes <= 0).
func NewClosedCache(maxBytes int64) *ClosedCache {
	if maxBytes <= 0 {
		maxBytes = DefaultClosedBytes
	}
	// One view must not push out every other: at most a quarter each.
	return &ClosedCache{kept: newMarked(maxBytes, maxBytes/4, closedBytes), tooLarge: map[string]struct{}{}}
}

// closedBytes is about what a closed part's figures hold in memory.
func closedBytes(key string, groups map[string]*group) int64 {
	size := int64(len(key)) + 64
	for k, g := range groups {
		size += int64(len(k)) + 64 + int64(len(g.sums))*8
		for _, ids := range g.sets {
			size += 24 + int64(len(ids))*16
		}
	}
	return size
}

// Stats is how many reports used kept closed figures (hits) and how many
// computed them (misses), and the bytes kept.
func (c *ClosedCache) Stats() (hits, misses uint64, bytes int64) { return c.kept.stats() }

// WithClosedCache makes r keep closed parts' figures in c (nil: never).
// Use it only on a single ClickHouse server (see the note above).
func (r *Reports) WithClosedCache(c *ClosedCache) *Reports {
	r.closed = c
	return r
}

// WithClock sets the clock the closed cut is taken from (time.Now when
// nil): tests and the benchmark, whose data lie in their own past.
func (r *Reports) WithClock(now func() time.Time) *Reports {
	r.now = now
	return r
}

// closedCut is the instant before which every session that started is
// closed: midnight UTC of the day sessionSpan before now.
func (r *Reports) closedCut() time.Time {
	now := time.Now
	if r.now != nil {
		now = r.now
	}
	y, m, d := now().UTC().Add(-sessionSpan).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// grouping is a grouped statement over a range's sessions whose figures
// can be split at a cut and merged: its rows are a String key, sets of
// ids (Array(UUID): sortedIDs), the visitors' first, and UInt64 sums
// that add up across parts.
type grouping struct {
	// stmt is the statement over part, a Query over a part of the range.
	stmt func(part Query) (string, []any)
	// sets is how many id sets stmt selects (groupSetsSelect); 0 is one,
	// the visitors (groupSelect).
	sets int
	// cols are the columns of session_versions the figures read besides
	// previousKeptCols (the filters' are added): what the mark hashes.
	cols []string
	// mark, when set, is the mark's statement over part instead (for
	// figures from another table).
	mark func(part Query) markStmt
}

// groupSelect is the head of a grouping's statement: the key, the visitor
// set and the sums, in the order the merge reads them.
func groupSelect(key, visitor string, sums ...string) string {
	return groupSetsSelect(key, []string{visitor}, sums...)
}

// groupSetsSelect is groupSelect with several id sets (UUID expressions).
func groupSetsSelect(key string, sets []string, sums ...string) string {
	cols := []string{key + " AS g_key"}
	for i, id := range sets {
		cols = append(cols, "groupUniqArray("+id+") AS g_ids"+strconv.Itoa(i))
	}
	return "SELECT " + strings.Join(append(cols, sums...), ",\n       ")
}

// split returns where to split q at the closed cut, and whether to: a
// cache is set, the cut lies after readFrom, and no filter reads events
// (their rows are not in the mark). A range that ends before the cut is
// closed as a whole: the cut is then q.To, and nothing is read live.
func (r *Reports) split(q Query, readFrom time.Time) (time.Time, bool) {
	if r.closed == nil {
		return time.Time{}, false
	}
	if q.filtersEvents() {
		return time.Time{}, false
	}
	cut := r.closedCut()
	if cut.After(q.To) {
		cut = q.To
	}
	return cut, cut.After(readFrom)
}

// groups computes g over read ([read.From, read.To)), the part before cut
// kept in the cache, and returns each key's merged figures: each id set's
// distinct count first (the visitors'), then the sums.
func (r *Reports) groups(ctx context.Context, read Query, cut time.Time, g grouping, nsums int) (map[string][]uint64, error) {
	nsets := max(g.sets, 1)
	closed, open := read, read
	closed.To, open.From = cut, cut
	open.streams = 1 // a couple of days: one FINAL stream

	stmt, args := g.stmt(closed)
	key := Inline(stmt, args...)
	if r.closed.isTooLarge(key) {
		return nil, errNotKept
	}
	var mark previousMark
	var err error
	if g.mark != nil {
		mark, err = r.readMark(ctx, closed, g.mark(closed))
	} else {
		mark, err = r.markOf(ctx, closed, g.cols)
	}
	if err != nil {
		return nil, err
	}
	kept, ok := r.closed.kept.get(key, mark)
	if ok {
		AddSQL(ctx, "-- The figures of the sessions that started before "+cut.UTC().Format(time.RFC3339)+
			" were kept from an earlier run of this\n-- statement: their rows are unchanged (the same count and hash).\n"+key)
	} else {
		if kept, err = r.readGroups(ctx, stmt, args, nsets, nsums); err != nil {
			return nil, err
		}
		if !r.closed.kept.put(key, mark, kept) {
			r.closed.setTooLarge(key) // this view uses them still
		}
	}
	live := map[string]*group{}
	if open.From.Before(open.To) {
		stmt, args = g.stmt(open)
		if live, err = r.readGroups(ctx, stmt, args, nsets, nsums); err != nil {
			return nil, err
		}
	}
	out := make(map[string][]uint64, len(kept)+len(live))
	for k, c := range kept {
		row := make([]uint64, nsets+nsums)
		for i, ids := range c.sets {
			row[i] = uint64(len(ids))
		}
		copy(row[nsets:], c.sums)
		out[k] = row
	}
	for k, l := range live {
		row, ok := out[k]
		if !ok {
			row = make([]uint64, nsets+nsums)
			out[k] = row
		}
		c := kept[k]
		for i, ids := range l.sets {
			var closedIDs []id16
			if c != nil {
				closedIDs = c.sets[i]
			}
			for _, v := range ids {
				if _, found := slices.BinarySearchFunc(closedIDs, v, compareIDs); !found {
					row[i]++
				}
			}
		}
		for i, s := range l.sums {
			row[nsets+i] += s
		}
	}
	return out, nil
}

func compareIDs(a, b id16) int { return bytes.Compare(a[:], b[:]) }

// readGroups runs a grouping's statement and reads its rows.
func (r *Reports) readGroups(ctx context.Context, stmt string, args []any, nsets, nsums int) (map[string]*group, error) {
	out := map[string]*group{}
	err := r.each(ctx, stmt, args, func(rows store.Rows) error {
		var k string
		ids := make([][]uuid.UUID, nsets)
		sums := make([]uint64, nsums)
		dest := []any{&k}
		for i := range ids {
			dest = append(dest, &ids[i])
		}
		for i := range sums {
			dest = append(dest, &sums[i])
		}
		if err := rows.Scan(dest...); err != nil {
			return err
		}
		g := &group{sets: make([][]id16, nsets), sums: sums}
		for i, set := range ids {
			g.sets[i] = sortedIDs(set)
		}
		out[k] = g
		return nil
	})
	return out, err
}

// sortedIDs is a set of groupSetsSelect's ids as id16, sorted. They come
// as Array(UUID): half the bytes of hex text, and about a third less work
// for the server than the hex strings it built before.
func sortedIDs(set []uuid.UUID) []id16 {
	out := make([]id16, len(set))
	for i, u := range set {
		out[i] = id16(u)
	}
	slices.SortFunc(out, compareIDs)
	return out
}

// filtersEvents reports whether a filter of q reads events: their rows
// are in no mark of session rows.
func (q Query) filtersEvents() bool {
	for _, f := range q.Filters {
		if dimensions[f.Dimension].eventColumn != "" {
			return true
		}
	}
	return false
}

// markOf reads the mark of p's session rows: how many rows of
// session_versions hold the sessions that started in p, and the sum of a
// hash of previousKeptCols, cols and every filter's column over them.
func (r *Reports) markOf(ctx context.Context, p Query, cols []string) (previousMark, error) {
	hashed := append(append([]string(nil), previousKeptCols...), cols...)
	for _, f := range p.Filters {
		hashed = append(hashed, dimensions[f.Dimension].session)
	}
	where, args := p.sessionRows(p.sessionDays())
	return r.readMark(ctx, p, markStmt{table: "session_versions", hash: "cityHash64(" + strings.Join(hashed, ", ") + ")",
		where: where, args: args})
}

// summaries is the split form of a statement that ARRAY JOINs each
// session of read under the keys of keys (an array expression over the
// session columns, with keyArgs) and takes summaryAggs per key: Overview,
// Compare and Series on a ClosedCache.
func (r *Reports) summaries(ctx context.Context, read Query, cut time.Time, keys string, keyArgs []any) (map[string]Summary, error) {
	g := grouping{stmt: func(part Query) (string, []any) {
		from, args := part.sessionsFrom(append([]string{colStarted}, summaryCols...)...)
		return groupSelect("bucket", "s_visitor", summarySums...) + "\nFROM " + from + "\nARRAY JOIN " + keys +
			" AS bucket\nGROUP BY g_key", append(args, keyArgs...)
	}}
	rows, err := r.groups(ctx, read, cut, g, len(summarySums))
	if err != nil {
		return nil, err
	}
	out := make(map[string]Summary, len(rows))
	for k, row := range rows {
		out[k] = summaryOf(row)
	}
	return out, nil
}
