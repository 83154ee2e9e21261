package event

import (
	"encoding/json"
	"maps"
	"slices"
	"strconv"
	"unicode/utf8"
)

// appendJSON appends e as encoding/json's Marshal writes it, byte for byte
// (members in struct order, omitempty and omitzero as tagged, HTML-safe
// escaping, map keys sorted), without reflection: the collector encodes an
// event on every request. TestAppendJSONMatchesMarshal and
// FuzzAppendJSONMatchesMarshal tie it to json.Marshal of the same struct, so
// the struct tags stay the format's one definition.
func appendJSON(b []byte, e *Event) []byte {
	b = append(b, `{"v":`...)
	b = strconv.AppendInt(b, int64(e.V), 10)
	b = append(b, `,"id":"`...)
	b = AppendUUID(b, e.ID)
	b = append(b, `","site":`...)
	b = appendString(b, e.Site)
	b = append(b, `,"visitor":"`...)
	b = AppendUUID(b, e.Visitor)
	b = append(b, '"')
	if e.NewVisitor {
		b = append(b, `,"new_visitor":true`...)
	}
	b = append(b, `,"received_ms":`...)
	b = strconv.AppendInt(b, e.ReceivedMs, 10)
	b = append(b, `,"kind":`...)
	b = appendString(b, string(e.Kind))
	b = append(b, `,"name":`...)
	b = appendString(b, e.Name)
	b = append(b, `,"url":`...)
	b = appendString(b, e.URL)
	b = appendStringMember(b, `,"referrer":`, e.Referrer)
	b = appendStringMember(b, `,"title":`, e.Title)
	b = appendStringMember(b, `,"user_agent":`, e.UserAgent)
	b = appendIntMember(b, `,"screen_width":`, int64(e.ScreenWidth))
	b = appendIntMember(b, `,"screen_height":`, int64(e.ScreenHeight))
	if !e.Campaign.IsZero() {
		c := &e.Campaign
		b = append(b, `,"campaign":{`...)
		start := len(b)
		b = appendStringMember(b, `,"source":`, c.Source)
		b = appendStringMember(b, `,"medium":`, c.Medium)
		b = appendStringMember(b, `,"name":`, c.Name)
		b = appendStringMember(b, `,"term":`, c.Term)
		b = appendStringMember(b, `,"content":`, c.Content)
		b = appendStringMember(b, `,"click_id_type":`, c.ClickIDType)
		b = append(b[:start], b[start+1:]...) // the first member's comma
		b = append(b, '}')
	}
	if len(e.Props) > 0 {
		b = append(b, `,"props":{`...)
		for i, k := range slices.Sorted(maps.Keys(e.Props)) {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, k)
			b = append(b, ':')
			b = appendString(b, e.Props[k])
		}
		b = append(b, '}')
	}
	b = appendIntMember(b, `,"engaged_ms":`, e.EngagedMs)
	b = appendIntMember(b, `,"scroll_depth":`, int64(e.ScrollDepth))
	b = appendStringMember(b, `,"country":`, e.Country)
	b = appendStringMember(b, `,"bot":`, e.Bot)
	return append(b, '}')
}

// appendStringMember appends an omitempty string member.
func appendStringMember(b []byte, name, s string) []byte {
	if s == "" {
		return b
	}
	return appendString(append(b, name...), s)
}

// appendIntMember appends an omitempty integer member.
func appendIntMember(b []byte, name string, n int64) []byte {
	if n == 0 {
		return b
	}
	return strconv.AppendInt(append(b, name...), n, 10)
}

// AppendUUID appends id as uuid.UUID.String writes it (lower-case hex,
// 8-4-4-4-12), without String's allocation: the collector's answer and every
// encoded event carry one.
func AppendUUID(b []byte, id [16]byte) []byte {
	const hex = "0123456789abcdef"
	for i, x := range id {
		switch i {
		case 4, 6, 8, 10:
			b = append(b, '-')
		}
		b = append(b, hex[x>>4], hex[x&0x0f])
	}
	return b
}

// appendString appends s as a JSON string. Printable ASCII and valid
// multi-byte UTF-8, the common cases (titles and names in any language, a
// dash in "Pricing – Docs"), are written here with encoding/json's escapes
// for them (quote, backslash and the HTML-unsafe <, >, &; UTF-8 is copied as
// it is); a string with anything else (control characters, invalid UTF-8,
// U+2028 and U+2029, which encoding/json escapes) is left to encoding/json
// whole.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c < utf8.RuneSelf {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if (r != utf8.RuneError || size != 1) && r != '\u2028' && r != '\u2029' {
				i += size
				continue
			}
		}
		q, _ := json.Marshal(s) // a string always encodes
		return append(b, q...)
	}
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		var esc string
		switch s[i] {
		case '"':
			esc = `\"`
		case '\\':
			esc = `\\`
		case '<':
			esc = `\u003c`
		case '>':
			esc = `\u003e`
		case '&':
			esc = `\u0026`
		default:
			continue
		}
		b = append(b, s[start:i]...)
		b = append(b, esc...)
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
