package report

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/teller-analytics/teller/pkg/store"
)

// Hourly rollups of the session breakdowns (schema/0070_session_hours.sql):
// BuildHours writes them, Breakdowns reads them for the hours whose change
// mark still matches and reads the other hours from session_versions as
// before, so every figure is the one the session rows give.

// hourMark is an hour's change mark: count() and the hash sum of its
// session_versions rows, read without FINAL. Any insert or merge changes it.
type hourMark struct{ rows, hash uint64 }

// markQuery is the change mark of each UTC hour (Unix seconds) of q's range.
// The one definition: BuildHours stores it, Breakdowns compares with it.
func markQuery(q Query) (string, []any) {
	return `SELECT toUInt32(toStartOfHour(started_at)) AS h, count(), sum(cityHash64(reinterpretAsString(session_id), version))
FROM session_versions
WHERE site_id = ?
  AND session_date BETWEEN toDate(?) - 1 AND toDate(?) + 1
  AND started_at >= toDateTime(?) AND started_at < toDateTime(?)
GROUP BY h`, []any{q.Site, day(q.From), day(q.To), q.fromSec(), q.toSec()}
}

func (r *Reports) liveMarks(ctx context.Context, q Query) (map[uint32]hourMark, error) {
	query, args := markQuery(q)
	out := map[uint32]hourMark{}
	err := r.each(ctx, query, args, func(rows store.Rows) error {
		var h uint32
		var m hourMark
		if err := rows.Scan(&h, &m.rows, &m.hash); err != nil {
			return err
		}
		out[h] = m
		return nil
	})
	return out, err
}

// builtHour is what session_hour_marks says of a built hour.
type builtHour struct {
	build uint64
	mark  hourMark
}

func (r *Reports) storedMarks(ctx context.Context, q Query) (map[uint32]builtHour, error) {
	out := map[uint32]builtHour{}
	err := r.each(ctx, `SELECT toUInt32(hour), build, n_rows, hash
FROM session_hour_marks FINAL
WHERE site_id = ? AND hour >= toDateTime(?) AND hour < toDateTime(?)`, []any{q.Site, q.fromSec(), q.toSec()},
		func(rows store.Rows) error {
			var h uint32
			var b builtHour
			if err := rows.Scan(&h, &b.build, &b.mark.rows, &b.mark.hash); err != nil {
				return err
			}
			out[h] = b
			return nil
		})
	return out, err
}

// hourDims are the dimensions session_hours holds: every session dimension.
func hourDims() []Dimension {
	var out []Dimension
	for _, d := range Dimensions() {
		if dimensions[d].session != "" {
			out = append(out, d)
		}
	}
	return out
}

// hoursEligible reports whether Breakdowns may read q from session_hours:
// the rollup holds the sessions not flagged as bots, unfiltered, by whole
// UTC hours.
func hoursEligible(q Query) bool {
	return !q.IncludeBots && len(q.Filters) == 0 && q.From.Unix()%3600 == 0 && q.To.Unix()%3600 == 0 &&
		q.From.Nanosecond() == 0 && q.To.Nanosecond() == 0
}

// BuildHours (re)builds the rollup rows of site's UTC hours in [from, to)
// whose change mark differs from the stored one, or that were never built,
// and returns how many hours it wrote. Call it for closed hours (sessions
// can still change for the session span after their start; an hour that
// changes later is simply read from session_versions until it is built
// again). db needs the right to insert.
func BuildHours(ctx context.Context, db store.Querier, site string, from, to time.Time) (int, error) {
	from, to = from.UTC().Truncate(time.Hour), to.UTC().Truncate(time.Hour)
	q := Query{Site: site, From: from, To: to}
	if err := q.validate(); err != nil {
		return 0, err
	}
	r := New(db)
	// The marks are read before the figures: a change while building
	// leaves a stored mark that no longer matches, so readers skip the hour.
	live, err := r.liveMarks(ctx, q)
	if err != nil {
		return 0, fmt.Errorf("report: marks of %s: %w", site, err)
	}
	stored, err := r.storedMarks(ctx, q)
	if err != nil {
		return 0, fmt.Errorf("report: built hours of %s: %w", site, err)
	}
	var changed []uint32
	for h, m := range live {
		if b, ok := stored[h]; !ok || b.mark != m {
			changed = append(changed, h)
		}
	}
	sort.Slice(changed, func(i, j int) bool { return changed[i] < changed[j] })
	build := uint64(time.Now().UnixNano())
	built := len(changed)
	// A UTC day at a time: its hours through FINAL in one statement.
	for len(changed) > 0 {
		n := 1
		for n < len(changed) && changed[n]/86400 == changed[0]/86400 {
			n++
		}
		hours := changed[:n]
		changed = changed[n:]
		if err := buildHours(ctx, db, site, build, hours, live); err != nil {
			return 0, fmt.Errorf("report: build hours of %s: %w", site, err)
		}
	}
	return built, nil
}

