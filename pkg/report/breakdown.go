package report

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/teller-analytics/teller/pkg/store"
)

// Row is one line of a breakdown.
type Row struct {
	// Key is the value grouped by: a path, a referrer domain, a channel.
	// It may be empty (no referrer is ""; the UI shows "(direct)").
	Key string
	// Visitors is the number of distinct visitors.
	Visitors uint64
	// Sessions is the number of distinct sessions.
	Sessions uint64
	// Pageviews is the number of distinct pageviews: of the page itself for
	// Pages, of the whole sessions for the session dimensions, 0 for Events.
	Pageviews uint64
	// Events is, for Events, how often the event happened; for the session
	// dimensions, the custom events of the sessions; 0 for Pages.
	Events uint64
	// BounceRate (0..1) and AvgDurationSec are of the sessions, for the
	// session dimensions only (0 for Pages and Events, whose rows are not
	// sessions).
	BounceRate     float64
	AvgDurationSec float64
}

// Dimension is what a breakdown groups by and a filter filters on. Its
// value is the name the URL and the JSON API use.
type Dimension string

// The dimensions. Pages and Events read events; the others read sessions
// and take the session's entry attribution (its opening event) or exit page.
const (
	Pages           Dimension = "page"            // page path of each pageview, ranked by pageviews
	EntryPages      Dimension = "entry_page"      // path of the session's opening event, ranked by sessions
	ExitPages       Dimension = "exit_page"       // path of the session's latest event, ranked by sessions
	Sources         Dimension = "source"          // named source at entry (Google, Hacker News, ...), "" for none
	Referrers       Dimension = "referrer"        // referrer domain at entry, "" for none, ranked by sessions
	Channels        Dimension = "channel"         // channel at entry (direct, organic_search, ...); see ChannelLabel
	UTMSources      Dimension = "utm_source"      // utm_source (or ref) at entry
	UTMMediums      Dimension = "utm_medium"      // utm_medium at entry
	UTMCampaigns    Dimension = "utm_campaign"    // utm_campaign at entry
	UTMTerms        Dimension = "utm_term"        // utm_term at entry
	UTMContents     Dimension = "utm_content"     // utm_content at entry
	Browsers        Dimension = "browser"         // browser name at entry
	BrowserVersions Dimension = "browser_version" // browser name and major version at entry, "Firefox 123"
	OSes            Dimension = "os"              // operating system at entry
	Devices         Dimension = "device"          // desktop, mobile, tablet, bot or ""
	Screens         Dimension = "screen"          // screen width class at entry: see ScreenClasses
	StartReasons    Dimension = "start_reason"    // why the session started: first_visit, inactivity, ...
	Countries       Dimension = "country"         // ISO 3166-1 alpha-2 code at entry, "" when unknown; see CountryName
	Events          Dimension = "event"           // custom event name, ranked by sessions having it
)

// ScreenClasses are the screen keys by width in CSS pixels, in order: under
// 576, 576-991, 992-1439, 1440 and wider; "" is an unknown width.
func ScreenClasses() []string { return []string{"<576", "576-991", "992-1439", "1440+"} }

// screenClass buckets a width column (0 = unknown) into ScreenClasses.
func screenClass(w string) string {
	return fmt.Sprintf("multiIf(%[1]s = 0, '', %[1]s < 576, '<576', %[1]s < 992, '576-991', %[1]s < 1440, '992-1439', '1440+')", w)
}

// dimDef says where a dimension's key comes from: an expression over the
// session's latest row in session_versions (session; see sessionsFrom), or
// a column of its events of one kind.
type dimDef struct {
	session     string
	eventColumn string
	eventKind   string
}

var dimensions = map[Dimension]dimDef{
	Pages:           {eventColumn: "pathname", eventKind: "pageview"},
	Events:          {eventColumn: "name", eventKind: "event"},
	EntryPages:      {session: "entry_pathname"},
	ExitPages:       {session: "exit_pathname"},
	Sources:         {session: "referrer_source"},
	Referrers:       {session: "referrer_domain"},
	Channels:        {session: "channel"},
	UTMSources:      {session: "utm_source"},
	UTMMediums:      {session: "utm_medium"},
	UTMCampaigns:    {session: "utm_campaign"},
	UTMTerms:        {session: "utm_term"},
	UTMContents:     {session: "utm_content"},
	Browsers:        {session: "browser"},
	BrowserVersions: {session: "if(browser_version = '', browser, concat(browser, ' ', browser_version))"},
	OSes:            {session: "os"},
	Devices:         {session: "device"},
	Screens:         {session: screenClass("screen_width")},
	StartReasons:    {session: "toString(start_reason)"},
	Countries:       {session: "country"},
}

