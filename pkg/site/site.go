// Package site owns the site model: what a registered site is, how its id,
// domains, time zone and settings are validated (Settings, with Fields, the
// one list of settings the CLI and the dashboard's form offer), and which
// hosts belong to it (InDomain, for page and referrer hosts alike).
// Persistence is pkg/store's; Registry is the in-memory copy the collector
// and the sessionizer look sites up in, with each site's zone and session
// options resolved when it loads.
package site

import (
	"errors"
	"fmt"
	"math"
	"net"
	"regexp"
	"strings"
	"time"

	"golang.org/x/net/publicsuffix"

	"github.com/teller-analytics/teller/pkg/session"
)

// Site is one tracked web site.
type Site struct {
	// ID is the snippet's data-site value: 1-64 of a-z, 0-9, '.', '_' and '-'.
	ID string
	// Name is for display; defaults to the first domain.
	Name string
	// Domains are the hosts the site is served on. A page on a subdomain of
	// one of them belongs to the site too.
	Domains []string
	// Timezone is an IANA zone name for report days; default UTC.
	Timezone string
	// CreatedAt is when the site was registered.
	CreatedAt time.Time
	// Settings are how the collector treats the site's visitors.
	Settings Settings
}

// Settings are a site's collector and session options. The zero value is
// the default: a visitor cookie with SameSite chosen automatically, bots kept
// and flagged, the standard query allow-list, the collector's default rate,
// DNT and GPC left to the snippet, and the sessionizer's split rules.
type Settings struct {
	// CookieMode is CookieModeCookie (default, "" too) or CookieModeCookieless.
	CookieMode string
	// CookieDomain, if set, is the visitor cookie's Domain attribute for this
	// site's pages (a registrable domain or a subdomain, never a public suffix).
	CookieDomain string
	// SameSite is SameSiteAuto (default, "" too), "lax", "strict" or "none".
	SameSite string
	// Bots is BotsFlag (default, "" too: kept with their reason) or BotsDrop.
	Bots string
	// QueryParams are query parameters kept in stored URLs in addition to the
	// standard allow-list (utm_*, ref), lower case.
	QueryParams []string
	// RateLimit is the events per second the site accepts in total; 0 means
	// the collector's default.
	RateLimit float64
	// RateBurst is how many events above RateLimit a burst may bring; 0
	// means the collector's default.
	RateBurst int
	// RespectDNT makes the collector store nothing for a request that
	// carries DNT: 1 or Sec-GPC: 1 (it answers 204): the browser's Do Not
	// Track or Global Privacy Control decides, not only the snippet's
	// data-respect-dnt attribute.
	RespectDNT bool
	// MidnightSplit is SplitDefault ("" too: the sessionizer's
	// -split-at-midnight), SplitOn or SplitOff: whether the site's sessions
	// split at midnight in its time zone.
	MidnightSplit string
	// CampaignSplit is SplitDefault ("" too: the sessionizer's
	// -split-on-campaign), SplitOn or SplitOff: whether a change of
	// explicit campaign parameters starts a new session.
	CampaignSplit string
	// SessionGap is the inactivity that ends the site's sessions, between
	// MinSessionGap and MaxSessionGap; 0 (the default) is the sessionizer's
	// -session-gap. The sessionizer cuts one longer than its
	// -max-site-session-gap to that.
	SessionGap time.Duration
}

// Setting values.
const (
	CookieModeCookie     = "cookie"
	CookieModeCookieless = "cookieless"
	SameSiteAuto         = "auto"
	SameSiteLax          = "lax"
	SameSiteStrict       = "strict"
	SameSiteNone         = "none"
	BotsFlag             = "flag"
	BotsDrop             = "drop"
	SplitDefault         = "default"
	SplitOn              = "on"
	SplitOff             = "off"
)

// The bounds of Settings.SessionGap.
const (
	MinSessionGap = time.Minute
	MaxSessionGap = 24 * time.Hour
)

// MaxQueryParams bounds a site's allow-list additions.
const MaxQueryParams = 32

// Cookieless reports whether the site uses the cookieless visitor hash.
func (s *Settings) Cookieless() bool { return s.CookieMode == CookieModeCookieless }

// DropBots reports whether bot and prefetch events are dropped.
func (s *Settings) DropBots() bool { return s.Bots == BotsDrop }

var paramPattern = regexp.MustCompile(`^[a-z0-9_.\-\[\]]{1,64}$`)

