package report

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/teller-analytics/teller/pkg/store"
)

// GoalKind is what a goal or a funnel step matches.
type GoalKind string

// The goal kinds.
const (
	// GoalPage matches a pageview whose path is the pattern, or starts with
	// it when the pattern ends in * ("/blog/*").
	GoalPage GoalKind = "page"
	// GoalEvent matches a custom event of that name.
	GoalEvent GoalKind = "event"
)

// Bounds on goals and funnels.
const (
	MaxGoals       = 100 // goals of one site
	MaxGoalName    = 100 // bytes
	MaxGoalPattern = 500 // bytes
	MinFunnelSteps = 2
	MaxFunnelSteps = 8
)

// Goal is a site's conversion: sessions with a matching pageview or event
// convert.
type Goal struct {
	// ID is unique within the site; SaveGoal gives a new goal one.
	ID string
	// Site is the site id.
	Site string
	// Name is what the reports show.
	Name string
	Kind GoalKind
	// Pattern is, for GoalPage, an exact path or a prefix ending in *; for
	// GoalEvent, the event name.
	Pattern string
}

// Validate checks a goal before it is saved or used: every field bounded,
// a known kind, a page pattern that is a path with at most a final *.
func (g Goal) Validate() error {
	switch {
	case g.Site == "":
		return fmt.Errorf("%w: goal: site is empty", ErrInvalidQuery)
	case strings.TrimSpace(g.Name) == "" || len(g.Name) > MaxGoalName || !utf8.ValidString(g.Name):
		return fmt.Errorf("%w: goal name must be 1 to %d bytes of text", ErrInvalidQuery, MaxGoalName)
	case len(g.ID) > 64:
		return fmt.Errorf("%w: goal id is longer than 64 bytes", ErrInvalidQuery)
	}
	return FunnelStep{Kind: g.Kind, Pattern: g.Pattern}.Validate()
}

// FunnelStep is one step of a funnel: a page pattern or an event name, as
// in a Goal.
type FunnelStep struct {
	Kind    GoalKind
	Pattern string
}

// Validate checks the kind and the pattern.
func (s FunnelStep) Validate() error {
	if s.Pattern == "" || len(s.Pattern) > MaxGoalPattern || !utf8.ValidString(s.Pattern) || strings.IndexByte(s.Pattern, 0) >= 0 {
		return fmt.Errorf("%w: pattern must be 1 to %d bytes of text", ErrInvalidQuery, MaxGoalPattern)
	}
	switch s.Kind {
	case GoalPage:
		if !strings.HasPrefix(s.Pattern, "/") {
			return fmt.Errorf("%w: page pattern %q must start with /", ErrInvalidQuery, clip(s.Pattern))
		}
		if i := strings.IndexByte(s.Pattern, '*'); i >= 0 && i != len(s.Pattern)-1 {
			return fmt.Errorf("%w: page pattern %q: * may only end it (a prefix)", ErrInvalidQuery, clip(s.Pattern))
		}
	case GoalEvent:
	default:
		return fmt.Errorf("%w: goal kind %q: want page or event", ErrInvalidQuery, clip(string(s.Kind)))
	}
	return nil
}

// cond is the SQL condition "this event matches" over the events table.
func (s FunnelStep) cond() (string, any) {
	if s.Kind == GoalEvent {
		return "(kind = 'event' AND name = ?)", s.Pattern
	}
	if prefix, ok := strings.CutSuffix(s.Pattern, "*"); ok {
		return "(kind = 'pageview' AND position(pathname, ?) = 1)", prefix
	}
	return "(kind = 'pageview' AND pathname = ?)", s.Pattern
}

// GoalStore keeps the goals of each site. The dashboard calls it; *GoalDB
// implements it over ClickHouse (table site_goals).
type GoalStore interface {
	// ListGoals returns the site's current goals, oldest first.
	ListGoals(ctx context.Context, site string) ([]Goal, error)
	// SaveGoal validates g and saves it; an empty ID makes a new goal. It
	// returns the goal as saved.
	SaveGoal(ctx context.Context, g Goal) (Goal, error)
	// DeleteGoal removes a goal; removing one that is not there is no error.
	DeleteGoal(ctx context.Context, site, id string) error
}

// GoalDB is the GoalStore in ClickHouse. Every change is a new row of
// site_goals with a larger version; the largest wins, so a write that is
// retried changes nothing.
type GoalDB struct {
	q store.Querier

	mu   sync.Mutex
	last uint64 // last version written, so that versions always grow
}

var _ GoalStore = (*GoalDB)(nil)

// NewGoalStore returns the goal store of the database q (a *store.DB).
func NewGoalStore(q store.Querier) *GoalDB { return &GoalDB{q: q} }

