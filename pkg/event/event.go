// Package event owns the event contract: the message the collector writes to
// Kafka and the sessionizer reads. It is a public, versioned interface: other
// producers may write it too, so fields are only ever added, and a change of
// meaning needs a new Version.
//
// The package validates and encodes events; it knows nothing of HTTP, Kafka or
// ClickHouse.
package event

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"unicode/utf8"

	"github.com/google/uuid"
)

// Version is the contract version this build writes and the newest it reads.
const Version = 1

// Kind says what happened.
type Kind string

const (
	// KindPageview is a page being shown, including a single-page app's route change.
	KindPageview Kind = "pageview"
	// KindCustom is a named event from the site's own code (teller('signup', {...})),
	// or an automatic one such as an outbound-link or download click.
	KindCustom Kind = "event"
	// KindEngagement is sent when a page is hidden or left: how long it was
	// visible and how far it was scrolled. It extends the session's duration.
	KindEngagement Kind = "engagement"
)

// Valid reports whether k is one of the kinds above.
func (k Kind) Valid() bool {
	return k == KindPageview || k == KindCustom || k == KindEngagement
}

// Limits applied by Validate. Longer input is refused, never truncated, so that
// what lands in ClickHouse is what the producer sent. (The collector clips the
// referrer, title and user agent with Clip before it builds an event: the
// browser decides those, not the site owner's code.) A campaign value comes
// from the URL, so none may be longer than MaxURLLength.
const (
	MaxURLLength     = 2048
	MaxTitleLength   = 512
	MaxNameLength    = 120
	MaxUserAgent     = 1024
	MaxProps         = 30
	MaxPropKeyLength = 64
	MaxPropValLength = 512
	MaxBotLength     = 64
)

// Campaign holds the campaign parameters of the page URL (utm_*) and the
// advertising click id, if any. The collector fills it from URL with
// pkg/enrich/campaign, which owns the parsing rules (names in any case, values
// trimmed, ref as utm_source); the sessionizer reads the campaign from URL with
// the same parser again and uses this field only when URL carries none, for
// producers that set it directly.
type Campaign struct {
	Source  string `json:"source,omitempty"`  // utm_source
	Medium  string `json:"medium,omitempty"`  // utm_medium
	Name    string `json:"name,omitempty"`    // utm_campaign
	Term    string `json:"term,omitempty"`    // utm_term
	Content string `json:"content,omitempty"` // utm_content
	// ClickIDType names the click-id parameter found, lower case (gclid,
	// gbraid, msclkid, fbclid...: the table is campaign.ClickIDs); the id
	// itself is not kept.
	ClickIDType string `json:"click_id_type,omitempty"`
}

// IsZero reports whether no campaign parameter was present.
func (c Campaign) IsZero() bool { return c == Campaign{} }

// longestField is the length of the campaign's longest value.
func (c Campaign) longestField() int {
	return max(len(c.Source), len(c.Medium), len(c.Name), len(c.Term), len(c.Content), len(c.ClickIDType))
}

// Event is one Kafka message on the events topic (JSON, key = visitor id).
type Event struct {
	// V is the contract version (Version).
	V int `json:"v"`
	// ID is a random UUID made by the collector when it accepted the event.
	// It makes writes idempotent: the same id twice is one event.
	ID uuid.UUID `json:"id"`
	// Site is the registered site id (see pkg/site).
	Site string `json:"site"`
	// Visitor is the id from the signed first-party visitor cookie.
	Visitor uuid.UUID `json:"visitor"`
	// NewVisitor is true when the collector minted Visitor for this request
	// (no valid cookie came with it): a session it opens is a first visit.
	NewVisitor bool `json:"new_visitor,omitempty"`
	// ReceivedMs is when the collector received the event, Unix milliseconds
	// on the collector's clock, never the browser's; an event the browser
	// queued is moved back by the age it reported.
	ReceivedMs int64 `json:"received_ms"`
	// Kind says what happened.
	Kind Kind `json:"kind"`
	// Name is the custom event's name; "pageview" and "engagement" for the other kinds.
	Name string `json:"name"`
	// URL is the page's full URL as the browser saw it.
	URL string `json:"url"`
	// Referrer is document.referrer on the page view, empty if none.
	Referrer string `json:"referrer,omitempty"`
	// Title is the document title.
	Title string `json:"title,omitempty"`
	// UserAgent is the request's User-Agent header.
	UserAgent string `json:"user_agent,omitempty"`
	// ScreenWidth and ScreenHeight are the screen size in CSS pixels (0 if unknown).
	ScreenWidth  int `json:"screen_width,omitempty"`
	ScreenHeight int `json:"screen_height,omitempty"`
	// Campaign holds the URL's campaign parameters.
	Campaign Campaign `json:"campaign,omitzero"`
	// Props are the custom event's properties (also allowed on pageviews).
	Props map[string]string `json:"props,omitempty"`
	// EngagedMs is, on an engagement event, how long the page was visible.
	EngagedMs int64 `json:"engaged_ms,omitempty"`
	// ScrollDepth is, on an engagement event, the deepest scroll in percent (0-100).
	ScrollDepth int `json:"scroll_depth,omitempty"`
	// Country is the ISO 3166-1 alpha-2 code the collector looked the
	// client's address up to (upper case), empty when unknown. The address
	// itself is never in the event.
	Country string `json:"country,omitempty"`
	// Bot is set by the collector when the request itself shows it is not a
	// person looking at the page: "prefetch" (Sec-Purpose or Purpose:
	// prefetch), or the user agent's bot reason as pkg/enrich gives it
	// ("<class>:<pattern>", e.g. "crawler:Googlebot", "headless:HeadlessChrome");
	// empty otherwise. The sessionizer's user-agent detection applies on top of it.
	Bot string `json:"bot,omitempty"`

	// page is URL as Validate parsed it (pageOf is the string it parsed),
	// so that a consumer does not parse the URL a second time: see PageURL.
	page   *url.URL
	pageOf string
}

