package report

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/teller-analytics/teller/pkg/store"
)

// Overview is the head of a site's report page: the range's key figures
// (with the previous period's, when asked) and its series.
type Overview struct {
	Comparison
	Points []Point
	// Breakdowns holds, for OverviewWith, the rows of each session
	// dimension asked for, as Breakdowns gives them; nil for Overview.
	Breakdowns map[Dimension][]Row
}

// The kinds of Overview's rows that are not buckets (a bucket's kind is its
// key): bucketKey never yields an empty string, nor one that starts with a
// letter. A breakdown row's kind is overviewDim and the dimension's index,
// its key the dimension's value.
const (
	overviewTotal    = ""
	overviewPrevious = "previous"
	overviewDim      = "d"
)

// Overview computes what Compare (or, without compare, Summary) and Series
// compute for q, in one scan of q's sessions instead of two or three.
//
// Every session row is counted twice through ARRAY JOIN: once under the key
// of its bucket and once under a total key; a session of the previous
// period (read only with compare) counts once, under its own key. So each
// figure, the distinct visitors of the range included, is the same
// aggregate over the same sessions as in Summary, Compare and Series, on
// ClickHouse 18.16 and current releases (no WITH TOTALS or ROLLUP, whose
// rows the Querier interface cannot tell apart on every engine).
func (r *Reports) Overview(ctx context.Context, q Query, loc *time.Location, m Metric, iv Interval, compare bool) (Overview, error) {
	return r.OverviewWith(ctx, q, loc, m, iv, compare, nil, 0)
}

// OverviewWith is Overview and Breakdowns of the session dimensions dims
// (at most limit rows each) from the same single scan, so that the report
// page reads q's sessions once for its head and all its session cards.
//
// A session of the range is also counted once under each dimension (kind
// overviewDim+index, key its value). The rows are ranked within their kind
// as Breakdown ranks them and cut by LIMIT n BY kind: a bucket, the total
// and the previous period are kinds of a single row each, so the limit cuts
// only the breakdowns. dims must be session dimensions (not ReadsEvents).
func (r *Reports) OverviewWith(ctx context.Context, q Query, loc *time.Location, m Metric, iv Interval, compare bool, dims []Dimension, limit int) (Overview, error) {
	if err := q.validate(); err != nil {
		return Overview{}, err
	}
	dims, err := sessionDims(dims)
	if err != nil {
		return Overview{}, err
	}
	if len(dims) > 0 {
		if err := checkLimit(limit); err != nil {
			return Overview{}, err
		}
	}
	if m, err = ParseMetric(string(m)); err != nil {
		return Overview{}, err
	}
	iv, tz, bs, err := seriesFrame(q, loc, iv)
	if err != nil {
		return Overview{}, err
	}
	key, n := bucketKey(iv, "s_started")
	read := q
	if compare {
		read = q.Previous()
		read.To = q.To
	}
	cols := append([]string{colStarted}, summaryCols...)
	kinds, keys := []string{key, "'" + overviewTotal + "'"}, []string{"''", "''"}
	for i, d := range dims {
		alias := "s_key" + strconv.Itoa(i)
		cols = append(cols, "toString("+dimensions[d].session+") AS "+alias)
		kinds, keys = append(kinds, "'"+overviewDim+strconv.Itoa(i)+"'"), append(keys, alias)
	}
	from, args := read.sessionsFrom(cols...)
	kindList, keyList := "["+strings.Join(kinds, ", ")+"]", "["+strings.Join(keys, ", ")+"]"
	if compare {
		// Previous().To is q.From: the sessions before From's second are the
		// previous period's, as in Compare.
		kindList = "if(s_started >= toDateTime(?), " + kindList + ", ['" + overviewPrevious + "'])"
		keyList = "if(s_started >= toDateTime(?), " + keyList + ", [''])"
		args = append(append(append(args, q.fromSec()), zoneArgs(tz, n)...), q.fromSec())
	} else {
		args = append(args, zoneArgs(tz, n)...)
	}
	query := "SELECT o_kind, o_key, " + summaryAggs + "\nFROM " + from +
		"\nARRAY JOIN " + kindList + " AS o_kind, " + keyList + " AS o_key\nGROUP BY o_kind, o_key"
	if len(dims) > 0 {
		query += "\nORDER BY o_kind, count() DESC, sum(s_pageviews) DESC, o_key\nLIMIT " + strconv.Itoa(limit) + " BY o_kind"
	} else {
		query += "\nORDER BY o_kind"
	}
	var out Overview
	if len(dims) > 0 {
		out.Breakdowns = make(map[Dimension][]Row, len(dims))
		for _, d := range dims {
			out.Breakdowns[d] = []Row{}
		}
	}
	ps := newPointSet(bs)
	err = r.each(ctx, query, args, func(rows store.Rows) error {
		var kind, k string
		var s Summary
		var sc summaryScan
		if err := rows.Scan(append([]any{&kind, &k}, sc.dest(&s)...)...); err != nil {
			return err
		}
		sc.finish(&s)
		switch {
		case kind == overviewTotal:
			out.Current = s
		case kind == overviewPrevious:
			out.Previous = s
		case strings.HasPrefix(kind, overviewDim):
			i, err := strconv.Atoi(kind[len(overviewDim):])
			if err != nil || i < 0 || i >= len(dims) {
				return fmt.Errorf("row of unknown kind %q", kind)
			}
			out.Breakdowns[dims[i]] = append(out.Breakdowns[dims[i]], Row{Key: k, Visitors: s.Visitors,
				Sessions: s.Sessions, Pageviews: s.Pageviews, Events: s.Events,
				BounceRate: s.BounceRate, AvgDurationSec: s.AvgDurationSec})
		default:
			ps.add(kind, s)
		}
		return nil
	})
	if err != nil {
		return Overview{}, fmt.Errorf("report: overview of %s: %w", q.Site, err)
	}
	if compare {
		out.Change = changeOf(out.Current, out.Previous)
	}
	out.Points = ps.series(m)
	return out, nil
}

// sessionDims parses dims (old names accepted), drops repeats and refuses
// the dimensions that read events.
func sessionDims(dims []Dimension) ([]Dimension, error) {
	var out []Dimension
	seen := map[Dimension]bool{}
	for _, d := range dims {
		d, err := ParseDimension(string(d))
		if err != nil {
			return nil, err
		}
		if d.ReadsEvents() {
			return nil, fmt.Errorf("%w: %s is not a session dimension", ErrInvalidQuery, d)
		}
		if !seen[d] {
			seen[d] = true
			out = append(out, d)
		}
	}
	return out, nil
}
