// Package dashboard owns Teller's web UI and its JSON API: the sign-in and
// account pages, the list of sites, a site's report page (KPIs, a daily
// chart, breakdowns and the latest sessions), and the same figures as JSON
// under /api.
//
// Pages are rendered on the server with html/template from embedded files;
// there is no JavaScript and nothing is loaded from elsewhere. Everything a
// visitor sent (paths, referrers, titles) is untrusted and reaches the page
// only through html/template's contextual escaping, under a Content Security
// Policy that forbids scripts.
//
// Access is behind a login (pkg/account): the login cookie holds only a
// random id, checked against ClickHouse on every request. A user sees only
// the sites granted to them; a site that is not granted answers as one that
// does not exist, on every page and API route. The JSON API also takes
// read-only, per-site API tokens (Authorization: Bearer). Every request body
// is bounded and must be a URL-encoded form before anything parses it, and
// every state-changing form carries a CSRF token bound to the login (or,
// before sign-in, to a pre-login cookie).
//
// The package computes no figures itself: they come from pkg/report, sites
// from a SiteLister (pkg/store), and everything about users and logins from
// pkg/account, the only part that writes to ClickHouse.
package dashboard