func buildHours(ctx context.Context, db store.Querier, site string, build uint64, hours []uint32, live map[uint32]hourMark) error {
	q := Query{Site: site, From: time.Unix(int64(hours[0]), 0), To: time.Unix(int64(hours[len(hours)-1])+3600, 0)}
	dims := hourDims()
	cols := []string{colStarted, colVisitor, colPageviews, colCustom, colDuration}
	names, keys := make([]string, len(dims)), make([]string, len(dims))
	for i, d := range dims {
		alias := "s_key" + strconv.Itoa(i)
		cols = append(cols, "toString("+dimensions[d].session+") AS "+alias)
		names[i], keys[i] = "'"+string(d)+"'", alias
	}
	// The total: every session once, under dim '' (Overview).
	names, keys = append(names, "''"), append(keys, "''")
	from, args := q.sessionsFrom(cols...)
	list := hourList(hours)
	insert := `INSERT INTO session_hours (site_id, hour, build, dim, key, sessions, pageviews, custom_events, bounces, duration_ms, visitors)
SELECT ?, toStartOfHour(s_started) AS h, ?, h_dim, h_key, count(), sum(s_pageviews), sum(s_custom), countIf(` + bounceCond + `), sum(s_duration), uniqExactState(s_visitor)
FROM ` + from + `
ARRAY JOIN [` + strings.Join(names, ", ") + `] AS h_dim, [` + strings.Join(keys, ", ") + `] AS h_key
WHERE toUInt32(toStartOfHour(s_started)) IN (` + list + `)
GROUP BY h, h_dim, h_key`
	if err := db.Exec(ctx, insert, append([]any{site, build}, args...)...); err != nil {
		return err
	}
	// The marks last: a reader takes an hour's rows only once its mark
	// names their build.
	var hs, ns, xs []string
	for _, h := range hours {
		m := live[h]
		hs = append(hs, strconv.FormatUint(uint64(h), 10))
		ns = append(ns, strconv.FormatUint(m.rows, 10))
		xs = append(xs, strconv.FormatUint(m.hash, 10))
	}
	return db.Exec(ctx, `INSERT INTO session_hour_marks (site_id, hour, build, n_rows, hash)
SELECT ?, toDateTime(hs[i], 'UTC'), ?, ns[i], xs[i]
FROM (SELECT [`+strings.Join(hs, ", ")+`] AS hs, CAST([`+strings.Join(ns, ", ")+`] AS Array(UInt64)) AS ns, CAST([`+strings.Join(xs, ", ")+`] AS Array(UInt64)) AS xs)
ARRAY JOIN arrayEnumerate(hs) AS i`, site, build)
}

// hourList is hours as a SQL list of UInt32 literals.
func hourList(hours []uint32) string {
	s := make([]string, len(hours))
	for i, h := range hours {
		s[i] = strconv.FormatUint(uint64(h), 10)
	}
	return strings.Join(s, ", ")
}

// hourPlan says how to read q's hours: the hours to read from the session
// rows (changed since their build, or never built), and those whose rollup
// rows must not be read (those, and built hours whose session rows are
// gone). ok is false when no hour of q is built: then the caller reads the
// session rows alone, as before rollups.
type hourPlan struct {
	read, skip []uint32
}

func (r *Reports) planHours(ctx context.Context, q Query) (hourPlan, bool, error) {
	stored, live, err := r.marks(ctx, q)
	if err != nil || len(stored) == 0 {
		return hourPlan{}, false, err
	}
	var p hourPlan
	for h, m := range live {
		if b, ok := stored[h]; !ok || b.mark != m {
			p.read = append(p.read, h)
		}
	}
	sort.Slice(p.read, func(i, j int) bool { return p.read[i] < p.read[j] })
	p.skip = append(p.skip, p.read...)
	for h := range stored {
		if _, ok := live[h]; !ok {
			p.skip = append(p.skip, h)
		}
	}
	return p, true, nil
}

