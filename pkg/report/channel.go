package report

import "github.com/teller-analytics/teller/pkg/enrich"

// channelLabels are the readable names of the channel ids enrichment
// writes (pkg/enrich owns the ids).
var channelLabels = map[string]string{
	enrich.ChannelDirect:        "Direct",
	enrich.ChannelInternal:      "Internal",
	enrich.ChannelOrganicSearch: "Organic search",
	enrich.ChannelPaidSearch:    "Paid search",
	enrich.ChannelOrganicSocial: "Organic social",
	enrich.ChannelPaidSocial:    "Paid social",
	enrich.ChannelEmail:         "Email",
	enrich.ChannelAIAssistant:   "AI assistant",
	enrich.ChannelReferral:      "Referral",
	enrich.ChannelPaidOther:     "Paid (other)",
}

// ChannelLabel is the readable name of a channel id ("organic_search" is
// "Organic search"), one table for the pages, the CSV and the JSON API. An
// unknown id is returned as it is; "" is "(none)".
func ChannelLabel(id string) string {
	if l, ok := channelLabels[id]; ok {
		return l
	}
	if id == "" {
		return "(none)"
	}
	return id
}
