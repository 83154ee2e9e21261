package collector

import (
	"strconv"
	"unicode/utf8"

	"github.com/teller-analytics/teller/pkg/event"
)

// decodeFast decodes the body the snippet sends on nearly every request, one
// Teller event object whose members are plain strings and integers, without
// encoding/json's reflection (its largest cost per request). It reports false
// for anything outside that shape (escapes in strings, props, null, floats,
// a member it does not know, trailing data...), and DecodeBody then decodes
// with encoding/json as before, whose answer, and error, therefore stays the
// rule: whenever decodeFast reports true, p is exactly what strictDecode
// would have produced (FuzzDecodeFastMatchesJSON holds it to that).
//
// The body is copied into one string and every member is a substring of it
// (one allocation per body instead of one per member and key); the payload
// holds the body's copy no longer than the request does.
func decodeFast(b []byte, p *Payload) bool {
	d := fastDecoder{b: string(b)}
	if !d.byte('{') {
		return false
	}
	if d.byte('}') {
		return d.end()
	}
	for {
		key, ok := d.str()
		if !ok || !d.byte(':') {
			return false
		}
		d.ws()
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
		default: // props, or a member encoding/json judges (case-folded names, unknown ones)
			return false
		}
		if !ok {
			return false
		}
		if d.byte('}') {
			return d.end()
		}
		if !d.byte(',') {
			return false
		}
	}
}

type fastDecoder struct {
	b string
	i int
}

// ws skips JSON whitespace.
func (d *fastDecoder) ws() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// byte consumes c after optional whitespace.
func (d *fastDecoder) byte(c byte) bool {
	d.ws()
	if d.i < len(d.b) && d.b[d.i] == c {
		d.i++
		return true
	}
	return false
}

// end reports whether only whitespace follows.
func (d *fastDecoder) end() bool {
	d.ws()
	return d.i == len(d.b)
}

// str reads a string without escapes or control characters, in valid UTF-8
// (which encoding/json keeps byte for byte).
func (d *fastDecoder) str() (string, bool) {
	d.ws()
	if d.i >= len(d.b) || d.b[d.i] != '"' {
		return "", false
	}
	start := d.i + 1
	ascii := true
	for j := start; j < len(d.b); j++ {
		c := d.b[j]
		switch {
		case c == '"':
			s := d.b[start:j]
			if !ascii && !utf8.ValidString(s) {
				return "", false
			}
			d.i = j + 1
			return s, true
		case c == '\\' || c < 0x20:
			return "", false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return "", false
}

func (d *fastDecoder) setString(dst *string) bool {
	s, ok := d.str()
	if ok {
		*dst = s
	}
	return ok
}

// number reads an integer literal as JSON writes it (no leading zeros, no
// fraction or exponent: those go to encoding/json, which refuses them for an
// integer member).
func (d *fastDecoder) number(bits int) (int64, bool) {
	start := d.i
	j := d.i
	if j < len(d.b) && d.b[j] == '-' {
		j++
	}
	digits := j
	for j < len(d.b) && d.b[j] >= '0' && d.b[j] <= '9' {
		j++
	}
	if j == digits || (d.b[digits] == '0' && j-digits > 1) {
		return 0, false
	}
	if j < len(d.b) {
		switch d.b[j] {
		case '.', 'e', 'E':
			return 0, false
		}
	}
	n, err := strconv.ParseInt(d.b[start:j], 10, bits)
	if err != nil {
		return 0, false
	}
	d.i = j
	return n, true
}

func (d *fastDecoder) setInt(dst *int) bool {
	n, ok := d.number(strconv.IntSize)
	if ok {
		*dst = int(n)
	}
	return ok
}

func (d *fastDecoder) setInt64(dst *int64) bool {
	n, ok := d.number(64)
	if ok {
		*dst = n
	}
	return ok
}
