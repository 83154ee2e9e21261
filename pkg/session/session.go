// Package session owns the sessionization rules: which session an event
// belongs to, why a session started, and which events are late or bridging;
// and each open session's figures (figures.go: counts, entry from the
// earliest event, exit, pages, the ids it holds, so a redelivery changes
// nothing), handed out as deterministic versions for session_versions; the
// partition-wide record of closed sessions' event ids (recent.go), so a
// redelivery after close counts once too; and the partition's protections:
// events dated ahead of their Kafka record are quarantined, and the open
// sessions are capped.
//
// It is pure: a Partition is fed events in log order and keeps its own clock
// (the largest event time seen), so every decision depends only on the log,
// the rules and the saved state, and a replay reproduces it exactly. It does
// no I/O, reads no wall clock, calls back into nothing and is not safe for
// concurrent use (one Partition per Kafka partition). The README's
// "Sessions" section states the rules for users; session_test.go holds them
// scenario by scenario.
//
// Everything a decision needs of an event comes in its Input, including the
// site's time zone for the midnight rule and the split rules the site sets
// for itself (SiteOptions), which the caller resolves once (pkg/site's
// Registry does so when it loads the sites). Changing a site's time zone or
// its options, like changing any of the Rules, is a rule change: it applies to
// events sessionized from then on, open sessions included, and to history
// only by re-sessionizing (replaying the topic into a fresh table set). The
// rules are not part of a checkpoint, so a restart with other rules keeps
// the open sessions and applies the new rules to their next events.
package session

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
	"unsafe"

	"github.com/google/uuid"
)

// The default rules. The sessionizer's flags and DefaultRules take them
// from here, and a sessionizer test ties the README's table to the flags.
const (
	DefaultGap       = 30 * time.Minute
	DefaultMaxLength = 24 * time.Hour
	DefaultDisorder  = 2 * time.Minute
	// DefaultMaxClockSkew is how far an event's time may be ahead of its
	// Kafka record's timestamp before it is quarantined.
	DefaultMaxClockSkew = time.Minute
	// DefaultMaxOpenSessions bounds a partition's open sessions: about
	// 150 B each (BenchmarkHeapPerOpenSession), so some 150 MB.
	DefaultMaxOpenSessions = 1_000_000
	// DefaultRememberIDs bounds the partition-wide record of the event ids
	// of closed sessions (recent.go): 8 B each in a checkpoint, 12 to 24 B
	// in memory.
	DefaultRememberIDs = 2_000_000
)

// Rules configure sessionization. Start from DefaultRules: every value set
// is honoured as it is (a zero Disorder means no disorder is allowed), and
// Validate refuses the impossible ones.
type Rules struct {
	// Gap is the inactivity that ends a session (DefaultGap). An event within
	// Gap of a session's first or last event joins it, boundaries inclusive.
	// It must be positive.
	Gap time.Duration
	// MaxLength starts a new session once a session is this old
	// (DefaultMaxLength). It must be positive.
	MaxLength time.Duration
	// Disorder is how far behind the partition clock an event may arrive
	// before it counts as late (DefaultDisorder). Zero flags every event
	// older than the clock; it must not be negative.
	Disorder time.Duration
	// SplitAtMidnight starts a new session at midnight in the site's zone
	// (Input.Zone).
	SplitAtMidnight bool
	// SplitOnCampaign starts a new session when an event carries explicit
	// campaign parameters that differ from the session's entry campaign.
	SplitOnCampaign bool
	// MaxClockSkew is how far an event's time may be ahead of its Kafka
	// record's timestamp (Input.RecordMs) before the event is quarantined
	// (DefaultMaxClockSkew): it is not assigned and does not move the
	// clock. Zero refuses any event ahead of its record; it must not be
	// negative.
	MaxClockSkew time.Duration
	// MaxOpenSessions bounds the sessions a partition holds
	// (DefaultMaxOpenSessions). At the cap, the least recently active
	// sixteenth of them (smallest latest event time) is closed early, and
	// counted; no event is lost: a later event of such a session opens a
	// new one. 0 means no cap; it must not be negative.
	MaxOpenSessions int
	// RememberIDs bounds the record of the event ids of closed sessions
	// that catches a redelivery after its session closed
	// (DefaultRememberIDs). The record keeps ids for a day after their
	// session closed (RememberFor); past the bound the oldest are
	// forgotten first and counted. 0 keeps none; it must not be negative.
	RememberIDs int
	// MaxSiteGap is the longest gap a site may set for itself
	// (SiteOptions.Gap); a longer one is cut to it. Sessions stay in memory
	// until the clock passes their latest event by the larger of Gap and
	// MaxSiteGap, plus Disorder, so it bounds memory as Gap does. 0 (the
	// default) means Gap: a site may only shorten it. It must not be
	// negative.
	MaxSiteGap time.Duration
}

