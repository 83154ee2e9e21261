// Package enrich owns the mapping of an event to its row in the events table:
// turning the raw User-Agent header, document.referrer and page URL into the
// attributes events and sessions are reported by (browser, OS, device class,
// bot verdict; referrer domain, source name and channel; campaign; host and
// path). A session's entry attributes are those of its earliest event's row.
//
// Everything here is a pure function of its input: no I/O, no clock, no
// global mutable state, and every exported function and method is safe for
// concurrent use. Callers that sit at the edges (collector, sessionizer)
// decide when to call it and where the results go.
//
// # The pipe
//
// [Pipe] maps an event to a store.EventRow: it copies the event's own fields,
// parses the page URL once into a [Page], and runs [Step]s, each a one-method
// type that fills its own group of columns and can be tested alone:
// [PageURLStep], [CampaignStep], [ReferrerStep], [UserAgentStep] and
// [PropsStep] ([StandardSteps]). The session columns are the sessionizer's.
//
// # Campaigns
//
// The sub-package campaign is the one parser of utm_* parameters, the ref
// alias and click ids (its table of click ids is the only one). The collector
// uses it to fill event.Campaign; [CampaignOf] reads an event's campaign with
// it again from the URL, so the stored columns, the channel and the session
// campaign split agree, for events of any collector version.
//
// # User agents
//
// [UAParser] reads browser, OS and device with
// github.com/medama-io/go-useragent (about a microsecond), corrected by this
// package's rules: in-app browsers, and TVs and consoles (device classes "tv"
// and "console", their platform as OS, a browser only where one is named).
//
// Bots come first, from maintained data: the patterns of the npm package
// crawler-user-agents (MIT), vendored verbatim in crawlerdata/ with its
// licence, version and checksums (crawlerdata/VENDOR; scripts/refresh-crawlers.sh
// updates it, the tests check the file against the record), plus the few in
// ownCrawlers that the list lacks, plus a product token that calls itself a
// bot, crawler or spider. Every pattern compiles under RE2 and is reduced to
// literals (its exact spellings, or one literal its matches all contain and
// its regular expression to confirm), so one Aho-Corasick pass over the user
// agent finds every candidate whatever the number of patterns: a few
// microseconds for a browser, where trying the patterns one by one took a
// millisecond. [UserAgent.BotReason] names the pattern that matched,
// "<class>:<name>", the class from its tags. Results are cached per
// user-agent string in a bounded LRU (github.com/hashicorp/golang-lru/v2).
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
