package enrich

import (
	"strings"

	"github.com/teller-analytics/teller/pkg/enrich/campaign"
	"github.com/teller-analytics/teller/pkg/event"
	"github.com/teller-analytics/teller/pkg/site"
)

// Channels reported in [Referrer.Channel].
const (
	ChannelDirect        = "direct"
	ChannelInternal      = "internal"
	ChannelOrganicSearch = "organic_search"
	ChannelPaidSearch    = "paid_search"
	ChannelOrganicSocial = "organic_social"
	ChannelPaidSocial    = "paid_social"
	ChannelEmail         = "email"
	ChannelAIAssistant   = "ai_assistant"
	ChannelReferral      = "referral"
	ChannelPaidOther     = "paid_other"
)

// Referrer is where a visit came from.
type Referrer struct {
	Domain  string // host of the referrer without a leading "www.", lower-case; "" when direct
	Source  string // human name: "Google", "Bing", "DuckDuckGo", "Facebook", "X", "LinkedIn", "Reddit", "Bluesky", "Threads", "Mastodon", "ChatGPT", "Perplexity", "Gmail", ... ; else the Domain; "" when direct
	Channel string // exactly one of: "direct", "internal", "organic_search", "paid_search", "organic_social", "paid_social", "email", "ai_assistant", "referral", "paid_other"
}

// maxSourceLength bounds a Source taken verbatim from utm_source.
const maxSourceLength = 100

// ClassifyReferrer says where a visit came from. referrer is document.referrer
// (may be ""); landing is the page URL, whose campaign (read by
// pkg/enrich/campaign, the same parser that fills the stored utm_* columns)
// decides paid vs organic and email; siteHosts are the site's own domains (a
// referrer on one of them, or a subdomain of one, is "internal"). The landing
// URL's own host counts as a site host too.
//
// The channel is the first of these rules that applies (GA4's default
// channel group, collapsed to Teller's channels):
//
//  1. utm_medium, when the rules know it (case and separators are ignored,
//     so paid_social = Paid-Social = paidsocial): paidsearch or sem ->
//     paid_search; paidsocial or socialpaid -> paid_social; cpc, ppc, paid* or
//     retargeting -> paid_search when the source (utm_source, else the
//     referrer, else the click id) is a search engine, paid_social when it is
//     a social network, else paid_other; display, banner, cpm, cpv, affiliate
//     or interstitial -> paid_other; email, e-mail or newsletter (or a medium
//     containing them) -> email; social, social-network, social-media or sm
//     -> organic_social; organic -> organic_search.
//  2. A click id that proves an ad (the table is campaign.ClickIDs): a search
//     ad (gclid, gbraid, wbraid, msclkid) -> paid_search, a social ad (ttclid,
//     twclid, li_fat_id...) -> paid_social, another ad (dclid) -> paid_other.
//     fbclid is not proof of an ad (Meta adds it to organic links too): see
//     rule 5.
//  3. utm_source naming e-mail (email, newsletter...) -> email.
//  4. A referrer: on the site itself -> internal; a known search engine ->
//     organic_search, social network -> organic_social, webmail -> email, AI
//     assistant -> ai_assistant; an unknown referrer whose utm_source is a
//     known service -> that service's channel; otherwise referral.
//  5. No referrer: utm_source naming a known service -> its channel; any other
//     utm_source -> referral; a click id that proves no ad (fbclid) alone ->
//     organic_social (Facebook); nothing at all -> direct.
//
// utm_source includes its ref alias: ?ref=newsletter is utm_source=newsletter.
//
// Source is the known service's name from utm_source, else utm_source as
// given (lower case), else the referrer's service name, else its Domain, else
// the service a click id implies (gclid: Google). Direct visits have neither
// Domain nor Source; internal ones have Source = Domain.
//
// A referrer that is not an http(s) or android-app URL (about:blank,
// chrome-extension://..., "null") or whose host is not a plain ASCII host name
// counts as no referrer.
func ClassifyReferrer(referrer, landing string, siteHosts []string) Referrer {
	return classifyReferrer(referrer, hostOf(landing), campaign.FromURL(landing), siteHosts)
}

// classifyReferrer is ClassifyReferrer for a landing page already parsed:
// its host and its campaign.
func classifyReferrer(referrer, landingHost string, camp event.Campaign, siteHosts []string) Referrer {
	host := referrerHost(referrer)
	c := signalsOf(camp)
	internal := host != "" && isSiteHost(host, landingHost, siteHosts)
	var refSrc *knownSource
	if !internal {
		refSrc = sources.lookupHost(host)
	}
	campSrc := sources.lookupName(c.source)

	r := Referrer{Domain: host}
	r.Channel = decideChannel(host, internal, refSrc, campSrc, c)
	switch {
	case r.Channel == ChannelDirect:
		r.Source = ""
	case r.Channel == ChannelInternal:
		r.Source = host
	case campSrc != nil:
		r.Source = campSrc.name
	case c.source != "":
		r.Source = event.Clip(c.source, maxSourceLength)
	case refSrc != nil:
		r.Source = refSrc.name
	case host != "":
		r.Source = host
	default:
		r.Source = c.click.Network
	}
	return r
}