// DefaultRules returns the default rules: no midnight or campaign split.
func DefaultRules() Rules {
	return Rules{Gap: DefaultGap, MaxLength: DefaultMaxLength, Disorder: DefaultDisorder,
		MaxClockSkew: DefaultMaxClockSkew, MaxOpenSessions: DefaultMaxOpenSessions, RememberIDs: DefaultRememberIDs}
}

// RuleError says which of the Rules is impossible.
type RuleError struct {
	// Field is the Rules field: "Gap", "MaxLength", "Disorder",
	// "MaxClockSkew", "MaxOpenSessions", "RememberIDs" or "MaxSiteGap".
	Field string
	// Want is the condition the value fails, e.g. "> 0".
	Want string
	// Value is the field's value: a time.Duration or an int.
	Value any
}

func (e *RuleError) Error() string {
	return fmt.Sprintf("session rules: %s must be %s, got %v", e.Field, e.Want, e.Value)
}

// Validate returns a *RuleError for each impossible value, joined, or nil.
func (r Rules) Validate() error {
	var errs []error
	if r.Gap <= 0 {
		errs = append(errs, &RuleError{Field: "Gap", Want: "> 0", Value: r.Gap})
	}
	if r.MaxLength <= 0 {
		errs = append(errs, &RuleError{Field: "MaxLength", Want: "> 0", Value: r.MaxLength})
	}
	if r.Disorder < 0 {
		errs = append(errs, &RuleError{Field: "Disorder", Want: ">= 0", Value: r.Disorder})
	}
	if r.MaxClockSkew < 0 {
		errs = append(errs, &RuleError{Field: "MaxClockSkew", Want: ">= 0", Value: r.MaxClockSkew})
	}
	if r.MaxOpenSessions < 0 {
		errs = append(errs, &RuleError{Field: "MaxOpenSessions", Want: ">= 0", Value: r.MaxOpenSessions})
	}
	if r.RememberIDs < 0 {
		errs = append(errs, &RuleError{Field: "RememberIDs", Want: ">= 0", Value: r.RememberIDs})
	}
	if r.MaxSiteGap < 0 {
		errs = append(errs, &RuleError{Field: "MaxSiteGap", Want: ">= 0", Value: r.MaxSiteGap})
	}
	return errors.Join(errs...)
}

// Switch is a site's choice for one of the optional split rules.
type Switch uint8

const (
	// Inherit follows the partition's Rules (the sessionizer's flag).
	Inherit Switch = iota
	// Off never applies the rule to the site's events.
	Off
	// On always applies it.
	On
)

// Or is the switch's decision, def (the partition's rule) for Inherit.
func (s Switch) Or(def bool) bool {
	switch s {
	case Off:
		return false
	case On:
		return true
	}
	return def
}

// SiteOptions are the rules a site sets for itself, applied per event
// (Input.Options) over the partition's Rules. They decide whether an event
// may join a session, never how long a session stays in memory: that is the
// partition's Gap or MaxSiteGap, whatever each site chooses.
type SiteOptions struct {
	// Gap is the site's inactivity gap, 0 for Rules.Gap; one longer than
	// the larger of Rules.Gap and Rules.MaxSiteGap is cut to it.
	Gap time.Duration
	// SplitAtMidnight overrides Rules.SplitAtMidnight for the site.
	SplitAtMidnight Switch
	// SplitOnCampaign overrides Rules.SplitOnCampaign for the site.
	SplitOnCampaign Switch
}

// Reason says why a session started.
type Reason uint8

const (
	FirstVisit Reason = iota + 1 // the visitor's first event (new cookie)
	Inactivity                   // the previous session's gap was exceeded
	MaxLength                    // the previous session reached the maximum length
	Midnight                     // the day changed in the site's time zone (option)
	Campaign                     // the campaign changed (option)
)

