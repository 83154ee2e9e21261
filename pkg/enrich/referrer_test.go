package enrich

import (
	"strings"
	"testing"
)

type referrerCase struct {
	name      string
	referrer  string
	landing   string
	siteHosts []string
	want      Referrer
}

const landing = "https://example.com/pricing"

var siteDomains = []string{"example.com"}

var referrerCases = []referrerCase{
	// direct
	{"no referrer", "", landing, siteDomains, Referrer{"", "", ChannelDirect}},
	{"about:blank", "about:blank", landing, siteDomains, Referrer{"", "", ChannelDirect}},
	{"null", "null", landing, siteDomains, Referrer{"", "", ChannelDirect}},
	{"browser extension", "chrome-extension://abcdefgh/popup.html", landing, siteDomains, Referrer{"", "", ChannelDirect}},
	{"garbage host", "https://<script>/", landing, siteDomains, Referrer{"", "", ChannelDirect}},
	{"utm in the fragment is not a campaign", "", "https://example.com/#utm_medium=email", siteDomains, Referrer{"", "", ChannelDirect}},
	{"empty click id", "", "https://example.com/?gclid=", siteDomains, Referrer{"", "", ChannelDirect}},
	{"unrelated query", "", "https://example.com/?page=2&q=shoes", siteDomains, Referrer{"", "", ChannelDirect}},

	// internal
	{"same host", "https://example.com/blog", landing, siteDomains, Referrer{"example.com", "example.com", ChannelInternal}},
	{"www of the site", "https://www.example.com/", landing, siteDomains, Referrer{"example.com", "example.com", ChannelInternal}},
	{"subdomain of a site host", "https://docs.example.com/start", landing, siteDomains, Referrer{"docs.example.com", "docs.example.com", ChannelInternal}},
	{"landing host counts without siteHosts", "https://shop.example.net/cart", "https://shop.example.net/thanks", nil, Referrer{"shop.example.net", "shop.example.net", ChannelInternal}},
	{"site host written loosely", "https://blog.example.com/", "/pricing", []string{" https://WWW.Example.com:443/ "}, Referrer{"blog.example.com", "blog.example.com", ChannelInternal}},
	{"parent domain is not internal to a subdomain site", "https://example.com/", "https://shop.example.com/", nil, Referrer{"example.com", "example.com", ChannelReferral}},
	{"look-alike domain is not internal", "https://notexample.com/", landing, siteDomains, Referrer{"notexample.com", "notexample.com", ChannelReferral}},

	// organic_search
	{"Google", "https://www.google.com/", landing, siteDomains, Referrer{"google.com", "Google", ChannelOrganicSearch}},
	{"Google UK", "https://www.google.co.uk/", landing, siteDomains, Referrer{"google.co.uk", "Google", ChannelOrganicSearch}},
	{"Google Germany", "https://www.google.de/", landing, siteDomains, Referrer{"google.de", "Google", ChannelOrganicSearch}},
	{"Google app on Android", "android-app://com.google.android.googlequicksearchbox/", landing, siteDomains, Referrer{"com.google.android.googlequicksearchbox", "Google", ChannelOrganicSearch}},
	{"Bing", "https://www.bing.com/", landing, siteDomains, Referrer{"bing.com", "Bing", ChannelOrganicSearch}},
	{"Bing China", "https://cn.bing.com/search?q=x", landing, siteDomains, Referrer{"cn.bing.com", "Bing", ChannelOrganicSearch}},
	{"DuckDuckGo", "https://duckduckgo.com/", landing, siteDomains, Referrer{"duckduckgo.com", "DuckDuckGo", ChannelOrganicSearch}},
	{"Yahoo search", "https://search.yahoo.com/", landing, siteDomains, Referrer{"search.yahoo.com", "Yahoo", ChannelOrganicSearch}},
	{"Yahoo UK search", "https://uk.search.yahoo.com/", landing, siteDomains, Referrer{"uk.search.yahoo.com", "Yahoo", ChannelOrganicSearch}},
	{"Yahoo Japan", "https://search.yahoo.co.jp/", landing, siteDomains, Referrer{"search.yahoo.co.jp", "Yahoo", ChannelOrganicSearch}},
	{"Yandex", "https://yandex.ru/", landing, siteDomains, Referrer{"yandex.ru", "Yandex", ChannelOrganicSearch}},
	{"Yandex Turkey", "https://yandex.com.tr/", landing, siteDomains, Referrer{"yandex.com.tr", "Yandex", ChannelOrganicSearch}},
	{"Ecosia", "https://www.ecosia.org/", landing, siteDomains, Referrer{"ecosia.org", "Ecosia", ChannelOrganicSearch}},
	{"Brave Search", "https://search.brave.com/", landing, siteDomains, Referrer{"search.brave.com", "Brave Search", ChannelOrganicSearch}},
	{"upper-case referrer with port", "HTTPS://WWW.GOOGLE.COM:443/", landing, siteDomains, Referrer{"google.com", "Google", ChannelOrganicSearch}},
	{"utm_source google without referrer", "", "https://example.com/?utm_source=google", siteDomains, Referrer{"", "Google", ChannelOrganicSearch}},
	{"utm_medium organic", "", "https://example.com/?utm_source=bing&utm_medium=organic", siteDomains, Referrer{"", "Bing", ChannelOrganicSearch}},

	// paid_search
	{"gclid from Google", "https://www.google.com/", "https://example.com/?gclid=abc123", siteDomains, Referrer{"google.com", "Google", ChannelPaidSearch}},
	{"gclid without referrer", "", "https://example.com/?gclid=abc123", siteDomains, Referrer{"", "Google", ChannelPaidSearch}},
	{"gbraid (iOS)", "", "https://example.com/?gbraid=0AAAAA", siteDomains, Referrer{"", "Google", ChannelPaidSearch}},
	{"msclkid from Bing", "https://www.bing.com/", "https://example.com/?msclkid=f00", siteDomains, Referrer{"bing.com", "Bing", ChannelPaidSearch}},
	{"msclkid from DuckDuckGo", "https://duckduckgo.com/", "https://example.com/?msclkid=f00", siteDomains, Referrer{"duckduckgo.com", "DuckDuckGo", ChannelPaidSearch}},
	{"cpc on google", "", "https://example.com/?utm_source=google&utm_medium=cpc", siteDomains, Referrer{"", "Google", ChannelPaidSearch}},
	{"ppc on bing", "https://www.bing.com/", "https://example.com/?utm_source=bing&utm_medium=ppc&utm_campaign=x", siteDomains, Referrer{"bing.com", "Bing", ChannelPaidSearch}},
	{"upper-case parameters", "", "https://example.com/?UTM_SOURCE=Google&UTM_MEDIUM=CPC", siteDomains, Referrer{"", "Google", ChannelPaidSearch}},
	{"paid_search medium with any source", "", "https://example.com/?utm_source=searchco&utm_medium=Paid_Search", siteDomains, Referrer{"", "searchco", ChannelPaidSearch}},
	{"cpc with a search referrer and no source", "https://duckduckgo.com/", "https://example.com/?utm_medium=cpc", siteDomains, Referrer{"duckduckgo.com", "DuckDuckGo", ChannelPaidSearch}},
	{"gclid beats an internal referrer", "https://example.com/", "https://example.com/?gclid=abc", siteDomains, Referrer{"example.com", "example.com", ChannelPaidSearch}},

	// organic_social
	{"Facebook link shim", "https://l.facebook.com/", landing, siteDomains, Referrer{"l.facebook.com", "Facebook", ChannelOrganicSocial}},
	{"Facebook mobile", "https://m.facebook.com/", landing, siteDomains, Referrer{"m.facebook.com", "Facebook", ChannelOrganicSocial}},
	{"fbclid is not paid", "https://l.facebook.com/", "https://example.com/?fbclid=IwAR0abc", siteDomains, Referrer{"l.facebook.com", "Facebook", ChannelOrganicSocial}},
	{"fbclid alone means Meta's apps", "", "https://example.com/?fbclid=IwAR0abc", siteDomains, Referrer{"", "Facebook", ChannelOrganicSocial}},
	{"Instagram", "https://l.instagram.com/", landing, siteDomains, Referrer{"l.instagram.com", "Instagram", ChannelOrganicSocial}},
	{"X short links", "https://t.co/", landing, siteDomains, Referrer{"t.co", "X", ChannelOrganicSocial}},
	{"X", "https://x.com/", landing, siteDomains, Referrer{"x.com", "X", ChannelOrganicSocial}},
	{"Twitter", "https://twitter.com/", landing, siteDomains, Referrer{"twitter.com", "X", ChannelOrganicSocial}},
	{"LinkedIn", "https://www.linkedin.com/", landing, siteDomains, Referrer{"linkedin.com", "LinkedIn", ChannelOrganicSocial}},
	{"LinkedIn short links", "https://lnkd.in/", landing, siteDomains, Referrer{"lnkd.in", "LinkedIn", ChannelOrganicSocial}},
	{"LinkedIn Android app", "android-app://com.linkedin.android/", landing, siteDomains, Referrer{"com.linkedin.android", "LinkedIn", ChannelOrganicSocial}},
	{"Reddit", "https://old.reddit.com/r/golang/", landing, siteDomains, Referrer{"old.reddit.com", "Reddit", ChannelOrganicSocial}},
	{"Bluesky", "https://bsky.app/", landing, siteDomains, Referrer{"bsky.app", "Bluesky", ChannelOrganicSocial}},
	{"Threads", "https://www.threads.net/", landing, siteDomains, Referrer{"threads.net", "Threads", ChannelOrganicSocial}},
	{"Threads link shim", "https://l.threads.com/", landing, siteDomains, Referrer{"l.threads.com", "Threads", ChannelOrganicSocial}},
	{"Mastodon", "https://mastodon.social/", landing, siteDomains, Referrer{"mastodon.social", "Mastodon", ChannelOrganicSocial}},
	{"Hacker News", "https://news.ycombinator.com/", landing, siteDomains, Referrer{"news.ycombinator.com", "Hacker News", ChannelOrganicSocial}},
	{"YouTube", "https://www.youtube.com/", landing, siteDomains, Referrer{"youtube.com", "YouTube", ChannelOrganicSocial}},
	{"Pinterest UK", "https://uk.pinterest.com/", landing, siteDomains, Referrer{"uk.pinterest.com", "Pinterest", ChannelOrganicSocial}},
	{"utm_source bluesky without referrer", "", "https://example.com/?utm_source=bluesky", siteDomains, Referrer{"", "Bluesky", ChannelOrganicSocial}},
	{"utm_medium social", "", "https://example.com/?utm_source=ourpage&utm_medium=social", siteDomains, Referrer{"", "ourpage", ChannelOrganicSocial}},
	{"unknown referrer, known utm_source", "https://unknown-app.example.org/", "https://example.com/?utm_source=reddit", siteDomains, Referrer{"unknown-app.example.org", "Reddit", ChannelOrganicSocial}},

	// paid_social
	{"paid_social medium", "https://l.facebook.com/", "https://example.com/?utm_source=facebook&utm_medium=paid_social&fbclid=x", siteDomains, Referrer{"l.facebook.com", "Facebook", ChannelPaidSocial}},
	{"paid social with a space", "", "https://example.com/?utm_source=fb&utm_medium=paid%20social", siteDomains, Referrer{"", "Facebook", ChannelPaidSocial}},
	{"paid social with a plus", "", "https://example.com/?utm_source=fb&utm_medium=Paid+Social", siteDomains, Referrer{"", "Facebook", ChannelPaidSocial}},
	{"cpc on facebook", "", "https://example.com/?utm_source=facebook&utm_medium=cpc", siteDomains, Referrer{"", "Facebook", ChannelPaidSocial}},
	{"paid on instagram", "https://l.instagram.com/", "https://example.com/?utm_source=ig&utm_medium=paid", siteDomains, Referrer{"l.instagram.com", "Instagram", ChannelPaidSocial}},
	{"cpc with fbclid and no source", "", "https://example.com/?utm_medium=cpc&fbclid=x", siteDomains, Referrer{"", "Facebook", ChannelPaidSocial}},
	{"ttclid", "", "https://example.com/?ttclid=E.C.P.abc", siteDomains, Referrer{"", "TikTok", ChannelPaidSocial}},
	{"twclid from X", "https://t.co/", "https://example.com/?twclid=2-abc", siteDomains, Referrer{"t.co", "X", ChannelPaidSocial}},
	{"li_fat_id from LinkedIn", "https://www.linkedin.com/", "https://example.com/?li_fat_id=abc-123", siteDomains, Referrer{"linkedin.com", "LinkedIn", ChannelPaidSocial}},

	// paid_other
	{"display on google", "", "https://example.com/?utm_source=google&utm_medium=display", siteDomains, Referrer{"", "Google", ChannelPaidOther}},
	{"banner", "https://news.example.org/", "https://example.com/?utm_source=partnersite&utm_medium=banner", siteDomains, Referrer{"news.example.org", "partnersite", ChannelPaidOther}},
	{"cpm", "", "https://example.com/?utm_source=adnet&utm_medium=cpm", siteDomains, Referrer{"", "adnet", ChannelPaidOther}},
	{"affiliate", "https://deals.example.org/", "https://example.com/?utm_source=awin&utm_medium=affiliate", siteDomains, Referrer{"deals.example.org", "awin", ChannelPaidOther}},
	{"cpc on a network that is neither search nor social", "", "https://example.com/?utm_source=adroll&utm_medium=cpc", siteDomains, Referrer{"", "adroll", ChannelPaidOther}},
	{"paid medium without any source", "", "https://example.com/?utm_medium=paid", siteDomains, Referrer{"", "", ChannelPaidOther}},
	{"dclid", "", "https://example.com/?dclid=CJ", siteDomains, Referrer{"", "Google", ChannelPaidOther}},

	// email
	{"email medium", "", "https://example.com/?utm_source=newsletter&utm_medium=email", siteDomains, Referrer{"", "newsletter", ChannelEmail}},
	{"e-mail medium", "", "https://example.com/?utm_source=acme&utm_medium=E-Mail", siteDomains, Referrer{"", "acme", ChannelEmail}},
	{"newsletter source alone", "", "https://example.com/?utm_source=weekly_newsletter", siteDomains, Referrer{"", "weekly_newsletter", ChannelEmail}},
	{"email medium with a webmail referrer", "https://mail.google.com/", "https://example.com/?utm_medium=email", siteDomains, Referrer{"mail.google.com", "Gmail", ChannelEmail}},
	{"Gmail", "https://mail.google.com/", landing, siteDomains, Referrer{"mail.google.com", "Gmail", ChannelEmail}},
	{"Gmail app on Android", "android-app://com.google.android.gm/", landing, siteDomains, Referrer{"com.google.android.gm", "Gmail", ChannelEmail}},
	{"Outlook", "https://outlook.live.com/", landing, siteDomains, Referrer{"outlook.live.com", "Outlook", ChannelEmail}},
	{"Yahoo Mail", "https://mail.yahoo.com/", landing, siteDomains, Referrer{"mail.yahoo.com", "Yahoo Mail", ChannelEmail}},
	{"Yahoo Mail Japan", "https://mail.yahoo.co.jp/", landing, siteDomains, Referrer{"mail.yahoo.co.jp", "Yahoo Mail", ChannelEmail}},
	{"Proton Mail", "https://mail.proton.me/", landing, siteDomains, Referrer{"mail.proton.me", "Proton Mail", ChannelEmail}},
	{"utm_source gmail", "", "https://example.com/?utm_source=gmail", siteDomains, Referrer{"", "Gmail", ChannelEmail}},

	// ai_assistant
	{"ChatGPT", "https://chatgpt.com/", landing, siteDomains, Referrer{"chatgpt.com", "ChatGPT", ChannelAIAssistant}},
	{"ChatGPT, old host", "https://chat.openai.com/", landing, siteDomains, Referrer{"chat.openai.com", "ChatGPT", ChannelAIAssistant}},
	{"ChatGPT's utm_source without referrer", "", "https://example.com/?utm_source=chatgpt.com", siteDomains, Referrer{"", "ChatGPT", ChannelAIAssistant}},
	{"ChatGPT's utm_source with referrer", "https://chatgpt.com/", "https://example.com/?utm_source=chatgpt.com", siteDomains, Referrer{"chatgpt.com", "ChatGPT", ChannelAIAssistant}},
	{"Perplexity", "https://www.perplexity.ai/", landing, siteDomains, Referrer{"perplexity.ai", "Perplexity", ChannelAIAssistant}},
	{"Claude", "https://claude.ai/", landing, siteDomains, Referrer{"claude.ai", "Claude", ChannelAIAssistant}},
	{"Gemini", "https://gemini.google.com/", landing, siteDomains, Referrer{"gemini.google.com", "Gemini", ChannelAIAssistant}},
	{"Copilot", "https://copilot.microsoft.com/", landing, siteDomains, Referrer{"copilot.microsoft.com", "Copilot", ChannelAIAssistant}},
	{"utm_source perplexity", "", "https://example.com/?utm_source=perplexity", siteDomains, Referrer{"", "Perplexity", ChannelAIAssistant}},

	// referral
	{"unknown site", "https://news.example.org/article/1", landing, siteDomains, Referrer{"news.example.org", "news.example.org", ChannelReferral}},
	{"Google Docs is not search", "https://docs.google.com/", landing, siteDomains, Referrer{"docs.google.com", "docs.google.com", ChannelReferral}},
	{"Yahoo News is not search", "https://news.yahoo.com/", landing, siteDomains, Referrer{"news.yahoo.com", "news.yahoo.com", ChannelReferral}},
	{"unknown utm_source without referrer", "", "https://example.com/?utm_source=partner", siteDomains, Referrer{"", "partner", ChannelReferral}},
	{"unknown utm_source on an unknown referrer", "https://blog.example.org/", "https://example.com/?utm_source=Partner_Blog", siteDomains, Referrer{"blog.example.org", "partner_blog", ChannelReferral}},
	{"unknown medium", "https://blog.example.org/", "https://example.com/?utm_medium=referral", siteDomains, Referrer{"blog.example.org", "blog.example.org", ChannelReferral}},
	{"IP address with port", "http://192.168.1.10:8080/x", landing, siteDomains, Referrer{"192.168.1.10", "192.168.1.10", ChannelReferral}},
	{"IPv6 literal", "http://[2001:db8::1]/", landing, siteDomains, Referrer{"2001:db8::1", "2001:db8::1", ChannelReferral}},
	{"referrer without scheme", "example.org/page", landing, siteDomains, Referrer{"example.org", "example.org", ChannelReferral}},
	{"user info and trailing dot", "https://user:pw@Blog.Example.org./x", landing, siteDomains, Referrer{"blog.example.org", "blog.example.org", ChannelReferral}},
}

