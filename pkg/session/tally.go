package session

import "github.com/google/uuid"

// Tally computes the figures of sessions whose events were already
// assigned elsewhere (each event comes with its Assignment): test fixtures
// and tools that write events rows with their session ids. It is the
// figures code of a Partition (figures.go) without the rules: no clock, no
// eviction, every session stays open until Figures.
type Tally struct {
	p     Partition
	order []uuid.UUID
	open  map[uuid.UUID]*tallied
}

type tallied struct {
	key visitorKey
	s   open
}

// Add counts one event into the session a.SessionID, which a.StartMs and
// a.Reason describe (from its first Add); a.Late and a.Bridging flag the
// event. An event id the session already holds changes nothing, as in a
// Partition. Give events in log order: the pages keep their order of first
// appearance.
func (t *Tally) Add(in Input, a Assignment) {
	if t.open == nil {
		t.open, t.p.sites = map[uuid.UUID]*tallied{}, map[string]uint32{}
	}
	x, ok := t.open[a.SessionID]
	if !ok {
		x = &tallied{key: visitorKey{site: t.p.intern(in.Site), visitor: in.Visitor},
			s: open{id: a.SessionID, startMs: a.StartMs, reason: a.Reason, firstMs: in.TimeMs, lastMs: in.TimeMs}}
		t.open[a.SessionID] = x
		t.order = append(t.order, a.SessionID)
	}
	fp := fingerprint(in.EventID)
	if x.s.has(fp) {
		return
	}
	t.p.observe(x.key, &x.s, fp, &in, a.Late, a.Bridging)
	x.s.firstMs, x.s.lastMs = min(x.s.firstMs, in.TimeMs), max(x.s.lastMs, in.TimeMs)
	t.p.dirty = t.p.dirty[:0] // observe's "changed since" list means nothing here
}

// Figures returns every session's figures, in order of first Add.
func (t *Tally) Figures() []Figures {
	out := make([]Figures, 0, len(t.order))
	for _, id := range t.order {
		x := t.open[id]
		out = append(out, t.p.figures(x.key, &x.s))
	}
	return out
}

// ParseReason is the Reason named s (Reason.String), false if none is.
func ParseReason(s string) (Reason, bool) {
	for r := FirstVisit; int(r) < len(reasonNames); r++ {
		if r.String() == s {
			return r, true
		}
	}
	return 0, false
}
