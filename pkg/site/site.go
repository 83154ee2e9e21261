// Package site owns the site model: what a registered site is, how its id,
// domains and time zone are validated, and which hosts belong to it
// (InDomain, for page and referrer hosts alike). Persistence is pkg/store's;
// Registry is the in-memory copy the collector and the sessionizer look sites
// up in.
package site

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
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
		d = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(d)), ".")
		d = strings.TrimPrefix(strings.TrimPrefix(d, "https://"), "http://")
		if d == "" || strings.ContainsAny(d, "/:?# ") {
			return fmt.Errorf("%w: domain %q must be a bare host name such as example.com", ErrInvalid, s.Domains[i])
		}
		s.Domains[i] = d
	}
	if s.Timezone == "" {
		s.Timezone = "UTC"
	}
	if _, err := time.LoadLocation(s.Timezone); err != nil {
		return fmt.Errorf("%w: time zone %q: %v", ErrInvalid, s.Timezone, err)
	}
	if s.Name == "" {
		s.Name = s.Domains[0]
	}
	return nil
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