var reasonNames = [...]string{"", "first_visit", "inactivity", "max_length", "midnight", "campaign"}

// String is the name stored in ClickHouse (events.session_start_reason).
func (r Reason) String() string {
	if int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return "unknown"
}

// Input is what the rules need to know of an event.
type Input struct {
	EventID uuid.UUID
	Site    string
	Visitor uuid.UUID
	// TimeMs is the event time, Unix milliseconds (the collector's receive time).
	TimeMs int64
	// RecordMs is the timestamp of the Kafka record that carried the event,
	// Unix milliseconds: an event more than Rules.MaxClockSkew ahead of it
	// is quarantined. 0 when unknown (no record, as in tests of the rules):
	// no check.
	RecordMs int64
	// NewVisitor is true when the collector minted the visitor id for this
	// request: a session it opens is a first visit.
	NewVisitor bool
	// CampaignKey identifies the event's explicit campaign parameters
	// (CampaignKey func); 0 when it has none.
	CampaignKey uint64
	// Zone is the site's time zone for the midnight rule; nil means UTC.
	// Give every event of a site the same zone: a different one is a rule
	// change (see the package doc).
	Zone *time.Location
	// Options are the split rules the event's site sets for itself; the
	// zero value follows the partition's Rules. Like Zone, a change is a
	// rule change (see the package doc).
	Options SiteOptions
	// Facts are what the session's figures take from the event; nil counts
	// it as an event of KindOther with empty attributes.
	Facts *Facts
}

// Assignment is the decision for one event.
type Assignment struct {
	SessionID uuid.UUID
	// StartMs is the time of the event that opened the session.
	StartMs int64
	// Reason is why the session started.
	Reason Reason
	// Opens is true for the event that opened the session.
	Opens bool
	// Late is true when the event was older than the clock minus Disorder.
	Late bool
	// Bridging is true when the event fitted more than one session.
	Bridging bool
	// Duplicate is true when the event id was seen before (a redelivery):
	// nothing changed and the caller writes nothing for it (the first
	// delivery's row stands). SessionID says which session holds it while
	// that session is in memory; it is zero when only the partition's
	// record of closed sessions' ids remembers it (recent.go).
	Duplicate bool
	// Quarantined is true when the event's time is more than
	// Rules.MaxClockSkew ahead of its record's (Input.RecordMs): it was not
	// assigned, the clock did not move, and the caller keeps it aside with
	// that reason instead of writing it as an event.
	Quarantined bool
}

// namespace for session ids (UUIDv5): fixed forever, so ids are stable.
var namespace = uuid.MustParse("5d7a2c7e-8a51-4a43-9f0c-5f3e1a1f7e10")

// SessionID is the deterministic id of the session opened by an event.
func SessionID(site string, visitor, opener uuid.UUID, openerMs int64) uuid.UUID {
	buf := make([]byte, 0, len(site)+1+16+16+8)
	buf = append(buf, site...)
	buf = append(buf, 0)
	buf = append(buf, visitor[:]...)
	buf = append(buf, opener[:]...)
	buf = binary.BigEndian.AppendUint64(buf, uint64(openerMs))
	return uuid.NewSHA1(namespace, buf)
}

// visitorKey is 20 bytes: a partition's map holds one per visitor with open
// sessions, and its slots are the larger part of a session's memory.
type visitorKey struct {
	site    uint32 // index in Partition.siteNames
	visitor uuid.UUID
}

// sessions are a visitor's open sessions, ordered by first event: a
// pointer and a length (16 bytes, not a slice's 24) as the map's value.
type sessions struct {
	first *open
	n     uint32
	// latestFloorS is at most the earliest of the sessions' latest events,
	// Unix seconds (0 for times before 1970), so a sweep passes a visitor
	// with nothing to close without reading its sessions: those reads
	// (a cache miss per visitor) were the sweep's cost. It is set by pack,
	// and stays a lower bound until the next pack, because an event only
	// ever moves a latest event later. It takes the 4 bytes that were the
	// struct's padding.
	latestFloorS uint32
}

func (v sessions) list() []open {
	if v.n == 0 {
		return nil
	}
	return unsafe.Slice(v.first, v.n)
}

