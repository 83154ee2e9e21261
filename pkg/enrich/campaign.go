package enrich

import (
	"net/url"
	"strings"
)

// campaign is what the landing URL's query says about how the visitor came.
type campaign struct {
	medium string // utm_medium, trimmed, lower case
	source string // utm_source, trimmed, lower case
	click  clickID
}

// clickID is an advertising click id found on the landing URL.
type clickID struct {
	param   string // query parameter, e.g. "gclid"; "" when none
	channel string // the paid channel it proves; "" when it proves none
	source  string // the Source it implies when nothing else names one
}

// clickIDs are the click-id parameters ad platforms append to the landing
// URL, in order of precedence when several are present.
//
// fbclid is deliberately not paid: Facebook and Instagram append it to every
// outbound link, organic posts included, so on its own it only says the
// visitor came from Meta's apps (organic_social when there is no referrer).
// Meta ads are paid only when tagged with utm_medium.
var clickIDs = []clickID{
	{"gclid", ChannelPaidSearch, "Google"}, // Google Ads auto-tagging
	{"gbraid", ChannelPaidSearch, "Google"},
	{"wbraid", ChannelPaidSearch, "Google"},
	{"msclkid", ChannelPaidSearch, "Bing"}, // Microsoft Advertising
	{"dclid", ChannelPaidOther, "Google"},  // Display & Video 360 / Campaign Manager
	{"ttclid", ChannelPaidSocial, "TikTok"},
	{"twclid", ChannelPaidSocial, "X"},
	{"li_fat_id", ChannelPaidSocial, "LinkedIn"},
	{"rdt_cid", ChannelPaidSocial, "Reddit"},
	{"sccid", ChannelPaidSocial, "Snapchat"},
	{"epik", ChannelPaidSocial, "Pinterest"},
	{"fbclid", "", "Facebook"},
}

// parseCampaign reads utm_medium, utm_source and click ids from the query of
// landing, an absolute URL or a path with a query. Parameter names match
// case-insensitively; malformed escapes are kept as sent.
func parseCampaign(landing string) campaign {
	var c campaign
	_, query, ok := strings.Cut(landing, "?")
	if !ok {
		return c
	}
	query, _, _ = strings.Cut(query, "#")
	click := len(clickIDs)
	for query != "" {
		var pair string
		pair, query, _ = strings.Cut(query, "&")
		key, value, _ := strings.Cut(pair, "=")
		switch {
		case strings.EqualFold(key, "utm_medium"):
			c.medium = normalizeParam(value)
		case strings.EqualFold(key, "utm_source"):
			c.source = normalizeParam(value)
		case value != "":
			for i := 0; i < click; i++ {
				if strings.EqualFold(key, clickIDs[i].param) {
					click = i
					break
				}
			}
		}
	}
	if click < len(clickIDs) {
		c.click = clickIDs[click]
	}
	return c
}

// normalizeParam unescapes a query value, trims it and lower-cases it.
func normalizeParam(v string) string {
	if strings.ContainsAny(v, "%+") {
		if u, err := url.QueryUnescape(v); err == nil {
			v = u
		}
	}
	return strings.ToLower(strings.TrimSpace(v))
}

// Medium classes, from the utm_medium value.
type mediumClass uint8

const (
	mediumNone       mediumClass = iota // empty or not recognised
	mediumPaidSearch                    // says paid search outright
	mediumPaidSocial                    // says paid social outright
	mediumPaid                          // cpc, ppc, paid...: the source decides search, social or other
	mediumPaidOther                     // display, banner, cpm, affiliate...
	mediumEmail                         // email, newsletter
	mediumSocial                        // social, sm: organic social
	mediumOrganic                       // organic: organic search
)

// classifyMedium sorts a utm_medium value (lower case). The patterns follow
// GA4's default channel group, collapsed to Teller's channels.
func classifyMedium(m string) mediumClass {
	if m == "" {
		return mediumNone
	}
	// Separators vary: paid_social, paid-social, paid social, paidsocial.
	squashed := strings.Map(func(r rune) rune {
		switch r {
		case '_', '-', ' ', '.':
			return -1
		}
		return r
	}, m)
	switch squashed {
	case "paidsearch", "searchpaid", "sem", "searchads":
		return mediumPaidSearch
	case "paidsocial", "socialpaid", "socialads", "socialad", "paidsocialmedia":
		return mediumPaidSocial
	case "display", "banner", "banners", "cpm", "cpv", "cpa", "affiliate", "affiliates",
		"interstitial", "expandable", "paiddisplay", "paidvideo":
		return mediumPaidOther
	case "email", "mail", "newsletter", "newsletters":
		return mediumEmail
	case "social", "socialnetwork", "socialmedia", "sm", "organicsocial":
		return mediumSocial
	case "organic", "organicsearch", "seo":
		return mediumOrganic
	case "cpc", "ppc", "paid", "retargeting", "remarketing":
		return mediumPaid
	}
	switch {
	case strings.Contains(squashed, "email") || strings.Contains(squashed, "newsletter"):
		return mediumEmail
	case strings.HasPrefix(squashed, "paid") || strings.Contains(squashed, "cpc"):
		return mediumPaid
	}
	return mediumNone
}

// isEmailSource reports whether a utm_source value (lower case) names e-mail
// rather than a service: "email", "newsletter", "e-mail_weekly".
func isEmailSource(s string) bool {
	return strings.Contains(s, "email") || strings.Contains(s, "e-mail") ||
		strings.Contains(s, "e_mail") || strings.Contains(s, "newsletter")
}
