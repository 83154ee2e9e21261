package report

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/teller-analytics/teller/pkg/store"
)

// SessionRow is one session with its figures and entry attribution.
type SessionRow struct {
	ID      uuid.UUID
	Visitor uuid.UUID
	// Started is the time of the opening event (UTC, whole seconds).
	Started time.Time
	// DurationMs is last event - first event.
	DurationMs uint64
	// Pageviews and Events are distinct counts (Events includes pageviews,
	// custom and engagement events).
	Pageviews, Events uint64
	// EntryPath is the opening event's path; ExitPath the latest event's.
	EntryPath, ExitPath string
	// Referrer is the referrer domain at entry, "" for none.
	Referrer string
	// Channel, Browser, OS and Device are the entry attribution.
	Channel, Browser, OS, Device string
	// StartReason says why the session started: first_visit, inactivity,
	// max_length, midnight or campaign.
	StartReason string
	// Bounce is true when the session is not engaged (see Summary.BounceRate).
	Bounce bool
	// Source is the named source at entry (Google, Hacker News), "" for none.
	Source string
}

// sessionCols are the merged columns of a SessionRow, and sessionSelect the
// select list over them that scanSession reads.
var (
	sessionCols = []string{colVisitor, colStarted, colDuration, colPageviews, colEvents, colCustom,
		colEntry, colExit, colRefDomain, colChannel, colBrowser, colOS, colDevice, colReason, colSource}
	sessionSelect = `session_id, s_visitor, s_started, s_duration, s_pageviews, s_events,
       s_entry, s_exit, s_referrer_domain, s_channel, s_browser, s_os, s_device, toString(s_reason),
       toUInt8(` + bounceCond + `), s_source`
)

func scanSession(rows store.Rows) (SessionRow, error) {
	var s SessionRow
	var bounce uint8
	err := rows.Scan(&s.ID, &s.Visitor, &s.Started, &s.DurationMs, &s.Pageviews, &s.Events,
		&s.EntryPath, &s.ExitPath, &s.Referrer, &s.Channel, &s.Browser, &s.OS, &s.Device, &s.StartReason, &bounce, &s.Source)
	s.Started = s.Started.UTC()
	s.Bounce = bounce == 1
	return s, err
}

// Sessions lists q's sessions, latest start first, at most limit (1..MaxLimit).
func (r *Reports) Sessions(ctx context.Context, q Query, limit int) ([]SessionRow, error) {
	page, err := r.SessionList(ctx, q, limit, "")
	return page.Rows, err
}

// SessionPage is one page of the session list.
type SessionPage struct {
	Rows []SessionRow
	// Next is the cursor of the following page, "" when there is none.
	Next string
}

// SessionList lists q's sessions latest start first (ties by id), at most
// limit (1..MaxLimit) from cursor on: "" for the first page, else the Next
// of the previous page. The order is stable, so paging never repeats or
// skips a session that was there when the first page was read.
func (r *Reports) SessionList(ctx context.Context, q Query, limit int, cursor string) (SessionPage, error) {
	if err := q.validate(); err != nil {
		return SessionPage{}, err
	}
	if err := checkLimit(limit); err != nil {
		return SessionPage{}, err
	}
	var after *sessionCursor
	if cursor != "" {
		c, err := parseCursor(cursor)
		if err != nil {
			return SessionPage{}, err
		}
		after = &c
	}
	// A page shows the latest sessions, which nearly always started in the
	// range's (or the cursor's) last days: reading those first spares
	// FINAL the rest of the range. Every session of the window sorts before
	// every session outside it, so a full page from the window is exactly
	// the full range's page; a short one is read again over the whole range.
	page := SessionPage{Rows: []SessionRow{}}
	recent, narrowed := q.recentSessions(after)
	rows, err := r.sessionPage(ctx, recent, limit+1, after)
	if err == nil && narrowed && len(rows) <= limit {
		rows, err = r.sessionPage(ctx, q, limit+1, after)
	}
	if err != nil {
		return SessionPage{}, fmt.Errorf("report: sessions of %s: %w", q.Site, err)
	}
	page.Rows = append(page.Rows, rows...)
	if len(page.Rows) > limit {
		page.Rows = page.Rows[:limit]
		last := page.Rows[limit-1]
		page.Next = sessionCursor{started: last.Started.Unix(), id: last.ID}.String()
	}
	return page, nil
}

// recentSpan is how far back from the range's end (or the cursor) the
// session list reads first. Two days hold a page of sessions on any site
// with traffic worth listing; a quieter site costs one more query.
const recentSpan = 48 * time.Hour

// recentSessions is q narrowed to the recentSpan before its end, or before
// the cursor when that is earlier, and whether that narrowed anything.
func (q Query) recentSessions(after *sessionCursor) (Query, bool) {
	end := q.To
	if after != nil {
		if c := time.Unix(after.started+1, 0); c.Before(end) {
			end = c
		}
	}
	from := end.Add(-recentSpan)
	if !from.After(q.From) {
		return q, false
	}
	n := q
	n.From = from
	return n, true
}