func TestClassifyReferrer(t *testing.T) {
	for _, c := range referrerCases {
		t.Run(c.name, func(t *testing.T) {
			if got := ClassifyReferrer(c.referrer, c.landing, c.siteHosts); got != c.want {
				t.Errorf("ClassifyReferrer(%q, %q, %q)\n got %+v\nwant %+v", c.referrer, c.landing, c.siteHosts, got, c.want)
			}
		})
	}
}

// TestEveryChannelCovered keeps the table above honest: each channel has a case.
func TestEveryChannelCovered(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range referrerCases {
		seen[c.want.Channel] = true
	}
	for _, ch := range []string{
		ChannelDirect, ChannelInternal, ChannelOrganicSearch, ChannelPaidSearch, ChannelOrganicSocial,
		ChannelPaidSocial, ChannelEmail, ChannelAIAssistant, ChannelReferral, ChannelPaidOther,
	} {
		if !seen[ch] {
			t.Errorf("no case for channel %q", ch)
		}
		delete(seen, ch)
	}
	for ch := range seen {
		t.Errorf("case expects unknown channel %q", ch)
	}
}

// TestKnownSourcesTable checks every pattern of the table finds its own
// service, and that names resolve as utm_source values.
func TestKnownSourcesTable(t *testing.T) {
	for i := range knownSources {
		src := &knownSources[i]
		for _, h := range src.hosts {
			exact := strings.HasPrefix(h, "=")
			h = strings.TrimPrefix(h, "=")
			if brand, ok := strings.CutSuffix(h, ".*"); ok {
				h = brand + ".com"
			}
			if got := sources.lookupHost(h); got != src {
				t.Errorf("host %q: got %v, want %s", h, nameOf(got), src.name)
			}
			sub := "sub." + h
			switch got := sources.lookupHost(sub); {
			case exact && got == src:
				t.Errorf("exact pattern %q also matched %q", h, sub)
			case !exact && got != src:
				t.Errorf("host %q: got %v, want %s", sub, nameOf(got), src.name)
			}
		}
		if got := sources.lookupName(strings.ToLower(src.name)); got != src {
			t.Errorf("utm_source %q: got %v, want %s", strings.ToLower(src.name), nameOf(got), src.name)
		}
		if src.kind.channel() == ChannelReferral {
			t.Errorf("%s has no kind", src.name)
		}
	}
}