// rolledWhere is the WHERE of q's rollup rows of the dimensions dimList (a
// SQL list) under plan p, and its arguments.
func (p hourPlan) rolledWhere(q Query, dimList string) (string, []any) {
	where := `site_id = ? AND dim IN (` + dimList + `) AND hour >= toDateTime(?) AND hour < toDateTime(?)
    AND (hour, build) IN (SELECT hour, build FROM session_hour_marks FINAL WHERE site_id = ? AND hour >= toDateTime(?) AND hour < toDateTime(?))`
	if len(p.skip) > 0 {
		where += "\n    AND toUInt32(hour) NOT IN (" + hourList(p.skip) + ")"
	}
	return where, []any{q.Site, q.fromSec(), q.toSec(), q.Site, q.fromSec(), q.toSec()}
}

// liveQuery is q narrowed to the hours p reads from the session rows (the
// exact condition is liveCond on s_started).
func (p hourPlan) liveQuery(q Query) Query {
	lq := q
	lq.From, lq.To = time.Unix(int64(p.read[0]), 0), time.Unix(int64(p.read[len(p.read)-1])+3600, 0)
	return lq
}

func (p hourPlan) liveCond() string {
	return "toUInt32(toStartOfHour(s_started)) IN (" + hourList(p.read) + ")"
}

// breakdownsFromHours is Breakdowns' query for the session dimensions dims
// over session_hours: the hours whose stored mark equals the live one from
// their rollup rows, the others (changed, never built) from the session
// rows as breakdownsQuery reads them, merged per dimension and key. It
// returns "" when no hour of q is built (then the caller reads the session
// rows alone).
func (r *Reports) breakdownsFromHours(ctx context.Context, q Query, dims []Dimension, limit int) (string, []any, error) {
	p, ok, err := r.planHours(ctx, q)
	if err != nil || !ok {
		return "", nil, err
	}
	names := make([]string, len(dims))
	for i, d := range dims {
		names[i] = "'" + string(d) + "'"
	}
	dimList := strings.Join(names, ", ")
	where, args := p.rolledWhere(q, dimList)
	rolled := `SELECT toUInt8(indexOf([` + dimList + `], dim) - 1) AS b_dim, key AS b_key, visitors AS v, sessions AS n, pageviews AS pv,
         custom_events AS cu, bounces AS bo, duration_ms AS du
  FROM session_hours
  WHERE ` + where
	parts := []string{rolled}
	if len(p.read) > 0 {
		lq := p.liveQuery(q)
		cols := []string{colStarted, colVisitor, colPageviews, colCustom, colDuration}
		index, keys := make([]string, len(dims)), make([]string, len(dims))
		for i, d := range dims {
			alias := "s_key" + strconv.Itoa(i)
			cols = append(cols, "toString("+dimensions[d].session+") AS "+alias)
			index[i], keys[i] = strconv.Itoa(i), alias
		}
		from, fromArgs := lq.sessionsFrom(cols...)
		parts = append(parts, `SELECT b_dim, b_key, uniqExactState(s_visitor) AS v, count() AS n, sum(s_pageviews) AS pv, sum(s_custom) AS cu,
         countIf(`+bounceCond+`) AS bo, sum(s_duration) AS du
  FROM `+from+`
  ARRAY JOIN arrayMap(i -> toUInt8(i), [`+strings.Join(index, ", ")+`]) AS b_dim, [`+strings.Join(keys, ", ")+`] AS b_key
  WHERE `+p.liveCond()+`
  GROUP BY b_dim, b_key`)
		args = append(args, fromArgs...)
	}
	return `SELECT b_dim, b_key, uniqExactMerge(v) AS visitors, sum(n) AS sessions, sum(pv) AS pageviews, sum(cu), sum(bo), sum(du)
FROM (
  ` + strings.Join(parts, "\n  UNION ALL\n  ") + `)
GROUP BY b_dim, b_key
ORDER BY b_dim, sessions DESC, pageviews DESC, b_key
LIMIT ` + strconv.Itoa(limit) + ` BY b_dim`, args, nil
}