func (s *GoalDB) version() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := uint64(time.Now().UnixMilli())
	if v <= s.last {
		v = s.last + 1
	}
	s.last = v
	return v
}

// ListGoals returns the site's current goals, oldest first.
func (s *GoalDB) ListGoals(ctx context.Context, site string) ([]Goal, error) {
	rows, err := s.q.Query(ctx, `SELECT goal_id, argMax(name, updated_ms), argMax(kind, updated_ms), argMax(pattern, updated_ms),
       min(created_at), argMax(deleted, updated_ms) AS del
FROM site_goals
WHERE site_id = ?
GROUP BY goal_id
HAVING del = 0
ORDER BY min(updated_ms), goal_id`, site)
	if err != nil {
		return nil, fmt.Errorf("report: goals of %s: %w", site, err)
	}
	defer rows.Close()
	out := []Goal{}
	for rows.Next() {
		g := Goal{Site: site}
		var kind string // clickhouse-go scans String into string, not into GoalKind
		var created time.Time
		var del uint8
		if err := rows.Scan(&g.ID, &g.Name, &kind, &g.Pattern, &created, &del); err != nil {
			return nil, fmt.Errorf("report: goals of %s: %w", site, err)
		}
		g.Kind = GoalKind(kind)
		out = append(out, g)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("report: goals of %s: %w", site, err)
	}
	return out, nil
}

// SaveGoal validates g and saves it; an empty ID makes a new goal.
func (s *GoalDB) SaveGoal(ctx context.Context, g Goal) (Goal, error) {
	if err := g.Validate(); err != nil {
		return Goal{}, err
	}
	created := time.Now().UTC()
	current, err := s.ListGoals(ctx, g.Site)
	if err != nil {
		return Goal{}, err
	}
	if g.ID == "" {
		if len(current) >= MaxGoals {
			return Goal{}, fmt.Errorf("%w: site %s has %d goals, the most it may have", ErrInvalidQuery, g.Site, MaxGoals)
		}
		var b [8]byte
		if _, err := rand.Read(b[:]); err != nil {
			return Goal{}, fmt.Errorf("report: new goal id: %w", err)
		}
		g.ID = hex.EncodeToString(b[:])
	}
	if err := s.write(ctx, g, created, 0); err != nil {
		return Goal{}, err
	}
	return g, nil
}

// DeleteGoal removes a goal.
func (s *GoalDB) DeleteGoal(ctx context.Context, site, id string) error {
	if site == "" || id == "" || len(id) > 64 {
		return fmt.Errorf("%w: goal: site and id are required", ErrInvalidQuery)
	}
	return s.write(ctx, Goal{Site: site, ID: id}, time.Now().UTC(), 1)
}

// write inserts one version of a goal. INSERT ... SELECT with bound values
// is the form that works on ClickHouse 18.16 over the native protocol.
func (s *GoalDB) write(ctx context.Context, g Goal, created time.Time, deleted uint8) error {
	err := s.q.Exec(ctx, `INSERT INTO site_goals (site_id, goal_id, name, kind, pattern, created_at, updated_ms, deleted)
SELECT ?, ?, ?, ?, ?, toDateTime(?), ?, ?`,
		g.Site, g.ID, g.Name, string(g.Kind), g.Pattern, created.Unix(), s.version(), deleted)
	if err != nil {
		return fmt.Errorf("report: save goal %s of %s: %w", g.ID, g.Site, err)
	}
	return nil
}

// GoalRow is a goal's figures over a query's sessions.
type GoalRow struct {
	Goal Goal
	// Visitors is the number of distinct visitors who converted.
	Visitors uint64
	// Conversions is the number of sessions with a matching event.
	Conversions uint64
	// Rate is Conversions / the query's sessions (0..1).
	Rate float64
}

