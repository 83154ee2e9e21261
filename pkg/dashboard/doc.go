// Package dashboard owns Teller's web UI and its JSON API: the sign-in and
// account pages, the list of sites and their settings (add and edit a site,
// its snippet, whether events arrive), a site's report page (range and
// period shortcuts, filters kept in the URL as removable chips, KPIs against
// the previous period, a chart by metric and interval, a breakdown card for
// every dimension, realtime, data completeness, the latest sessions), the
// session explorer, goals and funnels, the bot and spam report, CSV exports,
// and the same figures as JSON under /api (docs/api.md).
//
// Every report URL carries its whole view (view.go): every link a page draws
// is that view with one thing changed, so views can be bookmarked. Each
// report has one core (api.go, api_reports.go) that the page, its CSV and
// its JSON twin call, so they cannot disagree; each page can show the SQL it
// ran, ready for clickhouse-client.
//
// Pages are rendered on the server with html/template from embedded files
// and work without JavaScript. Scripts are only the vendored chart library
// (static/vendor, pinned and checksummed by scripts/vendor-frontend.sh) and
// static/dashboard.js, which draws the chart from the page's own table of
// figures; the Content Security Policy allows scripts from 'self' only and
// no inline code. Everything a visitor sent (paths, referrers, titles,
// event names and properties) is untrusted and reaches the page only
// through html/template's contextual escaping; links are built from the
// view, never from visitor data, so none is a javascript: URL.
//
// Access is behind a login (pkg/account): the login cookie holds only a
// random id, checked against ClickHouse on every request. A user sees only
// the sites granted to them; a site that is not granted answers as one that
// does not exist, on every page, export and API route. Site settings and
// goals are changed by the site's admins, sites added by Teller admins. The
// JSON API also takes read-only, per-site API tokens (Authorization:
// Bearer). Every request body is bounded and must be a URL-encoded form
// before anything parses it, and every state-changing form carries a CSRF
// token bound to the login (or, before sign-in, to a pre-login cookie).
//
// The package computes no figures itself: they come from pkg/report, sites
// from a SiteLister (pkg/store), and everything about users and logins from
// pkg/account. It writes only through pkg/account, a SiteSaver and a
// report.GoalStore.
package dashboard