// decideChannel applies the rules documented on ClassifyReferrer.
func decideChannel(host string, internal bool, refSrc, campSrc *knownSource, c signals) string {
	// 1. The medium.
	switch classifyMedium(c.medium) {
	case mediumPaidSearch:
		return ChannelPaidSearch
	case mediumPaidSocial:
		return ChannelPaidSocial
	case mediumPaidOther:
		return ChannelPaidOther
	case mediumPaid:
		switch paidSourceKind(refSrc, campSrc, c) {
		case kindSearch:
			return ChannelPaidSearch
		case kindSocial:
			return ChannelPaidSocial
		}
		return ChannelPaidOther
	case mediumEmail:
		return ChannelEmail
	case mediumSocial:
		return ChannelOrganicSocial
	case mediumOrganic:
		return ChannelOrganicSearch
	}
	// 2. Click ids that prove an ad.
	if ch := adChannel(c.click.Ad); ch != "" {
		return ch
	}
	// 3. utm_source naming e-mail.
	if campSrc == nil && isEmailSource(c.source) {
		return ChannelEmail
	}
	// 4. The referrer.
	if host != "" {
		switch {
		case internal:
			return ChannelInternal
		case refSrc != nil:
			return refSrc.kind.channel()
		case campSrc != nil:
			return campSrc.kind.channel()
		}
		return ChannelReferral
	}
	// 5. No referrer.
	switch {
	case campSrc != nil:
		return campSrc.kind.channel()
	case c.source != "":
		return ChannelReferral
	case c.appLink():
		return ChannelOrganicSocial
	}
	return ChannelDirect
}

// appLink reports whether the click id proves no ad but only that the link
// was followed in a social network's app (fbclid).
func (s signals) appLink() bool { return s.click.Param != "" && s.click.Ad == campaign.NoAd }

// paidSourceKind is the kind of service a paid medium (cpc, ppc, paid) was
// bought on: utm_source's, else the referrer's, else the click id's.
func paidSourceKind(refSrc, campSrc *knownSource, c signals) sourceKind {
	switch {
	case campSrc != nil:
		return campSrc.kind
	case c.source == "" && refSrc != nil:
		return refSrc.kind
	case c.source == "" && c.click.Ad == campaign.SearchAd:
		return kindSearch
	case c.source == "" && (c.click.Ad == campaign.SocialAd || c.appLink()):
		return kindSocial
	}
	return 0
}

// referrerHost returns the normalised host of a referrer URL, or "" when it
// has none worth reporting.
func referrerHost(ref string) string {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return ""
	}
	if scheme, _, ok := strings.Cut(ref, "://"); ok {
		if !strings.EqualFold(scheme, "https") && !strings.EqualFold(scheme, "http") &&
			!strings.EqualFold(scheme, "android-app") {
			return ""
		}
	} else if strings.IndexByte(ref, ':') >= 0 && strings.IndexByte(ref, '.') < 0 {
		return "" // about:blank, data:..., javascript:...
	}
	h := normalizeHost(hostOf(ref))
	if strings.IndexByte(h, '.') < 0 && !strings.Contains(ref, "://") {
		return "" // "null", "undefined" and other non-URLs
	}
	return h
}

// hostOf returns the host part of a URL, with or without a scheme: no
// user info, port, path, query or fragment. It does not change case.
func hostOf(u string) string {
	if _, rest, ok := strings.Cut(u, "://"); ok {
		u = rest
	} else {
		u = strings.TrimPrefix(u, "//")
	}
	if i := strings.IndexAny(u, "/?#\\"); i >= 0 {
		u = u[:i]
	}
	if i := strings.LastIndexByte(u, '@'); i >= 0 {
		u = u[i+1:]
	}
	if strings.HasPrefix(u, "[") { // IPv6 literal
		if i := strings.IndexByte(u, ']'); i >= 0 {
			return u[1:i]
		}
		return ""
	}
	if i := strings.LastIndexByte(u, ':'); i >= 0 {
		u = u[:i]
	}
	return u
}

// normalizeHost lower-cases a host and drops a trailing dot and a leading
// "www."; anything that is not a plain ASCII host name or IP literal gives "".
func normalizeHost(h string) string {
	for i := 0; i < len(h); i++ {
		b := h[i]
		if !('a' <= b && b <= 'z' || '0' <= b && b <= '9' || b == '.' || b == '-' || b == '_' ||
			'A' <= b && b <= 'Z' || b == ':') {
			return ""
		}
	}
	h = strings.ToLower(h)
	h = strings.TrimSuffix(h, ".")
	h = strings.TrimPrefix(h, "www.")
	return h
}

// isSiteHost reports whether host is one of the site's own hosts (siteHosts,
// which may be written loosely as URLs, or the landing page's host) or a
// subdomain of one, by site.InDomain.
func isSiteHost(host, landingHost string, siteHosts []string) bool {
	if site.InDomain(host, landingHost) {
		return true
	}
	for _, s := range siteHosts {
		if site.InDomain(host, hostOf(strings.TrimSpace(s))) {
			return true
		}
	}
	return false
}