// sessionPage runs sessionListQuery for q's sessions after the cursor, at
// most limit.
func (r *Reports) sessionPage(ctx context.Context, q Query, limit int, after *sessionCursor) ([]SessionRow, error) {
	query, args := sessionListQuery(q, limit, after, "")
	var out []SessionRow
	err := r.each(ctx, query, args, func(rows store.Rows) error {
		s, err := scanSession(rows)
		out = append(out, s)
		return err
	})
	return out, err
}

// sessionListQuery builds the session list: q's sessions after the cursor
// (if any), each matching where (a condition on columns every version of a
// session shares, e.g. one visitor), latest first, at most limit.
//
// One read of the sessions through FINAL, sorted and cut by LIMIT. Session
// rows are plain columns, so reading all of a row costs about what reading
// its start and bot flag did; the two-step form of the aggregate-state days
// (choose the page's ids, then read only those rows) read FINAL twice and
// cost twice the server CPU (docs/dashboard-speed.md, section 12).
func sessionListQuery(q Query, limit int, after *sessionCursor, where string, whereArgs ...any) (string, []any) {
	from, args := q.sessionsWhere(where, whereArgs, sessionCols...)
	query := "SELECT " + sessionSelect + "\nFROM " + from
	if after != nil {
		query += "\nWHERE s_started < toDateTime(?) OR (s_started = toDateTime(?) AND session_id > toUUID(?))"
		args = append(args, after.started, after.started, after.id.String())
	}
	return query + "\nORDER BY s_started DESC, session_id\nLIMIT " + strconv.Itoa(limit), args
}

// sessionCursor is where a page of the session list ends: the last row's
// start and id.
type sessionCursor struct {
	started int64
	id      uuid.UUID
}

func (c sessionCursor) String() string { return strconv.FormatInt(c.started, 10) + "_" + c.id.String() }

func parseCursor(s string) (sessionCursor, error) {
	bad := fmt.Errorf("%w: cursor %q is not one this report gave", ErrInvalidQuery, clip(s))
	sec, id, ok := strings.Cut(s, "_")
	if !ok {
		return sessionCursor{}, bad
	}
	n, err := strconv.ParseInt(sec, 10, 64)
	if err != nil || n < 0 {
		return sessionCursor{}, bad
	}
	u, err := uuid.Parse(id)
	if err != nil {
		return sessionCursor{}, bad
	}
	return sessionCursor{started: n, id: u}, nil
}

// ParseID reads a visitor or session id from a URL: a UUID, or
// ErrInvalidQuery.
func ParseID(s string) (uuid.UUID, error) {
	if len(s) != 36 {
		return uuid.UUID{}, fmt.Errorf("%w: %q is not a UUID", ErrInvalidQuery, clip(s))
	}
	u, err := uuid.Parse(s)
	if err != nil {
		return uuid.UUID{}, fmt.Errorf("%w: %q is not a UUID", ErrInvalidQuery, clip(s))
	}
	return u, nil
}

// PathEvent is one event of a session's path.
type PathEvent struct {
	ID uuid.UUID
	// At is when the collector received it (UTC, milliseconds).
	At time.Time
	// SincePrevMs is the time since the previous event of the session (0
	// for the first); SinceStartMs since the session's first event.
	SincePrevMs, SinceStartMs uint64
	// Kind is pageview, event or engagement; Name the custom event's name.
	Kind, Name  string
	Path, Title string
	// Props are a custom event's properties, [key, value] in order.
	Props       [][2]string
	EngagedMs   uint32
	ScrollDepth uint8
	// Late and Bridging are the sessionizer's flags: arrived later than the
	// allowed disorder; fitted two sessions and joined the nearer one.
	Late, Bridging bool
}

// SessionDetail is one session with its path.
type SessionDetail struct {
	Session SessionRow
	Events  []PathEvent
}

// MaxPathEvents bounds the events of one session's path.
const MaxPathEvents = 5000

