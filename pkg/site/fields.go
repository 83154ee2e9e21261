package site

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Field describes one per-site setting by the name that the
// `teller site add/edit` flag and the dashboard's form field share, so the
// two front ends offer the same settings, parsed and validated here.
type Field struct {
	// Name is the flag and form field name, e.g. "cookie-mode".
	Name string
	// Label is the form's label; Usage the flag's help.
	Label, Usage string
	// Choices are the allowed values of a choice, the default first; nil
	// for free text.
	Choices []string
	// Group is the part of Teller the setting steers, GroupCollector or
	// GroupSessions: the form shows each group under its own heading.
	Group string
}

// Setting groups (Field.Group).
const (
	GroupCollector = "Collector"
	GroupSessions  = "Sessions"
)

// Fields are the settings of Settings, in the order forms show them.
var Fields = []Field{
	{Name: "cookie-mode", Group: GroupCollector, Label: "Visitor identity", Choices: []string{CookieModeCookie, CookieModeCookieless},
		Usage: "cookie (a signed first-party visitor cookie, 13 months) or cookieless (a daily-salted hash of site, address and user agent; no cookie)"},
	{Name: "cookie-domain", Group: GroupCollector, Label: "Cookie domain",
		Usage: "Domain attribute of the visitor cookie, e.g. example.com to share it across the site's subdomains (default: the collector's own setting)"},
	{Name: "same-site", Group: GroupCollector, Label: "Cookie SameSite", Choices: []string{SameSiteAuto, SameSiteLax, SameSiteStrict, SameSiteNone},
		Usage: "SameSite of the visitor cookie: auto (Lax when collector and page share a registrable domain, else None; Secure), lax, strict or none"},
	{Name: "bots", Group: GroupCollector, Label: "Bots and prefetches", Choices: []string{BotsFlag, BotsDrop},
		Usage: "known crawlers, headless browsers and prefetches: flag (kept, marked with a reason) or drop"},
	{Name: "query-params", Group: GroupCollector, Label: "Query parameters kept",
		Usage: fmt.Sprintf("query parameters kept in stored URLs besides utm_* and ref, comma-separated (at most %d)", MaxQueryParams)},
	{Name: "rate-limit", Group: GroupCollector, Label: "Rate limit (events per second)",
		Usage: "events per second the site accepts in total; 0 for the collector's default (its -rate-site)"},
	{Name: "rate-burst", Group: GroupCollector, Label: "Rate burst",
		Usage: "events a burst may bring above the rate limit; 0 for twice the rate"},
	{Name: "respect-dnt", Group: GroupCollector, Label: "Respect Do Not Track / Global Privacy Control", Choices: []string{"off", "on"},
		Usage: "on: the collector stores nothing for a browser that sends DNT: 1 or Sec-GPC: 1 (answers 204), whatever the snippet says; off: only the snippet's data-respect-dnt decides"},
	{Name: "session-gap", Group: GroupSessions, Label: "Session gap",
		Usage: fmt.Sprintf("inactivity that ends the site's sessions, e.g. 45m or 2h (%s to %s); 0 for the sessionizer's -session-gap, which a gap longer than its -max-site-session-gap is cut to; a change applies from then on", shortDuration(MinSessionGap), shortDuration(MaxSessionGap))},
	{Name: "midnight-split", Group: GroupSessions, Label: "Split sessions at midnight", Choices: []string{SplitDefault, SplitOn, SplitOff},
		Usage: "start a new session at midnight in the site's time zone: default (the sessionizer's -split-at-midnight), on or off; a change applies to events sessionized from then on"},
	{Name: "campaign-split", Group: GroupSessions, Label: "Split sessions on a campaign change", Choices: []string{SplitDefault, SplitOn, SplitOff},
		Usage: "start a new session when explicit campaign parameters (utm_*, click ids) differ from the session's entry: default (the sessionizer's -split-on-campaign), on or off; a change applies from then on"},
}