func nameOf(src *knownSource) string {
	if src == nil {
		return "nothing"
	}
	return src.name
}

func TestMustIndexRejectsDuplicates(t *testing.T) {
	for name, table := range map[string][]knownSource{
		"host":  {{name: "A", kind: kindSearch, hosts: []string{"a.com"}}, {name: "B", kind: kindSearch, hosts: []string{"a.com"}}},
		"alias": {{name: "A", kind: kindSearch, aliases: []string{"x"}}, {name: "B", kind: kindSearch, aliases: []string{"x"}}},
		"www":   {{name: "A", kind: kindSearch, hosts: []string{"www.a.com"}}},
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("mustIndex accepted a bad table")
				}
			}()
			mustIndex(table)
		})
	}
}

func TestLongUTMSourceIsClipped(t *testing.T) {
	got := ClassifyReferrer("", "https://example.com/?utm_source="+strings.Repeat("a", 500), nil)
	if len(got.Source) != maxSourceLength || got.Channel != ChannelReferral {
		t.Errorf("got Source of %d bytes, Channel %q", len(got.Source), got.Channel)
	}
}

func BenchmarkClassifyReferrer(b *testing.B) {
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		c := &referrerCases[i%len(referrerCases)]
		ClassifyReferrer(c.referrer, c.landing, c.siteHosts)
		i++
	}
}