// SessionPath returns the session id of q.Site that started in q's range,
// with its events in time order (ties by id). Filters and the bot rule do
// not apply: one asks for this session. found is false when there is none.
func (r *Reports) SessionPath(ctx context.Context, q Query, id uuid.UUID) (d SessionDetail, found bool, err error) {
	q.Filters, q.IncludeBots = nil, true
	if err := q.validate(); err != nil {
		return SessionDetail{}, false, err
	}
	where, args, matched, err := r.onSessionDays(ctx, q, "session_id = toUUID(?)", id.String())
	if err != nil || !matched {
		return SessionDetail{}, false, wrapErr("session "+id.String()+" of "+q.Site, err)
	}
	query, args := sessionListQuery(q, 1, nil, where, args...)
	err = r.each(ctx, query, args, func(rows store.Rows) error {
		s, err := scanSession(rows)
		d.Session, found = s, true
		return err
	})
	if err != nil || !found {
		return SessionDetail{}, false, wrapErr("session "+id.String()+" of "+q.Site, err)
	}
	// Its events are those of the sessions that started in its second: a
	// few days of the events' key instead of the whole range's.
	own := q
	own.From = d.Session.Started.Truncate(time.Second)
	own.To = own.From.Add(time.Second)
	where, wargs := own.eventsWhere()
	query = `SELECT event_id, any(ts_ms) AS at, toString(any(kind)), any(name), any(pathname), any(title),
       any(engaged_ms), any(scroll_depth), any(is_late), any(is_bridging)
FROM events
WHERE ` + where + `
  AND session_id = toUUID(?)
GROUP BY event_id
ORDER BY at, event_id
LIMIT ` + strconv.Itoa(MaxPathEvents)
	var prev, first uint64
	d.Events = []PathEvent{}
	err = r.each(ctx, query, append(wargs, id.String()), func(rows store.Rows) error {
		var e PathEvent
		var ms uint64
		var late, bridging uint8
		if err := rows.Scan(&e.ID, &ms, &e.Kind, &e.Name, &e.Path, &e.Title,
			&e.EngagedMs, &e.ScrollDepth, &late, &bridging); err != nil {
			return err
		}
		if len(d.Events) == 0 {
			prev, first = ms, ms
		}
		e.At = time.UnixMilli(int64(ms)).UTC()
		e.SincePrevMs, e.SinceStartMs = ms-prev, ms-first
		prev = ms
		e.Late, e.Bridging = late == 1, bridging == 1
		d.Events = append(d.Events, e)
		return nil
	})
	if err != nil {
		return SessionDetail{}, false, wrapErr("path of session "+id.String(), err)
	}
	// Properties come one per row (ARRAY JOIN), so that no driver has to
	// scan arrays; i keeps their order and collapses duplicate rows.
	query = `SELECT event_id, i, any(k), any(v)
FROM events
ARRAY JOIN props_keys AS k, props_values AS v, arrayEnumerate(props_keys) AS i
WHERE ` + where + `
  AND session_id = toUUID(?)
GROUP BY event_id, i
ORDER BY event_id, i`
	index := make(map[uuid.UUID]int, len(d.Events))
	for i, e := range d.Events {
		index[e.ID] = i
	}
	err = r.each(ctx, query, append(wargs, id.String()), func(rows store.Rows) error {
		var ev uuid.UUID
		var i uint32
		var k, v string
		if err := rows.Scan(&ev, &i, &k, &v); err != nil {
			return err
		}
		if j, ok := index[ev]; ok {
			d.Events[j].Props = append(d.Events[j].Props, [2]string{k, v})
		}
		return nil
	})
	if err != nil {
		return SessionDetail{}, false, wrapErr("properties of session "+id.String(), err)
	}
	return d, true, nil
}

// VisitorSessions lists one visitor's sessions of q.Site that started in
// q's range, latest first, at most limit (1..MaxLimit). Filters and the bot
// rule do not apply: one asks for this visitor.
func (r *Reports) VisitorSessions(ctx context.Context, q Query, visitor uuid.UUID, limit int) ([]SessionRow, error) {
	q.Filters, q.IncludeBots = nil, true
	if err := q.validate(); err != nil {
		return nil, err
	}
	if err := checkLimit(limit); err != nil {
		return nil, err
	}
	out := []SessionRow{}
	where, args, matched, err := r.onSessionDays(ctx, q, "visitor_id = toUUID(?)", visitor.String())
	if err != nil || !matched {
		return out, wrapErr("sessions of visitor "+visitor.String(), err)
	}
	query, args := sessionListQuery(q, limit, nil, where, args...)
	err = r.each(ctx, query, args, func(rows store.Rows) error {
		s, err := scanSession(rows)
		out = append(out, s)
		return err
	})
	if err != nil {
		return nil, wrapErr("sessions of visitor "+visitor.String(), err)
	}
	return out, nil
}

// onSessionDays narrows cond (on columns every version of a session
// shares, e.g. its id or visitor) to the session days on which q's
// sessions match it: found first without FINAL from the key's and cond's
// columns alone, so that the FINAL read that follows covers those days of
// the key instead of the whole range (one session's path read 30 days of
// sessions before). matched is false when no session matches.
func (r *Reports) onSessionDays(ctx context.Context, q Query, cond string, condArgs ...any) (where string, args []any, matched bool, err error) {
	rows, rowArgs := q.sessionRows(q.sessionDays())
	query := "SELECT DISTINCT toString(session_date)\nFROM session_versions\nWHERE " + rows + "\n    AND " + cond + "\nORDER BY 1"
	var dates []any
	err = r.each(ctx, query, append(rowArgs, condArgs...),
		func(rows store.Rows) error {
			var d string
			if err := rows.Scan(&d); err != nil {
				return err
			}
			dates = append(dates, d)
			return nil
		})
	if err != nil || len(dates) == 0 {
		return "", nil, false, err
	}
	in := "session_date IN (" + listOf("toDate(?)", len(dates)) + ")"
	return cond + " AND " + in, append(append([]any(nil), condArgs...), dates...), true, nil
}

func wrapErr(what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("report: %s: %w", what, err)
}