// ReadsEvents reports whether the dimension's rows are events (Pages,
// Events) rather than sessions: Breakdowns reads those with a query each,
// and all the others with one.
func (d Dimension) ReadsEvents() bool { return dimensions[d].eventColumn != "" }

// oldNames are the dimension names of the first JSON API, still accepted.
var oldNames = map[string]Dimension{
	"pages": Pages, "entry_pages": EntryPages, "exit_pages": ExitPages, "referrers": Referrers, "channels": Channels,
}

// Dimensions lists every dimension in display order.
func Dimensions() []Dimension {
	return []Dimension{Pages, EntryPages, ExitPages, Sources, Referrers, Channels,
		UTMSources, UTMMediums, UTMCampaigns, UTMTerms, UTMContents,
		Browsers, BrowserVersions, OSes, Devices, Screens, Countries, StartReasons, Events}
}

// ParseDimension checks a dimension name from a request. The plural names
// of the first API (pages, entry_pages, exit_pages, referrers, channels)
// are accepted for their dimensions.
func ParseDimension(s string) (Dimension, error) {
	if _, ok := dimensions[Dimension(s)]; ok {
		return Dimension(s), nil
	}
	if d, ok := oldNames[s]; ok {
		return d, nil
	}
	return "", fmt.Errorf("%w: unknown dimension %q (want one of %v)", ErrInvalidQuery, clip(s), Dimensions())
}

// TopPages ranks the pages of q's sessions by pageviews: the pageviews of
// the sessions Summary counts (a bot-flagged session is left out unless
// q.IncludeBots), from their session rows; see pagesQuery.
func (r *Reports) TopPages(ctx context.Context, q Query, limit int) ([]Row, error) {
	return r.Breakdown(ctx, q, Pages, limit)
}

// EntryPages ranks the sessions' entry pages by sessions.
func (r *Reports) EntryPages(ctx context.Context, q Query, limit int) ([]Row, error) {
	return r.Breakdown(ctx, q, EntryPages, limit)
}

// ExitPages ranks the sessions' exit pages by sessions.
func (r *Reports) ExitPages(ctx context.Context, q Query, limit int) ([]Row, error) {
	return r.Breakdown(ctx, q, ExitPages, limit)
}

// TopReferrers ranks the sessions' referrer domains by sessions. Sessions
// without a referrer have the key "".
func (r *Reports) TopReferrers(ctx context.Context, q Query, limit int) ([]Row, error) {
	return r.Breakdown(ctx, q, Referrers, limit)
}

// Channels ranks the sessions' channels by sessions.
func (r *Reports) Channels(ctx context.Context, q Query, limit int) ([]Row, error) {
	return r.Breakdown(ctx, q, Channels, limit)
}