// GoalConversions computes each goal's conversions over q's sessions (their
// filters applied), in the order given.
func (r *Reports) GoalConversions(ctx context.Context, q Query, goals []Goal) ([]GoalRow, error) {
	if err := q.validate(); err != nil {
		return nil, err
	}
	if len(goals) > MaxGoals {
		return nil, fmt.Errorf("%w: %d goals, at most %d", ErrInvalidQuery, len(goals), MaxGoals)
	}
	out := make([]GoalRow, len(goals))
	if len(goals) == 0 {
		return out, nil
	}
	for i, g := range goals {
		if err := (FunnelStep{Kind: g.Kind, Pattern: g.Pattern}).Validate(); err != nil {
			return nil, err
		}
		out[i].Goal = g
	}
	sum, err := r.Summary(ctx, q)
	if err != nil {
		return nil, err
	}
	var sel []string
	var args []any
	for _, g := range goals {
		c, arg := FunnelStep{Kind: g.Kind, Pattern: g.Pattern}.cond()
		sel = append(sel, "uniqExactIf(visitor_id, "+c+")", "uniqExactIf(session_id, "+c+")")
		args = append(args, arg, arg)
	}
	where, wargs := q.eventsWhere()
	in, inArgs := q.sessionIDs()
	query := "SELECT " + strings.Join(sel, ",\n       ") + "\nFROM events\nWHERE " + where + "\n  AND " + in
	args = append(append(args, wargs...), inArgs...)
	err = r.each(ctx, query, args, func(rows store.Rows) error {
		dest := make([]any, 0, 2*len(out))
		for i := range out {
			dest = append(dest, &out[i].Visitors, &out[i].Conversions)
		}
		return rows.Scan(dest...)
	})
	if err != nil {
		return nil, fmt.Errorf("report: goals of %s: %w", q.Site, err)
	}
	for i := range out {
		if sum.Sessions > 0 {
			out[i].Rate = float64(out[i].Conversions) / float64(sum.Sessions)
		}
	}
	return out, nil
}

// FunnelRow is one step of a funnel.
type FunnelRow struct {
	Step FunnelStep
	// Sessions is the number of sessions that reached this step after all
	// the earlier ones, in order.
	Sessions uint64
	// Conversion is Sessions / the query's sessions (0..1).
	Conversion float64
	// DropOff is how many sessions of the previous step (of all the
	// query's sessions for the first step) did not reach this one, and
	// DropOffRate that share of them (0..1).
	DropOff     uint64
	DropOffRate float64
}

// funnelWindowMs is how far apart a funnel's first and last step may be:
// within a session, whose events span at most the maximum session length
// (24 h by default) plus late events.
const funnelWindowMs = uint64(sessionSpan / time.Millisecond)

// funnelClock is the time windowFunnel orders a session's events by. 18.16
// takes only DateTime or UInt32, and whole seconds would leave events of
// the same second unordered, so it is milliseconds since a day before the
// session's start (a late event may precede it): a session spans less than
// sessionSpan, which fits UInt32 milliseconds with room to spare.
const funnelClock = "toUInt32(ts_ms + 86400000 - toUInt64(session_started_at) * 1000)"

// Funnel follows q's sessions through steps (MinFunnelSteps to
// MaxFunnelSteps), in order within each session (windowFunnel).
func (r *Reports) Funnel(ctx context.Context, q Query, steps []FunnelStep) ([]FunnelRow, error) {
	if err := q.validate(); err != nil {
		return nil, err
	}
	if len(steps) < MinFunnelSteps || len(steps) > MaxFunnelSteps {
		return nil, fmt.Errorf("%w: a funnel has %d to %d steps, not %d", ErrInvalidQuery, MinFunnelSteps, MaxFunnelSteps, len(steps))
	}
	var conds []string
	var args []any
	for _, s := range steps {
		if err := s.Validate(); err != nil {
			return nil, err
		}
		c, arg := s.cond()
		conds = append(conds, c)
		args = append(args, arg)
	}
	where, wargs := q.eventsWhere()
	in, inArgs := q.sessionIDs()
	query := `SELECT level, count()
FROM (SELECT session_id, windowFunnel(` + strconv.FormatUint(funnelWindowMs, 10) + `)(` + funnelClock + `, ` + strings.Join(conds, ", ") + `) AS level
      FROM events
      WHERE ` + where + `
        AND ` + in + `
      GROUP BY session_id)
GROUP BY level`
	args = append(append(args, wargs...), inArgs...)
	atLevel := make([]uint64, len(steps)+1)
	err := r.each(ctx, query, args, func(rows store.Rows) error {
		var level uint8
		var n uint64
		if err := rows.Scan(&level, &n); err != nil {
			return err
		}
		if int(level) < len(atLevel) {
			atLevel[level] += n
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("report: funnel of %s: %w", q.Site, err)
	}
	var total uint64
	for _, n := range atLevel {
		total += n
	}
	out := make([]FunnelRow, len(steps))
	prev := total
	for i := range steps {
		var reached uint64
		for _, n := range atLevel[i+1:] {
			reached += n
		}
		row := FunnelRow{Step: steps[i], Sessions: reached, DropOff: prev - reached}
		if total > 0 {
			row.Conversion = float64(reached) / float64(total)
		}
		if prev > 0 {
			row.DropOffRate = float64(row.DropOff) / float64(prev)
		}
		out[i], prev = row, reached
	}
	return out, nil
}
