package collector

import (
	"github.com/teller-analytics/teller/pkg/event"
	"github.com/teller-analytics/teller/pkg/event/jsonscan"
)

// decodeFast decodes the body the snippet sends on nearly every request, one
// Teller event object whose members are plain strings and integers, without
// encoding/json's reflection (its largest cost per request), props included
// (an object of plain strings). It reports false for anything outside that
// shape (escapes in strings, a prop that is not a string, null, floats,
// integers of more digits than jsonscan.MaxIntDigits, a member it does not
// know, trailing data...), and DecodeBody then decodes with encoding/json
// as before, whose answer, and error, therefore stays the rule: whenever
// decodeFast reports true, p is exactly what strictDecode would have
// produced (FuzzDecodeFastMatchesJSON holds it to that). It scans with
// pkg/event/jsonscan, as pkg/event's decoder of the event message does.
//
// The body is copied into one string and every member is a substring of it
// (one allocation per body instead of one per member and key); the payload
// holds the body's copy no longer than the request does.
func decodeFast(b []byte, p *Payload) bool {
	d := fastDecoder{jsonscan.New(string(b))}
	return d.object(p) && d.End()
}

// decodeFastBatch decodes a batch, a JSON array of 1..MaxBatch event
// objects, each of decodeFast's shape, from one copy of the body: what the
// snippet sends when events happen together (an app navigation's
// engagement and page view). Like decodeFast it reports false for anything
// else (an empty or too long array, an element outside the shape), and
// DecodeBody then decodes with encoding/json, which stays the rule
// (FuzzDecodeFastBatchMatchesJSON). The one-site check stays DecodeBody's.
func decodeFastBatch(b []byte) ([]Payload, bool) {
	d := fastDecoder{jsonscan.New(string(b))}
	if !d.Consume('[') {
		return nil, false
	}
	out := make([]Payload, 0, 4)
	for len(out) < MaxBatch {
		out = append(out, Payload{})
		if !d.object(&out[len(out)-1]) {
			return nil, false
		}
		if d.Consume(']') {
			if !d.End() {
				return nil, false
			}
			return out, true
		}
		if !d.Consume(',') {
			return nil, false
		}
	}
	return nil, false // more than MaxBatch: encoding/json's path refuses it
}

// object reads one event object into p.
func (d *fastDecoder) object(p *Payload) bool {
	if !d.Consume('{') {
		return false
	}
	if d.Consume('}') {
		return true
	}
	for {
		key, ok := d.str()
		if !ok || !d.Consume(':') {
			return false
		}
		d.Space()
		switch key {
		case "site":
			ok = d.setString(&p.Site)
		case "kind":
			var k string
			ok = d.setString(&k)
			p.Kind = event.Kind(k)
		case "name":
			ok = d.setString(&p.Name)
		case "url":
			ok = d.setString(&p.URL)
		case "referrer":
			ok = d.setString(&p.Referrer)
		case "title":
			ok = d.setString(&p.Title)
		case "screen_width":
			ok = d.setInt(&p.ScreenWidth)
		case "screen_height":
			ok = d.setInt(&p.ScreenHeight)
		case "scroll_depth":
			ok = d.setInt(&p.ScrollDepth)
		case "engaged_ms":
			ok = d.setInt64(&p.EngagedMs)
		case "age_ms":
			ok = d.setInt64(&p.AgeMs)
		case "props":
			ok = d.setProps(&p.Props)
		default: // a member encoding/json judges (case-folded names, unknown ones)
			return false
		}
		if !ok {
			return false
		}
		if d.Consume('}') {
			return true
		}
		if !d.Consume(',') {
			return false
		}
	}
}

// fastDecoder reads the body with jsonscan's rules, in place: every member
// is a substring of the body's one copy.
type fastDecoder struct {
	jsonscan.Scanner[string]
}

// str reads a string without escapes (encoding/json then decides), after
// optional whitespace.
func (d *fastDecoder) str() (string, bool) {
	d.Space()
	s, escaped, ok := d.Raw()
	return s, ok && !escaped
}

func (d *fastDecoder) setString(dst *string) bool {
	s, ok := d.str()
	if ok {
		*dst = s
	}
	return ok
}

func (d *fastDecoder) setInt(dst *int) bool {
	n, ok := d.Int()
	if ok {
		*dst = n
	}
	return ok
}

func (d *fastDecoder) setInt64(dst *int64) bool {
	n, ok := d.Int64()
	if ok {
		*dst = n
	}
	return ok
}

// setProps reads an object of plain strings into *dst as encoding/json fills
// a map: into the map already there (a repeated "props" member adds to it),
// else a new one, the last of a repeated key winning.
func (d *fastDecoder) setProps(dst *map[string]string) bool {
	if !d.Consume('{') {
		return false // null, or not an object: encoding/json decides
	}
	m := *dst
	if m == nil {
		m = make(map[string]string, 4)
	}
	*dst = m
	if d.Consume('}') {
		return true
	}
	for {
		k, ok := d.str()
		if !ok || !d.Consume(':') {
			return false
		}
		v, ok := d.str()
		if !ok {
			return false
		}
		m[k] = v
		if d.Consume('}') {
			return true
		}
		if !d.Consume(',') {
			return false
		}
	}
}