// Breakdown groups q's sessions (or, for Pages and Events, their pageviews
// and custom events) by dim and returns at most limit rows (1..MaxLimit),
// largest first; ties are ordered by key. dim may be an old plural name.
func (r *Reports) Breakdown(ctx context.Context, q Query, dim Dimension, limit int) ([]Row, error) {
	if err := q.validate(); err != nil {
		return nil, err
	}
	if err := checkLimit(limit); err != nil {
		return nil, err
	}
	dim, err := ParseDimension(string(dim))
	if err != nil {
		return nil, err
	}
	cut, split := r.split(q, q.From)
	if split && dimensions[dim].session != "" {
		rows, err := r.breakdownsSplit(ctx, q, cut, []Dimension{dim}, limit)
		if err == nil {
			return rows[0], nil
		}
		if !errors.Is(err, errNotKept) {
			return nil, fmt.Errorf("report: %s of %s: %w", dim, q.Site, err)
		}
	}
	if split && dim == Events && len(q.Filters) == 0 {
		rows, err := r.eventsSplit(ctx, q, cut, limit)
		if !errors.Is(err, errNotKept) {
			if err != nil {
				return nil, fmt.Errorf("report: %s of %s: %w", dim, q.Site, err)
			}
			return rows, nil
		}
	}
	var query string
	var args []any
	if dim == Pages {
		overflowed, err := r.pagesOverflowed(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("report: %s of %s: %w", dim, q.Site, err)
		}
		if split && !overflowed {
			rows, err := r.pagesSplit(ctx, q, cut, limit)
			if !errors.Is(err, errNotKept) {
				if err != nil {
					return nil, fmt.Errorf("report: %s of %s: %w", dim, q.Site, err)
				}
				return rows, nil
			}
		}
		query, args = pagesQuery(q, overflowed, limit)
	} else {
		query, args = breakdownQuery(q, dim, limit)
	}
	out := []Row{}
	err = r.each(ctx, query, args, func(rows store.Rows) error {
		var row Row
		var bounces, durationMs uint64
		if err := rows.Scan(&row.Key, &row.Visitors, &row.Sessions, &row.Pageviews, &row.Events, &bounces, &durationMs); err != nil {
			return err
		}
		if dimensions[dim].session != "" && row.Sessions > 0 {
			row.BounceRate = float64(bounces) / float64(row.Sessions)
			row.AvgDurationSec = float64(durationMs) / 1000 / float64(row.Sessions)
		}
		out = append(out, row)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("report: %s of %s: %w", dim, q.Site, err)
	}
	return out, nil
}

// eventRowsWhere is the WHERE of a report over the rows of q's events
// grouped by an event dimension (dim: Pages or Events): q's sessions' events
// matching cond, bot events left out by their own flag unless asked; with
// filters, the events must belong to the sessions sessionsFrom keeps, and
// the filters on dim itself also select the rows.
func (q Query) eventRowsWhere(dim Dimension, cond string, condArgs ...any) (string, []any) {
	where, args := q.eventsWhere()
	where += "\n  AND " + cond
	args = append(args, condArgs...)
	if !q.IncludeBots {
		where += "\n  AND is_bot = 0"
	}
	for _, f := range q.Filters {
		if f.Dimension == dim {
			c, arg := f.cond(dimensions[dim].eventColumn)
			where += "\n  AND " + c
			args = append(args, arg)
		}
	}
	if len(q.Filters) > 0 {
		in, inArgs := q.sessionIDs()
		where += "\n  AND " + in
		args = append(args, inArgs...)
	}
	return where, args
}

// breakdownQuery builds Breakdown's query for the dimensions other than
// Pages (see pagesQuery): pure, so that it can be shown.
func breakdownQuery(q Query, dim Dimension, limit int) (string, []any) {
	def := dimensions[dim]
	if def.eventColumn != "" {
		return eventRowsQuery(q, dim, limit)
	}
	from, args := q.sessionsFrom(def.session+" AS s_key", colVisitor, colPageviews, colCustom, colDuration)
	return `SELECT s_key, uniqExact(s_visitor) AS visitors, count() AS sessions, sum(s_pageviews) AS pageviews,
       sum(s_custom), countIf(` + bounceCond + `), sum(s_duration)
FROM ` + from + `
GROUP BY s_key
ORDER BY sessions DESC, pageviews DESC, s_key
LIMIT ` + strconv.Itoa(limit), args
}

// eventRowsQuery counts the pageviews (Pages) or custom events (Events) of
// q's sessions by path or name, so that the pages' pageviews add up to
// Summary's. Without filters the sessions are those of eventsWhere, bot
// events left out by their own flag; with filters, the events must also
// belong to the sessions sessionsFrom keeps, and the filters on this very
// dimension also select the rows.
func eventRowsQuery(q Query, dim Dimension, limit int) (string, []any) {
	def := dimensions[dim]
	where, args := q.eventRowsWhere(dim, "kind = '"+def.eventKind+"'")
	rank := "pageviews DESC, sessions DESC"
	pageviews, events := "uniqExact(event_id)", "toUInt64(0)"
	if dim == Events {
		rank = "sessions DESC, events DESC"
		pageviews, events = "toUInt64(0)", "uniqExact(event_id)"
	}
	return `SELECT ` + def.eventColumn + ` AS e_key, uniqExact(visitor_id) AS visitors, uniqExact(session_id) AS sessions,
       ` + pageviews + ` AS pageviews, ` + events + ` AS events, toUInt64(0), toUInt64(0)
FROM events
WHERE ` + where + `
GROUP BY e_key
ORDER BY ` + rank + `, e_key
LIMIT ` + strconv.Itoa(limit), args
}

// Breakdowns is Breakdown for each of dims at once: the same rows, at most
// limit per dimension. The session dimensions among dims are read in one
// scan of q's sessions (each session row counted once per dimension,
// through ARRAY JOIN, then the first limit rows of each by LIMIT BY), so a
// page with several session breakdowns reads session_versions FINAL once
// for all of them; Pages and Events read the events table, one query each.
func (r *Reports) Breakdowns(ctx context.Context, q Query, dims []Dimension, limit int) (map[Dimension][]Row, error) {
	if err := q.validate(); err != nil {
		return nil, err
	}
	if err := checkLimit(limit); err != nil {
		return nil, err
	}
	out := make(map[Dimension][]Row, len(dims))
	var session []Dimension
	for _, d := range dims {
		d, err := ParseDimension(string(d))
		if err != nil {
			return nil, err
		}
		if _, done := out[d]; done {
			continue
		}
		out[d] = []Row{}
		if dimensions[d].session == "" {
			rows, err := r.Breakdown(ctx, q, d, limit)
			if err != nil {
				return nil, err
			}
			out[d] = rows
			continue
		}
		session = append(session, d)
	}
	if len(session) == 0 {
		return out, nil
	}
	if cut, ok := r.split(q, q.From); ok {
		rows, err := r.breakdownsSplit(ctx, q, cut, session, limit)
		if err == nil {
			for i, d := range session {
				out[d] = rows[i]
			}
			return out, nil
		}
		if !errors.Is(err, errNotKept) {
			return nil, fmt.Errorf("report: breakdowns %v of %s: %w", session, q.Site, err)
		}
	}
	query, args := breakdownsQuery(q, session, limit)
	err := r.each(ctx, query, args, func(rows store.Rows) error {
		var i uint8
		var row Row
		var bounces, durationMs uint64
		if err := rows.Scan(&i, &row.Key, &row.Visitors, &row.Sessions, &row.Pageviews, &row.Events, &bounces, &durationMs); err != nil {
			return err
		}
		if int(i) >= len(session) {
			return fmt.Errorf("dimension index %d of %d", i, len(session))
		}
		if row.Sessions > 0 {
			row.BounceRate = float64(bounces) / float64(row.Sessions)
			row.AvgDurationSec = float64(durationMs) / 1000 / float64(row.Sessions)
		}
		out[session[i]] = append(out[session[i]], row)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("report: breakdowns %v of %s: %w", session, q.Site, err)
	}
	return out, nil
}

// breakdownsQuery is Breakdowns' query for the session dimensions dims: the
// rows of breakdownQuery for each, told apart by their index in dims.
func breakdownsQuery(q Query, dims []Dimension, limit int) (string, []any) {
	from, args := breakdownsFrom(q, dims)
	return `SELECT b_dim, b_key, uniqExact(s_visitor) AS visitors, count() AS sessions, sum(s_pageviews) AS pageviews,
       sum(s_custom), countIf(` + bounceCond + `), sum(s_duration)
FROM ` + from + `
GROUP BY b_dim, b_key
ORDER BY b_dim, sessions DESC, pageviews DESC, b_key
LIMIT ` + strconv.Itoa(limit) + ` BY b_dim`, args
}

// breakdownsFrom is what Breakdowns' statements read: q's sessions, each
// once per dimension of dims through ARRAY JOIN (b_dim its index in dims,
// b_key its key), and the arguments.
func breakdownsFrom(q Query, dims []Dimension) (string, []any) {
	cols := []string{colVisitor, colPageviews, colCustom, colDuration}
	index, keys := make([]string, len(dims)), make([]string, len(dims))
	for i, d := range dims {
		alias := "s_key" + strconv.Itoa(i)
		cols = append(cols, "toString("+dimensions[d].session+") AS "+alias)
		index[i], keys[i] = strconv.Itoa(i), alias
	}
	from, args := q.sessionsFrom(cols...)
	return from + `
ARRAY JOIN arrayMap(i -> toUInt8(i), [` + strings.Join(index, ", ") + `]) AS b_dim, [` + strings.Join(keys, ", ") + `] AS b_key`, args
}

// eventsSplit is eventRowsQuery for Events on a ClosedCache (closed.go),
// without filters (with them, the events' sessions are read from
// session_versions, which the mark does not cover): every event name with
// its visitors, sessions and event ids as sets, merged, then ranked as
// eventRowsQuery ranks them. Each count is a union, so an event id or a
// session seen on both sides of the cut counts once. The mark hashes every
// column the statement reads of the rows its WHERE selects.
func (r *Reports) eventsSplit(ctx context.Context, q Query, cut time.Time, limit int) ([]Row, error) {
	def := dimensions[Events]
	g := grouping{sets: 3, stmt: func(part Query) (string, []any) {
		where, args := part.eventRowsWhere(Events, "kind = '"+def.eventKind+"'")
		return groupSetsSelect(def.eventColumn, []string{"visitor_id", "session_id", "event_id"}) +
			"\nFROM events\nWHERE " + where + "\nGROUP BY g_key", args
	}, mark: func(part Query) markStmt {
		where, args := part.eventRowsWhere(Events, "kind = '"+def.eventKind+"'")
		return markStmt{table: "events", where: where, args: args, hash: "cityHash64(reinterpretAsString(event_id), " +
			"reinterpretAsString(visitor_id), reinterpretAsString(session_id), " + def.eventColumn + ")"}
	}}
	groups, err := r.groups(ctx, q, cut, g, 0)
	if err != nil {
		return nil, err
	}
	rows := make([]Row, 0, len(groups))
	for k, v := range groups {
		rows = append(rows, Row{Key: k, Visitors: v[0], Sessions: v[1], Events: v[2]})
	}
	return topRows(rows, limit, func(a, b Row) int {
		return cmp.Or(cmp.Compare(b.Sessions, a.Sessions), cmp.Compare(b.Events, a.Events), strings.Compare(a.Key, b.Key))
	}), nil
}

// breakdownsSplit is Breakdowns' statement on a ClosedCache (closed.go):
// every key of each dimension, merged, then ranked as breakdownsQuery
// ranks them (sessions, pageviews, key), limit rows per dimension.
func (r *Reports) breakdownsSplit(ctx context.Context, q Query, cut time.Time, dims []Dimension, limit int) ([][]Row, error) {
	g := grouping{stmt: func(part Query) (string, []any) {
		from, args := breakdownsFrom(part, dims)
		return groupSelect("concat(toString(b_dim), ':', b_key)", "s_visitor", "count()", "sum(s_pageviews)", "sum(s_custom)",
			"countIf("+bounceCond+")", "sum(s_duration)") + "\nFROM " + from + "\nGROUP BY g_key", args
	}}
	for _, d := range dims {
		g.cols = append(g.cols, dimensions[d].session)
	}
	groups, err := r.groups(ctx, q, cut, g, 5)
	if err != nil {
		return nil, err
	}
	out := make([][]Row, len(dims))
	for k, v := range groups {
		i, key, ok := strings.Cut(k, ":")
		n, err := strconv.Atoi(i)
		if !ok || err != nil || n < 0 || n >= len(dims) {
			return nil, fmt.Errorf("breakdown key %q of %d dimensions", k, len(dims))
		}
		row := Row{Key: key, Visitors: v[0], Sessions: v[1], Pageviews: v[2], Events: v[3]}
		if row.Sessions > 0 {
			row.BounceRate = float64(v[4]) / float64(row.Sessions)
			row.AvgDurationSec = float64(v[5]) / 1000 / float64(row.Sessions)
		}
		out[n] = append(out[n], row)
	}
	for i := range out {
		out[i] = topRows(out[i], limit, func(a, b Row) int {
			return cmp.Or(cmp.Compare(b.Sessions, a.Sessions), cmp.Compare(b.Pageviews, a.Pageviews), strings.Compare(a.Key, b.Key))
		})
	}
	return out, nil
}

// topRows sorts rows by order and keeps the first limit, never nil.
func topRows(rows []Row, limit int, order func(a, b Row) int) []Row {
	slices.SortFunc(rows, order)
	if len(rows) > limit {
		rows = rows[:limit]
	}
	if rows == nil {
		rows = []Row{}
	}
	return rows
}
