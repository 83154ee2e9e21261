package event

import (
	"github.com/google/uuid"

	"github.com/teller-analytics/teller/pkg/event/jsonscan"
)

// decodeFast decodes b into e without reflection when b has the shape
// producers write (Marshal's output, and anything as plain): one object of
// the known keys, spelled exactly, holding strings, integers, booleans and
// the campaign and props objects. For anything else (an unknown or
// differently cased key, null, a number that is not a plain integer,
// invalid UTF-8, a UTF-16 surrogate escape, malformed JSON) it reports
// false, having possibly filled part of e, and Unmarshal asks
// encoding/json, which stays the definition of the format. Where it reports
// true, e is exactly what encoding/json decodes (FuzzDecodeFast).
//
// It exists for the sessionizer, where decoding with encoding/json was
// about a third of the CPU (docs/benchmarks.md).
func decodeFast(b []byte, e *Event) bool {
	d := decoder{Scanner: jsonscan.New(b)}
	ok := d.object(false, func(key []byte) bool {
		switch string(key) { // no allocation: the compiler compares in place
		case "v":
			return d.int(&e.V)
		case "id":
			return d.uuid(&e.ID)
		case "site":
			return d.string(&e.Site)
		case "visitor":
			return d.uuid(&e.Visitor)
		case "new_visitor":
			return d.bool(&e.NewVisitor)
		case "received_ms":
			return d.int64(&e.ReceivedMs)
		case "kind":
			var s string
			ok := d.common(&s)
			e.Kind = Kind(s)
			return ok
		case "name":
			return d.common(&e.Name)
		case "url":
			return d.string(&e.URL)
		case "referrer":
			return d.string(&e.Referrer)
		case "title":
			return d.string(&e.Title)
		case "user_agent":
			return d.string(&e.UserAgent)
		case "screen_width":
			return d.int(&e.ScreenWidth)
		case "screen_height":
			return d.int(&e.ScreenHeight)
		case "campaign":
			return d.campaign(&e.Campaign)
		case "props":
			return d.props(&e.Props)
		case "engaged_ms":
			return d.int64(&e.EngagedMs)
		case "scroll_depth":
			return d.int(&e.ScrollDepth)
		case "country":
			return d.string(&e.Country)
		case "bot":
			return d.string(&e.Bot)
		}
		return false // unknown here: encoding/json decides (case-insensitive match or ignore)
	})
	return ok && d.End()
}

// decoder reads an event's JSON with jsonscan's rules. Every method reports
// false at anything it does not decode exactly as encoding/json would.
type decoder struct {
	jsonscan.Scanner[[]byte]
	scratch []byte // unescaped strings
}

// object reads {"key": value, ...}, calling member for each key with the
// value next to read. A repeated key is read again into the same place, as
// encoding/json does (the later scalar wins, objects merge). Keys with
// escapes are refused unless unescape (map keys): a struct's escaped key
// may unescape to a field's name in another case, which is encoding/json's
// to match. An unescaped key aliases the scratch buffer.
func (d *decoder) object(unescape bool, member func(key []byte) bool) bool {
	if !d.Consume('{') {
		return false
	}
	if d.Consume('}') {
		return true
	}
	for {
		d.Space()
		key, escaped, ok := d.Raw()
		if ok && escaped {
			key, ok = d.unescape(key, unescape)
		}
		if !ok || !d.Consume(':') {
			return false
		}
		d.Space()
		if !member(key) {
			return false
		}
		if d.Consume(',') {
			continue
		}
		return d.Consume('}')
	}
}

// text reads a string value, unescaped. The result aliases b or the
// scratch buffer: copy it before the next read.
func (d *decoder) text() ([]byte, bool) {
	s, escaped, ok := d.Raw()
	if !ok || !escaped {
		return s, ok
	}
	return d.unescape(s, true)
}

// unescape resolves the escapes of s into the scratch buffer (allowed:
// else it refuses).
func (d *decoder) unescape(s []byte, allowed bool) ([]byte, bool) {
	if !allowed {
		return nil, false
	}
	out, ok := jsonscan.Unescape(d.scratch[:0], s)
	d.scratch = out
	return out, ok
}

func (d *decoder) string(dst *string) bool {
	s, ok := d.text()
	if ok {
		*dst = string(s)
	}
	return ok
}

// common is string for the kind and name, whose values are nearly always
// the kinds' names: those take no allocation.
func (d *decoder) common(dst *string) bool {
	s, ok := d.text()
	if !ok {
		return false
	}
	switch string(s) {
	case string(KindPageview):
		*dst = string(KindPageview)
	case string(KindCustom):
		*dst = string(KindCustom)
	case string(KindEngagement):
		*dst = string(KindEngagement)
	default:
		*dst = string(s)
	}
	return true
}

func (d *decoder) uuid(dst *uuid.UUID) bool {
	s, ok := d.text()
	if !ok {
		return false
	}
	id, err := uuid.ParseBytes(s) // what UUID.UnmarshalText does
	if err != nil {
		return false
	}
	*dst = id
	return true
}

func (d *decoder) bool(dst *bool) bool {
	switch {
	case d.Literal("true"):
		*dst = true
	case d.Literal("false"):
		*dst = false
	default:
		return false
	}
	return true
}

func (d *decoder) int64(dst *int64) bool {
	n, ok := d.Int64()
	if ok {
		*dst = n
	}
	return ok
}

func (d *decoder) int(dst *int) bool {
	n, ok := d.Int()
	if ok {
		*dst = n
	}
	return ok
}

func (d *decoder) campaign(c *Campaign) bool {
	return d.object(false, func(key []byte) bool {
		switch string(key) {
		case "source":
			return d.string(&c.Source)
		case "medium":
			return d.string(&c.Medium)
		case "name":
			return d.string(&c.Name)
		case "term":
			return d.string(&c.Term)
		case "content":
			return d.string(&c.Content)
		case "click_id_type":
			return d.string(&c.ClickIDType)
		}
		return false
	})
}

// props reads a string-to-string object into *m, allocating it if nil and
// adding to it otherwise, as encoding/json does.
func (d *decoder) props(m *map[string]string) bool {
	d.Space()
	if c, ok := d.Peek(); !ok || c != '{' {
		return false // null and anything else: encoding/json's
	}
	if *m == nil {
		*m = map[string]string{}
	}
	return d.object(true, func(key []byte) bool {
		k := string(key) // before the value reuses the scratch buffer
		var v string
		if !d.string(&v) {
			return false
		}
		(*m)[k] = v
		return true
	})
}
