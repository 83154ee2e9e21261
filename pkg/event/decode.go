package event

import (
	"unicode/utf8"

	"github.com/google/uuid"
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
	d := decoder{b: b}
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
	d.space()
	return ok && d.i == len(d.b)
}

// decoder reads JSON from b at i. Every method reports false at anything
// it does not decode exactly as encoding/json would.
type decoder struct {
	b       []byte
	i       int
	scratch []byte // unescaped strings
}

func (d *decoder) space() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// consume skips space and then c, if c is next.
func (d *decoder) consume(c byte) bool {
	d.space()
	if d.i < len(d.b) && d.b[d.i] == c {
		d.i++
		return true
	}
	return false
}

// object reads {"key": value, ...}, calling member for each key with the
// value next to read. A repeated key is read again into the same place, as
// encoding/json does (the later scalar wins, objects merge). Keys with
// escapes are refused unless unescape (map keys): a struct's escaped key
// may unescape to a field's name in another case, which is encoding/json's
// to match. An unescaped key aliases the scratch buffer.
func (d *decoder) object(unescape bool, member func(key []byte) bool) bool {
	if !d.consume('{') {
		return false
	}
	if d.consume('}') {
		return true
	}
	for {
		d.space()
		key, escaped, ok := d.raw()
		if ok && escaped {
			key, ok = d.unescape(key, unescape)
		}
		if !ok || !d.consume(':') {
			return false
		}
		d.space()
		if !member(key) {
			return false
		}
		if d.consume(',') {
			continue
		}
		return d.consume('}')
	}
}

// raw reads a string and returns its bytes as written (escaped: it holds
// escapes), without allocating. It refuses control characters and invalid
// UTF-8, which encoding/json refuses or replaces.
func (d *decoder) raw() (s []byte, escaped, ok bool) {
	if d.i >= len(d.b) || d.b[d.i] != '"' {
		return nil, false, false
	}
	start := d.i + 1
	ascii := true
	for i := start; i < len(d.b); i++ {
		c := d.b[i]
		switch {
		case c == '"':
			d.i = i + 1
			s = d.b[start:i]
			if !ascii && !utf8.Valid(s) {
				return nil, false, false
			}
			return s, escaped, true
		case c == '\\':
			escaped = true
			i++ // the escaped byte cannot end the string
		case c < 0x20:
			return nil, false, false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return nil, false, false
}

// text reads a string value, unescaped. The result aliases b or the
// scratch buffer: copy it before the next read.
func (d *decoder) text() ([]byte, bool) {
	s, escaped, ok := d.raw()
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
	out := d.scratch[:0]
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			out = append(out, c)
			continue
		}
		i++
		if i >= len(s) {
			return nil, false
		}
		switch s[i] {
		case '"', '\\', '/':
			out = append(out, s[i])
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			if i+4 >= len(s) {
				return nil, false
			}
			var r rune
			for _, h := range s[i+1 : i+5] {
				switch {
				case '0' <= h && h <= '9':
					h -= '0'
				case 'a' <= h && h <= 'f':
					h -= 'a' - 10
				case 'A' <= h && h <= 'F':
					h -= 'A' - 10
				default:
					return nil, false
				}
				r = r<<4 | rune(h)
			}
			if 0xD800 <= r && r < 0xE000 {
				return nil, false // surrogates: pairs and strays are encoding/json's to resolve
			}
			out = utf8.AppendRune(out, r)
			i += 4
		default:
			return nil, false
		}
	}
	d.scratch = out
	return out, true
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
	case d.literal("true"):
		*dst = true
	case d.literal("false"):
		*dst = false
	default:
		return false
	}
	return true
}

func (d *decoder) literal(word string) bool {
	if len(d.b)-d.i >= len(word) && string(d.b[d.i:d.i+len(word)]) == word {
		d.i += len(word)
		return true
	}
	return false
}

// int64 reads an integer as JSON writes one (-?(0|[1-9][0-9]*)) of at most
// 18 digits, so it cannot overflow; longer ones, fractions and exponents
// are encoding/json's.
func (d *decoder) int64(dst *int64) bool {
	i, neg := d.i, false
	if i < len(d.b) && d.b[i] == '-' {
		neg = true
		i++
	}
	start := i
	var n int64
	for i < len(d.b) && '0' <= d.b[i] && d.b[i] <= '9' {
		n = n*10 + int64(d.b[i]-'0')
		i++
	}
	digits := i - start
	if digits == 0 || digits > 18 || (digits > 1 && d.b[start] == '0') {
		return false
	}
	if i < len(d.b) && (d.b[i] == '.' || d.b[i] == 'e' || d.b[i] == 'E') {
		return false
	}
	if neg {
		n = -n
	}
	d.i, *dst = i, n
	return true
}

func (d *decoder) int(dst *int) bool {
	var n int64
	if !d.int64(&n) || int64(int(n)) != n {
		return false
	}
	*dst = int(n)
	return true
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
	d.space()
	if d.i >= len(d.b) || d.b[d.i] != '{' {
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
