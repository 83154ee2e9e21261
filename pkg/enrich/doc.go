// Package enrich owns the enrichment of a session's opening event: turning the
// raw User-Agent header, document.referrer and landing-page URL into the
// attributes a session is reported by (browser, OS, device class, bot
// verdict; referrer domain, source name and channel).
//
// Everything here is a pure function of its input: no I/O, no clock, no
// global mutable state, and every exported function and method is safe for
// concurrent use. Callers that sit at the edges (collector, sessionizer)
// decide when to call it and where the results go.
//
// # User agents
//
// [UAParser] combines github.com/medama-io/go-useragent (browser, OS, device;
// about a microsecond) with bot detection: first this package's own table of
// well-known bots, which also names them ([UserAgent.BotReason]), then
// github.com/x-way/crawlerdetect as the broad fallback. crawlerdetect costs
// 0.1 to 1 ms per user agent, so results are cached per user-agent string in a
// bounded LRU (github.com/hashicorp/golang-lru/v2).
//
// # Referrers
//
// [ClassifyReferrer] uses this package's own table of known hosts
// (sources.go: search engines, social networks, webmail, AI assistants),
// written here from the services' public domains. No third-party referrer
// list is embedded: Snowplow's referers.yml is GPL-3.0, and
// github.com/Shopify/goreferrer's data dates from 2022 and would need an
// overlay for every network that matters now (Bluesky, Threads, AI
// assistants), so a small table of our own is both simpler and faster. The
// channel rules are GA4-like and documented on [ClassifyReferrer].
package enrich