// marks reads the stored and the live marks of q's hours; the live ones
// only when some hour is built. Under WithHourMarks covering q they are
// read once for every report of the context and cut to q's hours.
func (r *Reports) marks(ctx context.Context, q Query) (map[uint32]builtHour, map[uint32]hourMark, error) {
	m, _ := ctx.Value(hourMarksKey{}).(*hourMarks)
	if m == nil || m.q.Site != q.Site || q.From.Before(m.q.From) || q.To.After(m.q.To) {
		return r.readMarks(ctx, q)
	}
	m.once.Do(func() { m.stored, m.live, m.err = r.readMarks(ctx, m.q) })
	if m.err != nil {
		return nil, nil, m.err
	}
	lo, hi := uint32(q.From.Unix()), uint32(q.To.Unix())
	stored, live := map[uint32]builtHour{}, map[uint32]hourMark{}
	for h, b := range m.stored {
		if h >= lo && h < hi {
			stored[h] = b
		}
	}
	for h, l := range m.live {
		if h >= lo && h < hi {
			live[h] = l
		}
	}
	return stored, live, nil
}

func (r *Reports) readMarks(ctx context.Context, q Query) (map[uint32]builtHour, map[uint32]hourMark, error) {
	stored, err := r.storedMarks(ctx, q)
	if err != nil || len(stored) == 0 {
		return stored, nil, err
	}
	live, err := r.liveMarks(ctx, q)
	return stored, live, err
}

type hourMarksKey struct{}

type hourMarks struct {
	q      Query
	once   sync.Once
	stored map[uint32]builtHour
	live   map[uint32]hourMark
	err    error
}

// WithHourMarks returns ctx with which the reports of site over instants
// within [from, to) read the hourly rollups' marks once between them (a
// page's Overview and Breakdowns): one snapshot of which hours are current,
// read by the first report that needs it.
func WithHourMarks(ctx context.Context, site string, from, to time.Time) context.Context {
	return context.WithValue(ctx, hourMarksKey{}, &hourMarks{q: Query{Site: site, From: from, To: to}})
}

// bucketsOnHours reports whether every bucket starts on a whole UTC hour:
// then each UTC hour lies in one bucket, and an hour's rollup row counts
// where each of its sessions would (zones with whole-hour offsets).
func bucketsOnHours(bs []bucket) bool {
	for _, b := range bs {
		if b.start.Unix()%3600 != 0 {
			return false
		}
	}
	return true
}

// overviewFromHours is Overview's query over session_hours' totals (the
// rows of the empty dimension): read is the range read (with the previous period when compare),
// keys the ARRAY JOIN keys of Overview over a time column (the column's
// name is replaced) with their arguments. The hours whose stored mark
// equals the live one come from their rollup row, the others from the
// session rows as Overview reads them; "" when no hour of read is built.
func (r *Reports) overviewFromHours(ctx context.Context, read Query, keys func(col string) (string, []any)) (string, []any, error) {
	p, ok, err := r.planHours(ctx, read)
	if err != nil || !ok {
		return "", nil, err
	}
	hourKeys, args := keys("hour")
	where, whereArgs := p.rolledWhere(read, "''")
	parts := []string{`SELECT bucket, visitors AS v, sessions AS n, pageviews AS pv, bounces AS bo, duration_ms AS du, custom_events AS cu
  FROM session_hours
  ARRAY JOIN ` + hourKeys + ` AS bucket
  WHERE ` + where}
	args = append(args, whereArgs...)
	if len(p.read) > 0 {
		from, fromArgs := p.liveQuery(read).sessionsFrom(append([]string{colStarted}, summaryCols...)...)
		liveKeys, keyArgs := keys("s_started")
		parts = append(parts, `SELECT bucket, uniqExactState(s_visitor) AS v, count() AS n, sum(s_pageviews) AS pv,
         countIf(`+bounceCond+`) AS bo, sum(s_duration) AS du, sum(s_custom) AS cu
  FROM `+from+`
  ARRAY JOIN `+liveKeys+` AS bucket
  WHERE `+p.liveCond()+`
  GROUP BY bucket`)
		args = append(append(args, fromArgs...), keyArgs...)
	}
	return `SELECT bucket, uniqExactMerge(v), sum(n), sum(pv), sum(bo), sum(du), sum(cu)
FROM (
  ` + strings.Join(parts, "\n  UNION ALL\n  ") + `)
GROUP BY bucket
ORDER BY bucket`, args, nil
}
