package enrich

import (
	"strings"

	"github.com/teller-analytics/teller/pkg/enrich/campaign"
	"github.com/teller-analytics/teller/pkg/event"
)

// signals is what a campaign says about how the visitor came, in the form
// the channel rules compare: the campaign itself is parsed by
// pkg/enrich/campaign, the one parser of it.
type signals struct {
	medium string           // utm_medium, lower case
	source string           // utm_source (or ref), lower case
	click  campaign.ClickID // the click id; zero when none
}

// signalsOf lower-cases what the rules compare case-insensitively.
func signalsOf(c event.Campaign) signals {
	s := signals{medium: strings.ToLower(c.Medium), source: strings.ToLower(c.Source)}
	if c.ClickIDType != "" {
		s.click, _ = campaign.LookupClickID(c.ClickIDType)
	}
	return s
}

// adChannel is the channel a click id's ad proves; "" for none.
func adChannel(ad campaign.Ad) string {
	switch ad {
	case campaign.SearchAd:
		return ChannelPaidSearch
	case campaign.SocialAd:
		return ChannelPaidSocial
	case campaign.OtherAd:
		return ChannelPaidOther
	}
	return ""
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
