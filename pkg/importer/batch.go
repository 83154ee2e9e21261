package importer

import (
	"fmt"
	"hash/fnv"
	"time"

	"github.com/google/uuid"

	"github.com/teller-analytics/teller/pkg/event"
)

// Bounds of one POST /api/import request; the collector enforces them and
// the client stays within them.
const (
	// MaxBatchEvents is the most events in one batch.
	MaxBatchEvents = 5000
	// MaxBatchBytes bounds the request body.
	MaxBatchBytes = 8 << 20
	// MaxVisitorKeyLength bounds Event.Visitor.
	MaxVisitorKeyLength = 256
	// DefaultHorizon is how far back an imported event may lie unless the
	// collector's -import-horizon says otherwise.
	DefaultHorizon = 400 * 24 * time.Hour
	// DefaultTopic is the topic imported events go to, apart from live ones.
	DefaultTopic = "teller.import"
	// DefaultGroup is the consumer group of the sessionizer that reads the
	// import topic, beside the live one's.
	DefaultGroup = "teller-import"
)

// Batch is the JSON body of POST /api/import.
type Batch struct {
	// Site is the site the events belong to; it must be the token's site.
	Site   string  `json:"site"`
	Events []Event `json:"events"`
}

// Event is one imported event. Unlike a snippet's event it carries its own
// time and visitor: both are trusted only under a valid import token.
type Event struct {
	// ID makes re-sending idempotent: the same id is counted once. The
	// readers derive it from the source's content; empty: the collector
	// draws a random one.
	ID uuid.UUID `json:"id,omitzero"`
	// TimeMs is when the event happened, Unix ms.
	TimeMs int64 `json:"time_ms"`
	// Visitor is the source's key for the visitor (a log's address and user
	// agent, Umami's session id); the event's visitor id is derived from it
	// with VisitorID.
	Visitor string `json:"visitor"`
	// NewVisitor marks the visitor's first event in the source, so that the
	// session it opens is a first visit (as the collector's fresh cookie
	// marks a live one).
	NewVisitor   bool              `json:"new_visitor,omitempty"`
	Kind         event.Kind        `json:"kind"`
	Name         string            `json:"name,omitempty"`
	URL          string            `json:"url"`
	Referrer     string            `json:"referrer,omitempty"`
	Title        string            `json:"title,omitempty"`
	UserAgent    string            `json:"user_agent,omitempty"`
	ScreenWidth  int               `json:"screen_width,omitempty"`
	ScreenHeight int               `json:"screen_height,omitempty"`
	Props        map[string]string `json:"props,omitempty"`
	EngagedMs    int64             `json:"engaged_ms,omitempty"`
	ScrollDepth  int               `json:"scroll_depth,omitempty"`
}

// visitorSpace is the UUIDv5 namespace of imported visitor ids. Live
// visitor ids are random (v4), so the two never meet.
var visitorSpace = uuid.MustParse("6d1f0c52-3f1e-4b8e-9a57-0b8f3c1f5a10")

// eventSpace is the UUIDv5 namespace of the readers' event ids.
var eventSpace = uuid.MustParse("b0a3c0de-5e1f-4c7a-8f61-2d9e4a7b6c33")

// VisitorID is the visitor id of site's imported visitor key.
func VisitorID(site, key string) uuid.UUID {
	return uuid.NewSHA1(visitorSpace, []byte(site+"\x00"+key))
}

// firstSeen tells whether a visitor key is new to a reader; it keeps a
// 64-bit hash per key, not the key, to stay small over millions of visitors.
type firstSeen map[uint64]struct{}

func (f firstSeen) first(key string) bool {
	h := fnv.New64a()
	h.Write([]byte(key))
	k := h.Sum64()
	if _, ok := f[k]; ok {
		return false
	}
	f[k] = struct{}{}
	return true
}

// EventID derives a stable event id from a source's identity of the event
// (e.g. file name, line number and line): the same input, the same id.
func EventID(parts ...string) uuid.UUID {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
		b = append(b, 0)
	}
	return uuid.NewSHA1(eventSpace, b)
}

// Bounds are the time limits of an import, relative to the collector's clock.
type Bounds struct {
	Now     time.Time
	Horizon time.Duration
}

// Check reports what is wrong with e's own fields (time, visitor); the
// collector validates the rest as an event.Event.
func (e *Event) Check(b Bounds) error {
	switch {
	case e.Visitor == "" || len(e.Visitor) > MaxVisitorKeyLength:
		return fmt.Errorf("visitor must be 1..%d bytes", MaxVisitorKeyLength)
	case e.TimeMs <= 0:
		return fmt.Errorf("time_ms is missing")
	case e.TimeMs > b.Now.UnixMilli():
		return fmt.Errorf("time_ms %d is in the future (collector clock %d)", e.TimeMs, b.Now.UnixMilli())
	case e.TimeMs < b.Now.Add(-b.Horizon).UnixMilli():
		return fmt.Errorf("time_ms %d is older than the import horizon (%s)", e.TimeMs, b.Horizon)
	}
	return nil
}
