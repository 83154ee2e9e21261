package dashboard

import "github.com/teller-analytics/teller/pkg/report"

// Readable names of the report URL names (pkg/report/API.md), for headings,
// chips and forms. A name missing here is shown as it is.

// dimensionTitles are the breakdown cards' headings, dimensionKeys the
// singular used in chips ("Page is /about") and table headers.
var dimensionTitles = map[string]string{
	"page": "Pages", "entry_page": "Entry pages", "exit_page": "Exit pages", "source": "Sources",
	"referrer": "Referrers", "channel": "Channels", "utm_source": "Campaign sources", "utm_medium": "Campaign media",
	"utm_campaign": "Campaigns", "utm_term": "Campaign terms", "utm_content": "Campaign content", "browser": "Browsers",
	"browser_version": "Browser versions", "os": "Operating systems", "device": "Devices", "screen": "Screen sizes",
	"country": "Countries", "event": "Custom events", "start_reason": "Why sessions started",
	// The old plural names, until pkg/report renames them.
	"pages": "Pages", "entry_pages": "Entry pages", "exit_pages": "Exit pages", "referrers": "Referrers", "channels": "Channels",
}

var dimensionKeys = map[string]string{
	"page": "Page", "entry_page": "Entry page", "exit_page": "Exit page", "source": "Source", "referrer": "Referrer",
	"channel": "Channel", "utm_source": "utm_source", "utm_medium": "utm_medium", "utm_campaign": "utm_campaign",
	"utm_term": "utm_term", "utm_content": "utm_content", "browser": "Browser", "browser_version": "Browser version",
	"os": "OS", "device": "Device", "screen": "Screen", "country": "Country", "event": "Event", "start_reason": "Start reason",
	"pages": "Page", "entry_pages": "Entry page", "exit_pages": "Exit page", "referrers": "Referrer", "channels": "Channel",
}

// emptyKeys say what an empty key means per dimension.
var emptyKeys = map[string]string{"referrer": "(direct)", "referrers": "(direct)", "source": "(none)", "device": "(unknown)",
	"screen": "(unknown)", "country": report.UnknownCountry}

var opLabels = map[report.Op]string{report.Is: "is", report.IsNot: "is not", report.Contains: "contains",
	report.NotContains: "does not contain"}

// startReasons explain why a session started, for every session.Reason
// (tied by TestStartReasons).
var startReasons = map[string]string{
	"first_visit": "First visit: no earlier session of this visitor was known.",
	"inactivity":  "The visitor came back after a longer pause than the inactivity timeout.",
	"max_length":  "The visitor's previous session reached the maximum session length.",
	"midnight":    "The day changed in the site's time zone, where the rules split sessions at midnight.",
	"campaign":    "The visitor arrived through another campaign, where the rules start a new session for it.",
}

func title(dim string) string     { return labelOr(dimensionTitles, dim) }
func keyHeader(dim string) string { return labelOr(dimensionKeys, dim) }

func labelOr(m map[string]string, k string) string {
	if v, ok := m[k]; ok {
		return v
	}
	return k
}

// reasonText is a start reason's explanation, or the reason itself.
func reasonText(r string) string { return labelOr(startReasons, r) }