func pack(list []open) sessions {
	if len(list) == 0 {
		return sessions{}
	}
	earliest := list[0].lastMs
	for i := range list[1:] {
		earliest = min(earliest, list[i+1].lastMs)
	}
	return sessions{first: &list[0], n: uint32(len(list)), latestFloorS: uint32(min(max(earliest/1000, 0), math.MaxUint32))}
}

// allFrom tells whether every session's latest event is at or after ms,
// from the lower bound alone: false may still be so.
func (v sessions) allFrom(ms int64) bool { return int64(v.latestFloorS)*1000 >= ms }

// open is one session kept in memory: small, because a partition holds one
// per active visitor (goal: under 300 B each with map overhead). Its
// figures are in figures.go; 112 bytes with them (a size class).
type open struct {
	id       uuid.UUID
	startMs  int64 // opening event
	firstMs  int64 // earliest event
	lastMs   int64 // latest event
	campaign uint64
	entryFP  uint64 // fingerprint of the entry (earliest) event
	exitFP   uint64 // fingerprint of the exit (latest) event
	data     []byte // fingerprints, entry, exit, pages (figures.go)

	events, pageviews, custom, late, bridging uint32
	reason                                    Reason
	maxScroll                                 uint8
	flags                                     uint8
}

// Partition sessionizes one Kafka partition's events.
type Partition struct {
	rules     Rules
	clock     int64
	lastSweep int64
	visitors  map[visitorKey]sessions
	sites     map[string]uint32 // site id -> index in siteNames
	siteNames []string
	nOpen     int

	strs    interner     // the figures' strings
	dirty   []visitorKey // visitors with a session changed since Changed
	closed  []Figures    // changed sessions evicted before Changed
	scratch []byte

	recent      recent  // ids of closed sessions' events (recent.go)
	closedEarly uint64  // sessions closed at Rules.MaxOpenSessions (a metric, not state)
	lastMsBuf   []int64 // scratch of closeLeastActive
}

// sweepEvery is how much the clock advances between evictions of closed
// sessions: a sixth of the longest gap, at most maxSweepEvery. It is part
// of the rules' determinism: eviction happens at clock marks, never on a
// wall-clock timer. Eviction decides nothing (closing is checked on every
// event, see refuses); it frees memory, hands the figures of closed
// sessions out and moves their ids to the record. A sweep visits every
// visitor's map slot, and reads the sessions only of visitors that may have
// one to close (sessions.latestFloorS), so on a backlog, where an hour of
// clock passes in seconds, it costs little more than the map's iteration;
// it was a third of the sessionizer's CPU at one a minute, when it read
// every session. A closed session stays in memory at most a sixth of a gap
// longer. Tied to the gap because a fixed five minutes kept every session
// of a five-minute run with a 2 s gap in memory (800,000, then closed in
// one sweep that held the partition for seconds).
func (p *Partition) sweepEvery() int64 {
	return min(maxSweepEvery, max(p.longestGap().Milliseconds()/6, 1))
}

// maxSweepEvery is sweepEvery's bound: the interval at the default 30-minute
// gap.
const maxSweepEvery = int64(5 * time.Minute / time.Millisecond)

// NewPartition makes an empty partition state that applies rules, which
// must pass Validate.
func NewPartition(rules Rules) (*Partition, error) {
	if err := rules.Validate(); err != nil {
		return nil, err
	}
	return &Partition{rules: rules, visitors: map[visitorKey]sessions{}, sites: map[string]uint32{}}, nil
}

// Clock is the largest event time seen, Unix ms.
func (p *Partition) Clock() int64 { return p.clock }

// ClosedEarly counts the sessions closed early because the partition held
// Rules.MaxOpenSessions, since it was made or restored.
func (p *Partition) ClosedEarly() uint64 { return p.closedEarly }

// OpenSessions is the number of sessions held in memory.
func (p *Partition) OpenSessions() int { return p.nOpen }

func (p *Partition) intern(site string) uint32 {
	if i, ok := p.sites[site]; ok {
		return i
	}
	i := uint32(len(p.siteNames))
	site = strings.Clone(site)
	p.siteNames = append(p.siteNames, site)
	p.sites[site] = i
	return i
}