// normalize fills the defaults and validates the settings.
func (s *Settings) normalize(siteID string) error {
	s.CookieMode = strings.ToLower(strings.TrimSpace(s.CookieMode))
	switch s.CookieMode {
	case "":
		s.CookieMode = CookieModeCookie
	case CookieModeCookie, CookieModeCookieless:
	default:
		return fmt.Errorf("%w: site %s: cookie mode %q: want cookie or cookieless", ErrInvalid, siteID, s.CookieMode)
	}
	s.SameSite = strings.ToLower(strings.TrimSpace(s.SameSite))
	switch s.SameSite {
	case "":
		s.SameSite = SameSiteAuto
	case SameSiteAuto, SameSiteLax, SameSiteStrict, SameSiteNone:
	default:
		return fmt.Errorf("%w: site %s: SameSite %q: want auto, lax, strict or none", ErrInvalid, siteID, s.SameSite)
	}
	s.Bots = strings.ToLower(strings.TrimSpace(s.Bots))
	switch s.Bots {
	case "":
		s.Bots = BotsFlag
	case BotsFlag, BotsDrop:
	default:
		return fmt.Errorf("%w: site %s: bot handling %q: want flag or drop", ErrInvalid, siteID, s.Bots)
	}
	if s.CookieDomain != "" {
		d, err := NormalizeHost(s.CookieDomain)
		if err != nil {
			return fmt.Errorf("%w: site %s: cookie domain: %v", ErrInvalid, siteID, err)
		}
		s.CookieDomain = d
	}
	if len(s.QueryParams) > MaxQueryParams {
		return fmt.Errorf("%w: site %s: %d query parameters; at most %d", ErrInvalid, siteID, len(s.QueryParams), MaxQueryParams)
	}
	for i, q := range s.QueryParams {
		q = strings.ToLower(strings.TrimSpace(q))
		if !paramPattern.MatchString(q) {
			return fmt.Errorf("%w: site %s: query parameter %q: want 1-64 of a-z, 0-9, '_', '-', '.', '[', ']'", ErrInvalid, siteID, s.QueryParams[i])
		}
		s.QueryParams[i] = q
	}
	if s.RateLimit < 0 || math.IsNaN(s.RateLimit) || math.IsInf(s.RateLimit, 0) {
		return fmt.Errorf("%w: site %s: rate limit %v: want events per second, 0 for the collector's default", ErrInvalid, siteID, s.RateLimit)
	}
	if s.RateBurst < 0 {
		return fmt.Errorf("%w: site %s: rate burst %d: want 0 or more", ErrInvalid, siteID, s.RateBurst)
	}
	for _, sp := range []struct {
		v    *string
		what string
	}{{&s.MidnightSplit, "midnight split"}, {&s.CampaignSplit, "campaign split"}} {
		*sp.v = strings.ToLower(strings.TrimSpace(*sp.v))
		switch *sp.v {
		case "":
			*sp.v = SplitDefault
		case SplitDefault, SplitOn, SplitOff:
		default:
			return fmt.Errorf("%w: site %s: %s %q: want default (the sessionizer's setting), on or off", ErrInvalid, siteID, sp.what, *sp.v)
		}
	}
	if s.SessionGap != 0 && (s.SessionGap < MinSessionGap || s.SessionGap > MaxSessionGap) {
		return fmt.Errorf("%w: site %s: session gap %s: want %s to %s, or 0 for the sessionizer's -session-gap",
			ErrInvalid, siteID, s.SessionGap, MinSessionGap, MaxSessionGap)
	}
	return nil
}

// SessionOptions are the split rules the site sets for itself, as the
// sessionizer applies them to each of its events (session.Input.Options).
func (s *Settings) SessionOptions() session.SiteOptions {
	return session.SiteOptions{Gap: s.SessionGap, SplitAtMidnight: splitSwitch(s.MidnightSplit), SplitOnCampaign: splitSwitch(s.CampaignSplit)}
}

func splitSwitch(v string) session.Switch {
	switch v {
	case SplitOn:
		return session.On
	case SplitOff:
		return session.Off
	}
	return session.Inherit
}

var labelPattern = regexp.MustCompile(`^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$`)

