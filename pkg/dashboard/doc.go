// Package dashboard owns Teller's web UI and its JSON API: the login, the
// list of sites, a site's report page (KPIs, a daily chart, breakdowns and
// the latest sessions), and the same figures as JSON under /api.
//
// Pages are rendered on the server with html/template from embedded files;
// there is no JavaScript and nothing is loaded from elsewhere. Everything a
// visitor sent (paths, referrers, titles) is untrusted and reaches the page
// only through html/template's contextual escaping, under a Content Security
// Policy that forbids scripts.
//
// Access is behind a login. The first version has one account, given in
// Options, and login sessions in HMAC-signed cookies with absolute and idle
// expiry; forms carry CSRF tokens bound to the session (or, before login, to
// a pre-login cookie), and failed logins are limited per client address.
// Sessions sit behind the SessionStore interface and accounts behind a small
// interface, so that server-side sessions and stored accounts replace them
// without touching the handlers.
//
// The package computes nothing itself: figures come from pkg/report, sites
// from a SiteLister (pkg/store). It must not write to ClickHouse.
package dashboard