// Assign places one event and returns the decision. Events must be given in
// log order; the same sequence always gives the same decisions.
func (p *Partition) Assign(in Input) Assignment {
	r := p.rules
	// An event dated ahead of the record that carried it would move the
	// clock for good (closing every open session, flagging what follows as
	// late): it is kept aside before it touches anything.
	if in.RecordMs != 0 && in.TimeMs > in.RecordMs+r.MaxClockSkew.Milliseconds() {
		return Assignment{Quarantined: true}
	}
	p.recent.logMs = max(p.recent.logMs, in.RecordMs)
	key := visitorKey{site: p.intern(in.Site), visitor: in.Visitor}
	list := p.visitors[key].list()
	// A redelivery changes nothing, not even the clock (the first delivery
	// moved it already): into a session still in memory, or one closed
	// and remembered in the partition's record.
	fp := fingerprint(in.EventID)
	for i := range list {
		if s := &list[i]; s.has(fp) {
			return Assignment{SessionID: s.id, StartMs: s.startMs, Reason: s.reason, Duplicate: true}
		}
	}
	if p.recent.has(fp, in.TimeMs) {
		return Assignment{Duplicate: true}
	}
	late := in.TimeMs < p.clock-r.Disorder.Milliseconds()
	if in.TimeMs > p.clock {
		p.clock = in.TimeMs
	}

	best, fits := -1, 0
	var bestDist int64
	for i := range list {
		if p.refuses(&list[i], in) != 0 {
			continue
		}
		fits++
		d := distance(&list[i], in.TimeMs)
		if best < 0 || d < bestDist {
			best, bestDist = i, d
		}
	}
	if best >= 0 {
		s := &list[best]
		p.observe(key, s, fp, &in, late, fits > 1)
		s.firstMs = min(s.firstMs, in.TimeMs)
		s.lastMs = max(s.lastMs, in.TimeMs)
		a := Assignment{SessionID: s.id, StartMs: s.startMs, Reason: s.reason, Late: late, Bridging: fits > 1}
		p.maybeSweep()
		return a
	}

	// At the cap, room is made before the new session is opened, so a
	// partition never holds more than MaxOpenSessions.
	if r.MaxOpenSessions > 0 && p.nOpen >= r.MaxOpenSessions {
		p.closeLeastActive()
		list = p.visitors[key].list()
	}
	reason := Inactivity
	if prev := previous(list, in.TimeMs); prev >= 0 {
		reason = p.refuses(&list[prev], in)
	} else if in.NewVisitor {
		reason = FirstVisit
	}
	s := open{
		id:      SessionID(p.siteNames[key.site], in.Visitor, in.EventID, in.TimeMs),
		startMs: in.TimeMs, firstMs: in.TimeMs, lastMs: in.TimeMs,
		campaign: in.CampaignKey, reason: reason,
	}
	// Keep the list ordered by first event, so previous() and ties are stable.
	pos := len(list)
	for pos > 0 && list[pos-1].firstMs > s.firstMs {
		pos--
	}
	list = append(list, open{})
	copy(list[pos+1:], list[pos:])
	list[pos] = s
	p.visitors[key] = pack(list)
	p.observe(key, &list[pos], fp, &in, late, false)
	p.nOpen++
	p.maybeSweep()
	return Assignment{SessionID: s.id, StartMs: s.startMs, Reason: reason, Opens: true, Late: late}
}

// refuses returns why the event cannot join s, or 0 if it can.
func (p *Partition) refuses(s *open, in Input) Reason {
	r := &p.rules
	t := in.TimeMs
	gap := p.gap(&in).Milliseconds()
	// Closed: the clock passed its latest event by more than gap +
	// disorder, whether or not a sweep has evicted it yet.
	if t > s.lastMs+gap || t < s.firstMs-gap || p.clock-s.lastMs > gap+r.Disorder.Milliseconds() {
		return Inactivity
	}
	if max(s.lastMs, t)-min(s.firstMs, t) >= r.MaxLength.Milliseconds() {
		return MaxLength
	}
	if in.Options.SplitAtMidnight.Or(r.SplitAtMidnight) {
		loc := in.Zone
		if loc == nil {
			loc = time.UTC
		}
		if day(t, loc) != day(s.firstMs, loc) {
			return Midnight
		}
	}
	if in.Options.SplitOnCampaign.Or(r.SplitOnCampaign) && in.CampaignKey != 0 && in.CampaignKey != s.campaign {
		return Campaign
	}
	return 0
}