// NormalizeHost lower-cases a host name (dropping a scheme and a trailing
// dot) and checks it: an IP address, or labels of letters, digits, '-' and
// '_' (international names in their xn-- form), and never a public suffix
// alone (com, co.uk, github.io: golang.org/x/net/publicsuffix), which would
// claim every site under it. A single-label name outside the suffix list
// (localhost, an intranet host) is allowed.
func NormalizeHost(h string) (string, error) {
	orig := h
	h = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(h)), ".")
	h = strings.TrimPrefix(strings.TrimPrefix(h, "https://"), "http://")
	if h == "" || strings.ContainsAny(h, "/:?#@ ") {
		return "", fmt.Errorf("%q must be a bare host name such as example.com", orig)
	}
	if net.ParseIP(h) != nil {
		return h, nil
	}
	if len(h) > 253 {
		return "", fmt.Errorf("%q is longer than 253 characters", orig)
	}
	for _, l := range strings.Split(h, ".") {
		if !labelPattern.MatchString(l) {
			return "", fmt.Errorf("%q: label %q must be 1-63 of a-z, 0-9, '-' and '_', not starting or ending with '-' (write international names as xn--)", orig, l)
		}
	}
	if ps, icann := publicsuffix.PublicSuffix(h); ps == h && (icann || strings.Contains(h, ".")) {
		return "", fmt.Errorf("%q is a public suffix: name a domain registered under it, such as example.%s", orig, h)
	}
	return h, nil
}

var idPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

// ErrInvalid wraps site validation failures.
var ErrInvalid = errors.New("invalid site")

// Normalize fills defaults, lower-cases domains and validates the site.
func (s *Site) Normalize() error {
	s.ID = strings.TrimSpace(s.ID)
	if !idPattern.MatchString(s.ID) {
		return fmt.Errorf("%w: id %q must be 1-64 of a-z, 0-9, '.', '_', '-', starting with a letter or digit", ErrInvalid, s.ID)
	}
	if len(s.Domains) == 0 {
		return fmt.Errorf("%w: site %s needs at least one domain", ErrInvalid, s.ID)
	}
	for i, d := range s.Domains {
		d, err := NormalizeHost(d)
		if err != nil {
			return fmt.Errorf("%w: domain %v", ErrInvalid, err)
		}
		s.Domains[i] = d
	}
	if s.Timezone == "" {
		s.Timezone = "UTC"
	}
	// "Local" is whatever zone the reading machine has: the collector,
	// sessionizer and dashboard would each file days differently.
	if s.Timezone == "Local" {
		return fmt.Errorf("%w: time zone %q: name an IANA zone such as Europe/Berlin or UTC", ErrInvalid, s.Timezone)
	}
	if _, err := time.LoadLocation(s.Timezone); err != nil {
		return fmt.Errorf("%w: time zone %q: %v", ErrInvalid, s.Timezone, err)
	}
	if s.Name == "" {
		s.Name = s.Domains[0]
	}
	return s.Settings.normalize(s.ID)
}

// Location is the site's time zone (UTC if it does not load). It reads the
// zone database on every call; Registry.Location is the resolved zone for
// hot paths.
func (s *Site) Location() *time.Location {
	loc, err := time.LoadLocation(s.Timezone)
	if err != nil {
		return time.UTC
	}
	return loc
}

// OwnsHost reports whether a page on host (without port) belongs to the site:
// the host is one of its domains or a subdomain of one (see InDomain).
func (s *Site) OwnsHost(host string) bool {
	for _, d := range s.Domains {
		if InDomain(host, d) {
			return true
		}
	}
	return false
}

// InDomain reports whether host is domain or a subdomain of it. It is the one
// definition of "this host belongs to that domain", for page hosts (OwnsHost,
// the collector) and referrer hosts (pkg/enrich: an internal referrer) alike.
// Case, a trailing dot and a leading "www." on either side are ignored, so
// www.example.com belongs to example.com and the other way round; a look-alike
// (notexample.com) or a parent domain does not belong. An empty host or domain
// belongs to nothing. Neither argument may carry a port or scheme.
func InDomain(host, domain string) bool {
	host, domain = bareHost(host), bareHost(domain)
	switch {
	case domain == "" || len(host) < len(domain):
		return false
	case len(host) == len(domain):
		return strings.EqualFold(host, domain)
	}
	return host[len(host)-len(domain)-1] == '.' && strings.EqualFold(host[len(host)-len(domain):], domain)
}

// bareHost drops a trailing dot and a leading "www." (in any case).
func bareHost(h string) string {
	h = strings.TrimSuffix(h, ".")
	if len(h) > 4 && strings.EqualFold(h[:4], "www.") {
		h = h[4:]
	}
	return h
}