// Set changes the setting named by a Field from its text form (a flag's or
// a form field's value). Choices are checked by Normalize, which every site
// passes before it is saved; Set checks what only the text form can get
// wrong (a number that is not one).
func (s *Settings) Set(name, value string) error {
	value = strings.TrimSpace(value)
	switch name {
	case "cookie-mode":
		s.CookieMode = value
	case "cookie-domain":
		s.CookieDomain = value
	case "same-site":
		s.SameSite = value
	case "bots":
		s.Bots = value
	case "query-params":
		s.QueryParams = SplitList(value)
	case "rate-limit":
		if value == "" {
			value = "0"
		}
		f, err := strconv.ParseFloat(value, 64)
		if err != nil {
			return fmt.Errorf("%w: rate limit %q: want events per second, such as 50 or 0.5 (0 for the collector's default)", ErrInvalid, value)
		}
		s.RateLimit = f
	case "rate-burst":
		if value == "" {
			value = "0"
		}
		n, err := strconv.Atoi(value)
		if err != nil {
			return fmt.Errorf("%w: rate burst %q: want a whole number of events (0 for the default)", ErrInvalid, value)
		}
		s.RateBurst = n
	case "respect-dnt":
		switch strings.ToLower(value) {
		case "on", "true", "yes", "1":
			s.RespectDNT = true
		case "off", "false", "no", "0", "":
			s.RespectDNT = false
		default:
			return fmt.Errorf("%w: respect-dnt %q: want on or off", ErrInvalid, value)
		}
	case "session-gap":
		if value == "" || value == "0" {
			s.SessionGap = 0
			break
		}
		d, err := time.ParseDuration(value)
		if err != nil {
			return fmt.Errorf("%w: session gap %q: want a duration such as 45m or 2h (0 for the sessionizer's)", ErrInvalid, value)
		}
		s.SessionGap = d
	case "midnight-split":
		s.MidnightSplit = value
	case "campaign-split":
		s.CampaignSplit = value
	default:
		return fmt.Errorf("%w: no setting %q", ErrInvalid, name)
	}
	return nil
}

// Value is the text form of the setting named by a Field, as Set reads it.
func (s *Settings) Value(name string) string {
	switch name {
	case "cookie-mode":
		return s.CookieMode
	case "cookie-domain":
		return s.CookieDomain
	case "same-site":
		return s.SameSite
	case "bots":
		return s.Bots
	case "query-params":
		return strings.Join(s.QueryParams, ",")
	case "rate-limit":
		return strconv.FormatFloat(s.RateLimit, 'g', -1, 64)
	case "rate-burst":
		return strconv.Itoa(s.RateBurst)
	case "respect-dnt":
		if s.RespectDNT {
			return "on"
		}
		return "off"
	case "session-gap":
		return shortDuration(s.SessionGap)
	case "midnight-split":
		return s.MidnightSplit
	case "campaign-split":
		return s.CampaignSplit
	}
	return ""
}

// shortDuration writes whole hours and minutes without the zero units
// time.Duration.String adds ("2h", "45m", "1h30m"), and 0 as "0".
func shortDuration(d time.Duration) string {
	switch {
	case d == 0:
		return "0"
	case d%time.Hour == 0:
		return strconv.FormatInt(int64(d/time.Hour), 10) + "h"
	case d%time.Minute == 0 && d < time.Hour:
		return strconv.FormatInt(int64(d/time.Minute), 10) + "m"
	case d%time.Minute == 0:
		return strconv.FormatInt(int64(d/time.Hour), 10) + "h" + strconv.FormatInt(int64(d%time.Hour/time.Minute), 10) + "m"
	}
	return d.String()
}

// FieldNames are the names of Fields, for flag sets that must know which
// flags are per-call.
func FieldNames() []string {
	names := make([]string, len(Fields))
	for i, f := range Fields {
		names[i] = f.Name
	}
	return names
}

// SplitList splits a list typed as text (domains, query parameters) on
// commas and white space, dropping empty entries.
func SplitList(v string) []string {
	out := strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\r' || r == '\t' })
	if out == nil {
		out = []string{}
	}
	return out
}

// Changed lists the settings that differ from the defaults, as
// name=value, in the order of Fields; s must be normalized.
func (s *Settings) Changed() []string {
	var def Settings
	def.normalize("") //nolint:errcheck // the zero value is valid
	var out []string
	for _, f := range Fields {
		if v := s.Value(f.Name); v != def.Value(f.Name) {
			out = append(out, f.Name+"="+v)
		}
	}
	return out
}
