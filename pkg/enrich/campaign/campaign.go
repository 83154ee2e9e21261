// Package campaign owns how a page URL names the campaign that brought the
// visitor: the utm_* parameters, the ref shorthand and the advertising click
// ids (one table, [ClickIDs]). It is the only parser of them: the collector
// fills event.Campaign with it, and the sessionizer's enrichment reads the
// campaign from the event's URL with it again, so the stored utm_* and
// click_id_type columns, the channel and the session campaign split cannot
// disagree.
//
// The rules:
//   - Parameter names match regardless of (ASCII) case: UTM_Source is
//     utm_source.
//   - Values are unescaped as a query is (%20 and + are spaces; a malformed
//     escape is kept as sent), trimmed, and keep their case.
//   - A parameter given twice takes its first non-empty value.
//   - ref is utm_source when utm_source is absent or empty
//     (?ref=newsletter is utm_source=newsletter).
//   - The click id is the first entry of [ClickIDs] that the URL carries with
//     a value, in the table's order, whichever order the URL lists them in.
//   - Only the query counts: parameters after '#' are not a campaign.
//
// Everything here is a pure function of its input, safe for concurrent use,
// and small enough for the collector to import without the rest of
// pkg/enrich.
package campaign

import (
	"net/url"
	"strings"

	"github.com/teller-analytics/teller/pkg/event"
)

// Ad says what kind of ad a click id proves.
type Ad uint8

const (
	// NoAd: the id is added to organic links too, so it proves no ad; it
	// only says which network's app the visitor came from.
	NoAd Ad = iota
	// SearchAd: an ad on a search engine.
	SearchAd
	// SocialAd: an ad on a social network.
	SocialAd
	// OtherAd: a display or video ad.
	OtherAd
)

// ClickID is an advertising click-id parameter.
type ClickID struct {
	// Param is the query parameter, lower case, e.g. "gclid". It is what
	// event.Campaign.ClickIDType holds.
	Param string
	// Network is the service that appends it, as reports name it: "Google".
	Network string
	// Ad is the kind of ad it proves.
	Ad Ad
}

// clickIDs are the click ids ad platforms append to landing URLs, in order of
// precedence when a URL carries several.
//
// fbclid is deliberately NoAd: Facebook and Instagram append it to every
// outbound link, organic posts included. Meta ads are paid only when tagged
// with utm_medium.
var clickIDs = [...]ClickID{
	{"gclid", "Google", SearchAd}, // Google Ads auto-tagging
	{"gbraid", "Google", SearchAd},
	{"wbraid", "Google", SearchAd},
	{"msclkid", "Bing", SearchAd}, // Microsoft Advertising
	{"dclid", "Google", OtherAd},  // Display & Video 360 / Campaign Manager
	{"ttclid", "TikTok", SocialAd},
	{"twclid", "X", SocialAd},
	{"li_fat_id", "LinkedIn", SocialAd},
	{"rdt_cid", "Reddit", SocialAd},
	{"sccid", "Snapchat", SocialAd},
	{"epik", "Pinterest", SocialAd},
	{"fbclid", "Facebook", NoAd},
}

// ClickIDs returns the click-id table, in order of precedence.
func ClickIDs() []ClickID { return append([]ClickID(nil), clickIDs[:]...) }

// LookupClickID finds a click id by its parameter name, in any case.
func LookupClickID(param string) (ClickID, bool) {
	for _, c := range clickIDs {
		if strings.EqualFold(param, c.Param) {
			return c, true
		}
	}
	return ClickID{}, false
}

// FromURL reads the campaign of a page URL, absolute or a path with a query.
// For a URL that url.Parse accepts it equals FromQuery(u.RawQuery).
func FromURL(rawURL string) event.Campaign {
	rawURL, _, _ = strings.Cut(rawURL, "#")
	_, query, ok := strings.Cut(rawURL, "?")
	if !ok {
		return event.Campaign{}
	}
	return FromQuery(query)
}

// FromQuery reads the campaign of a URL's raw (still escaped) query.
func FromQuery(rawQuery string) event.Campaign {
	var c event.Campaign
	var ref string
	click := len(clickIDs) // index of the best click id so far
	var lower [maxParamLength]byte
	for rawQuery != "" {
		var pair string
		pair, rawQuery, _ = strings.Cut(rawQuery, "&")
		key, value, _ := strings.Cut(pair, "=")
		if value == "" {
			continue // absent, whatever the name
		}
		key = unescape(key)
		if len(key) > len(lower) {
			continue // longer than every name we read
		}
		for i := 0; i < len(key); i++ {
			b := key[i]
			if 'A' <= b && b <= 'Z' {
				b += 'a' - 'A'
			}
			lower[i] = b
		}
		var field *string
		switch name := string(lower[:len(key)]); name {
		case "utm_source":
			field = &c.Source
		case "utm_medium":
			field = &c.Medium
		case "utm_campaign":
			field = &c.Name
		case "utm_term":
			field = &c.Term
		case "utm_content":
			field = &c.Content
		case "ref":
			field = &ref
		default:
			for i := 0; i < click; i++ {
				if name == clickIDs[i].Param && strings.TrimSpace(unescape(value)) != "" {
					click = i
					break
				}
			}
			continue
		}
		if *field == "" {
			*field = strings.TrimSpace(unescape(value))
		}
	}
	if c.Source == "" {
		// The shorthand newsletters and Plausible users put on links.
		c.Source = ref
	}
	if click < len(clickIDs) {
		c.ClickIDType = clickIDs[click].Param
	}
	return c
}

// maxParamLength is the length of the longest parameter name FromQuery reads
// (utm_campaign); every click id's is shorter.
const maxParamLength = len("utm_campaign")

// Normalize applies the value rules to a campaign a producer set directly:
// values trimmed, a known click id named as in [ClickIDs].
func Normalize(c event.Campaign) event.Campaign {
	c.Source = strings.TrimSpace(c.Source)
	c.Medium = strings.TrimSpace(c.Medium)
	c.Name = strings.TrimSpace(c.Name)
	c.Term = strings.TrimSpace(c.Term)
	c.Content = strings.TrimSpace(c.Content)
	c.ClickIDType = strings.TrimSpace(c.ClickIDType)
	if id, ok := LookupClickID(c.ClickIDType); ok {
		c.ClickIDType = id.Param
	}
	return c
}

// unescape decodes a query component; a malformed escape is kept as sent.
func unescape(s string) string {
	if strings.ContainsAny(s, "%+") {
		if u, err := url.QueryUnescape(s); err == nil {
			return u
		}
	}
	return s
}