func day(ms int64, loc *time.Location) int {
	y, m, d := time.UnixMilli(ms).In(loc).Date()
	return y*10000 + int(m)*100 + d
}

// distance from t to the session's span; 0 inside it.
func distance(s *open, t int64) int64 {
	switch {
	case t < s.firstMs:
		return s.firstMs - t
	case t > s.lastMs:
		return t - s.lastMs
	}
	return 0
}

// previous is the index of the latest session that started at or before t,
// or -1. Its refusal is the new session's reason.
func previous(list []open, t int64) int {
	for i := len(list) - 1; i >= 0; i-- {
		if list[i].firstMs <= t {
			return i
		}
	}
	if len(list) > 0 {
		return 0
	}
	return -1
}

// gap is the inactivity gap for the event: its site's, within the
// partition's longest (longestGap), or the partition's.
func (p *Partition) gap(in *Input) time.Duration {
	if g := in.Options.Gap; g > 0 {
		return min(g, p.longestGap())
	}
	return p.rules.Gap
}

// longestGap is the longest gap any event may be given: the larger of
// Rules.Gap and Rules.MaxSiteGap. Sessions stay in memory for it.
func (p *Partition) longestGap() time.Duration { return max(p.rules.Gap, p.rules.MaxSiteGap) }

// maybeSweep evicts sessions no event can join without being late by more
// than the allowed disorder, whatever its site's gap: last event older than
// clock - longest gap - disorder. (A session of a site with a shorter gap
// is closed earlier by refuses, exactly; it only stays in memory longer.)
func (p *Partition) maybeSweep() {
	every := p.sweepEvery()
	if p.clock-p.lastSweep < every {
		return
	}
	p.lastSweep = p.clock - p.clock%every
	p.recent.expire(p.recent.now(p.clock))
	p.evict(p.clock - p.longestGap().Milliseconds() - p.rules.Disorder.Milliseconds())
}

// evict closes every session whose latest event is before horizon: its
// figures, if changed, go to the next Changed, and its event ids to the
// record. The order of the map's iteration changes nothing: the record is
// a set, and Changed's rows are keyed by session and version. A visitor
// whose sessions' lower bound is past horizon is passed without reading
// them: which sessions close is decided by lastMs alone, as before.
func (p *Partition) evict(horizon int64) {
	for k, v := range p.visitors {
		if v.allFrom(horizon) {
			continue
		}
		list := v.list()
		if !closesAny(list, horizon) {
			p.visitors[k] = pack(list) // a tighter bound: not read again soon
			continue
		}
		kept := list[:0]
		for i := range list {
			s := &list[i]
			if s.lastMs >= horizon {
				kept = append(kept, *s)
				continue
			}
			if s.flags&flagDirty != 0 {
				p.closed = append(p.closed, p.figures(k, s))
			}
			p.recent.add(s.fps(), s.lastMs, p.recent.now(p.clock), p.rules.RememberIDs)
		}
		clear(list[len(kept):])
		p.nOpen -= len(list) - len(kept)
		if len(kept) == 0 {
			delete(p.visitors, k)
		} else {
			p.visitors[k] = pack(kept)
		}
	}
}

// closesAny tells whether a session's latest event is before horizon.
func closesAny(list []open, horizon int64) bool {
	for i := range list {
		if list[i].lastMs < horizon {
			return true
		}
	}
	return false
}

// closeLeastActive closes, at the open-session cap, the sixteenth of the
// sessions with the earliest latest events (all that tie with the last of
// them too), so that the cost of the scan is spread over many events.
func (p *Partition) closeLeastActive() {
	last := p.lastMsBuf[:0]
	for _, v := range p.visitors {
		for _, s := range v.list() {
			last = append(last, s.lastMs)
		}
	}
	slices.Sort(last)
	k := max(p.rules.MaxOpenSessions/16, 1)
	before := p.nOpen
	p.evict(last[min(k, len(last))-1] + 1)
	p.closedEarly += uint64(before - p.nOpen)
	p.lastMsBuf = last[:0]
	if cap(last) > 1<<16 {
		p.lastMsBuf = nil // a cap of a million would keep 8 MB for good
	}
}