// ErrInvalid wraps every validation failure, so callers can tell bad input
// from a failure of their own.
var ErrInvalid = errors.New("invalid event")

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// Validate checks the fields a producer controls. The error names the first
// field that is wrong. It keeps the parsed URL for PageURL, so it must not run
// concurrently with another use of e.
func (e *Event) Validate() error {
	switch {
	case e.V < 1 || e.V > Version:
		return invalid("unsupported version %d (this build reads 1..%d)", e.V, Version)
	case e.ID == uuid.Nil:
		return invalid("id is missing")
	case e.Site == "":
		return invalid("site is missing")
	case e.Visitor == uuid.Nil:
		return invalid("visitor is missing")
	case e.ReceivedMs <= 0:
		return invalid("received_ms is missing")
	case !e.Kind.Valid():
		return invalid("kind %q is not one of pageview, event, engagement", e.Kind)
	case e.Name == "" || len(e.Name) > MaxNameLength:
		return invalid("name must be 1..%d bytes", MaxNameLength)
	case len(e.Title) > MaxTitleLength:
		return invalid("title is longer than %d bytes", MaxTitleLength)
	case len(e.Referrer) > MaxURLLength:
		return invalid("referrer is longer than %d bytes", MaxURLLength)
	case len(e.UserAgent) > MaxUserAgent:
		return invalid("user_agent is longer than %d bytes", MaxUserAgent)
	case e.Campaign.longestField() > MaxURLLength:
		return invalid("campaign has a value longer than %d bytes", MaxURLLength)
	case e.ScreenWidth < 0 || e.ScreenWidth > 65535 || e.ScreenHeight < 0 || e.ScreenHeight > 65535:
		return invalid("screen size %dx%d is out of range", e.ScreenWidth, e.ScreenHeight)
	case e.EngagedMs < 0:
		return invalid("engaged_ms is negative")
	case e.ScrollDepth < 0 || e.ScrollDepth > 100:
		return invalid("scroll_depth %d is not a percentage", e.ScrollDepth)
	case len(e.Props) > MaxProps:
		return invalid("more than %d props", MaxProps)
	case e.Country != "" && !isCountryCode(e.Country):
		return invalid("country %q is not an upper-case ISO 3166-1 alpha-2 code", e.Country)
	case len(e.Bot) > MaxBotLength:
		return invalid("bot reason is longer than %d bytes", MaxBotLength)
	}
	page, err := e.PageURL()
	if err != nil {
		return err
	}
	e.page, e.pageOf = page, e.URL
	for k, v := range e.Props {
		if k == "" || len(k) > MaxPropKeyLength || len(v) > MaxPropValLength {
			return invalid("prop %q: keys must be 1..%d bytes and values at most %d", k, MaxPropKeyLength, MaxPropValLength)
		}
	}
	return nil
}

func isCountryCode(c string) bool {
	return len(c) == 2 && 'A' <= c[0] && c[0] <= 'Z' && 'A' <= c[1] && c[1] <= 'Z'
}

// ParsePageURL parses u and checks that it is an absolute http(s) URL of
// bounded length.
func ParsePageURL(u string) (*url.URL, error) {
	if u == "" {
		return nil, invalid("url is missing")
	}
	if len(u) > MaxURLLength {
		return nil, invalid("url is longer than %d bytes", MaxURLLength)
	}
	p, err := url.Parse(u)
	if err != nil {
		return nil, invalid("url does not parse: %v", err)
	}
	if (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
		return nil, invalid("url %q is not an absolute http(s) URL", u)
	}
	return p, nil
}

// PageURL is URL parsed and checked by ParsePageURL. After Validate it
// returns what Validate parsed, without parsing again, as long as URL was not
// changed since. The result is shared: callers must not modify it.
func (e *Event) PageURL() (*url.URL, error) {
	if e.page != nil && e.pageOf == e.URL {
		return e.page, nil
	}
	return ParsePageURL(e.URL)
}

// UsePageURL records u, ParsePageURL's result for e.URL, so that Validate
// and PageURL do not parse the URL again (the collector parses a page's URL
// before it builds the event). A later change of e.URL is parsed anew.
func (e *Event) UsePageURL(u *url.URL) { e.page, e.pageOf = u, e.URL }

// Marshal encodes e as the Kafka message value: the JSON of the struct's
// tags, written without reflection (encode.go).
func Marshal(e *Event) ([]byte, error) {
	return appendJSON(make([]byte, 0, 512), e), nil
}

// Unmarshal decodes and validates a Kafka message value.
func Unmarshal(b []byte) (*Event, error) {
	e := new(Event)
	if !decodeFast(b, e) {
		*e = Event{}
		if err := json.Unmarshal(b, e); err != nil {
			return nil, fmt.Errorf("%w: not a JSON event: %v", ErrInvalid, err)
		}
	}
	if err := e.Validate(); err != nil {
		return nil, err
	}
	return e, nil
}

// Clip bounds s to at most n bytes without splitting a UTF-8 sequence. It is
// the one truncation helper: producers use it to fit the limits above, and
// enrichment to bound the names it derives.
func Clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
