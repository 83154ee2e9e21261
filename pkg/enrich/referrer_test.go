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

var site = []string{"example.com"}

var referrerCases = []referrerCase{
	// direct
	{"no referrer", "", landing, site, Referrer{"", "", ChannelDirect}},
	{"about:blank", "about:blank", landing, site, Referrer{"", "", ChannelDirect}},
	{"null", "null", landing, site, Referrer{"", "", ChannelDirect}},
	{"browser extension", "chrome-extension://abcdefgh/popup.html", landing, site, Referrer{"", "", ChannelDirect}},
	{"garbage host", "https://<script>/", landing, site, Referrer{"", "", ChannelDirect}},
	{"utm in the fragment is not a campaign", "", "https://example.com/#utm_medium=email", site, Referrer{"", "", ChannelDirect}},
	{"empty click id", "", "https://example.com/?gclid=", site, Referrer{"", "", ChannelDirect}},
	{"unrelated query", "", "https://example.com/?page=2&q=shoes", site, Referrer{"", "", ChannelDirect}},

	// internal
	{"same host", "https://example.com/blog", landing, site, Referrer{"example.com", "example.com", ChannelInternal}},
	{"www of the site", "https://www.example.com/", landing, site, Referrer{"example.com", "example.com", ChannelInternal}},
	{"subdomain of a site host", "https://docs.example.com/start", landing, site, Referrer{"docs.example.com", "docs.example.com", ChannelInternal}},
	{"landing host counts without siteHosts", "https://shop.example.net/cart", "https://shop.example.net/thanks", nil, Referrer{"shop.example.net", "shop.example.net", ChannelInternal}},
	{"site host written loosely", "https://blog.example.com/", "/pricing", []string{" https://WWW.Example.com:443/ "}, Referrer{"blog.example.com", "blog.example.com", ChannelInternal}},
	{"parent domain is not internal to a subdomain site", "https://example.com/", "https://shop.example.com/", nil, Referrer{"example.com", "example.com", ChannelReferral}},
	{"look-alike domain is not internal", "https://notexample.com/", landing, site, Referrer{"notexample.com", "notexample.com", ChannelReferral}},

	// organic_search
	{"Google", "https://www.google.com/", landing, site, Referrer{"google.com", "Google", ChannelOrganicSearch}},
	{"Google UK", "https://www.google.co.uk/", landing, site, Referrer{"google.co.uk", "Google", ChannelOrganicSearch}},
	{"Google Germany", "https://www.google.de/", landing, site, Referrer{"google.de", "Google", ChannelOrganicSearch}},
	{"Google app on Android", "android-app://com.google.android.googlequicksearchbox/", landing, site, Referrer{"com.google.android.googlequicksearchbox", "Google", ChannelOrganicSearch}},
	{"Bing", "https://www.bing.com/", landing, site, Referrer{"bing.com", "Bing", ChannelOrganicSearch}},
	{"Bing China", "https://cn.bing.com/search?q=x", landing, site, Referrer{"cn.bing.com", "Bing", ChannelOrganicSearch}},
	{"DuckDuckGo", "https://duckduckgo.com/", landing, site, Referrer{"duckduckgo.com", "DuckDuckGo", ChannelOrganicSearch}},
	{"Yahoo search", "https://search.yahoo.com/", landing, site, Referrer{"search.yahoo.com", "Yahoo", ChannelOrganicSearch}},
	{"Yahoo UK search", "https://uk.search.yahoo.com/", landing, site, Referrer{"uk.search.yahoo.com", "Yahoo", ChannelOrganicSearch}},
	{"Yahoo Japan", "https://search.yahoo.co.jp/", landing, site, Referrer{"search.yahoo.co.jp", "Yahoo", ChannelOrganicSearch}},
	{"Yandex", "https://yandex.ru/", landing, site, Referrer{"yandex.ru", "Yandex", ChannelOrganicSearch}},
	{"Yandex Turkey", "https://yandex.com.tr/", landing, site, Referrer{"yandex.com.tr", "Yandex", ChannelOrganicSearch}},
	{"Ecosia", "https://www.ecosia.org/", landing, site, Referrer{"ecosia.org", "Ecosia", ChannelOrganicSearch}},
	{"Brave Search", "https://search.brave.com/", landing, site, Referrer{"search.brave.com", "Brave Search", ChannelOrganicSearch}},
	{"upper-case referrer with port", "HTTPS://WWW.GOOGLE.COM:443/", landing, site, Referrer{"google.com", "Google", ChannelOrganicSearch}},
	{"utm_source google without referrer", "", "https://example.com/?utm_source=google", site, Referrer{"", "Google", ChannelOrganicSearch}},
	{"utm_medium organic", "", "https://example.com/?utm_source=bing&utm_medium=organic", site, Referrer{"", "Bing", ChannelOrganicSearch}},

	// paid_search
	{"gclid from Google", "https://www.google.com/", "https://example.com/?gclid=abc123", site, Referrer{"google.com", "Google", ChannelPaidSearch}},
	{"gclid without referrer", "", "https://example.com/?gclid=abc123", site, Referrer{"", "Google", ChannelPaidSearch}},
	{"gbraid (iOS)", "", "https://example.com/?gbraid=0AAAAA", site, Referrer{"", "Google", ChannelPaidSearch}},
	{"msclkid from Bing", "https://www.bing.com/", "https://example.com/?msclkid=f00", site, Referrer{"bing.com", "Bing", ChannelPaidSearch}},
	{"msclkid from DuckDuckGo", "https://duckduckgo.com/", "https://example.com/?msclkid=f00", site, Referrer{"duckduckgo.com", "DuckDuckGo", ChannelPaidSearch}},
	{"cpc on google", "", "https://example.com/?utm_source=google&utm_medium=cpc", site, Referrer{"", "Google", ChannelPaidSearch}},
	{"ppc on bing", "https://www.bing.com/", "https://example.com/?utm_source=bing&utm_medium=ppc&utm_campaign=x", site, Referrer{"bing.com", "Bing", ChannelPaidSearch}},
	{"upper-case parameters", "", "https://example.com/?UTM_SOURCE=Google&UTM_MEDIUM=CPC", site, Referrer{"", "Google", ChannelPaidSearch}},
	{"paid_search medium with any source", "", "https://example.com/?utm_source=searchco&utm_medium=Paid_Search", site, Referrer{"", "searchco", ChannelPaidSearch}},
	{"cpc with a search referrer and no source", "https://duckduckgo.com/", "https://example.com/?utm_medium=cpc", site, Referrer{"duckduckgo.com", "DuckDuckGo", ChannelPaidSearch}},
	{"gclid beats an internal referrer", "https://example.com/", "https://example.com/?gclid=abc", site, Referrer{"example.com", "example.com", ChannelPaidSearch}},

	// organic_social
	{"Facebook link shim", "https://l.facebook.com/", landing, site, Referrer{"l.facebook.com", "Facebook", ChannelOrganicSocial}},
	{"Facebook mobile", "https://m.facebook.com/", landing, site, Referrer{"m.facebook.com", "Facebook", ChannelOrganicSocial}},
	{"fbclid is not paid", "https://l.facebook.com/", "https://example.com/?fbclid=IwAR0abc", site, Referrer{"l.facebook.com", "Facebook", ChannelOrganicSocial}},
	{"fbclid alone means Meta's apps", "", "https://example.com/?fbclid=IwAR0abc", site, Referrer{"", "Facebook", ChannelOrganicSocial}},
	{"Instagram", "https://l.instagram.com/", landing, site, Referrer{"l.instagram.com", "Instagram", ChannelOrganicSocial}},
	{"X short links", "https://t.co/", landing, site, Referrer{"t.co", "X", ChannelOrganicSocial}},
	{"X", "https://x.com/", landing, site, Referrer{"x.com", "X", ChannelOrganicSocial}},
	{"Twitter", "https://twitter.com/", landing, site, Referrer{"twitter.com", "X", ChannelOrganicSocial}},
	{"LinkedIn", "https://www.linkedin.com/", landing, site, Referrer{"linkedin.com", "LinkedIn", ChannelOrganicSocial}},
	{"LinkedIn short links", "https://lnkd.in/", landing, site, Referrer{"lnkd.in", "LinkedIn", ChannelOrganicSocial}},
	{"LinkedIn Android app", "android-app://com.linkedin.android/", landing, site, Referrer{"com.linkedin.android", "LinkedIn", ChannelOrganicSocial}},
	{"Reddit", "https://old.reddit.com/r/golang/", landing, site, Referrer{"old.reddit.com", "Reddit", ChannelOrganicSocial}},
	{"Bluesky", "https://bsky.app/", landing, site, Referrer{"bsky.app", "Bluesky", ChannelOrganicSocial}},
	{"Threads", "https://www.threads.net/", landing, site, Referrer{"threads.net", "Threads", ChannelOrganicSocial}},
	{"Threads link shim", "https://l.threads.com/", landing, site, Referrer{"l.threads.com", "Threads", ChannelOrganicSocial}},
	{"Mastodon", "https://mastodon.social/", landing, site, Referrer{"mastodon.social", "Mastodon", ChannelOrganicSocial}},
	{"Hacker News", "https://news.ycombinator.com/", landing, site, Referrer{"news.ycombinator.com", "Hacker News", ChannelOrganicSocial}},
	{"YouTube", "https://www.youtube.com/", landing, site, Referrer{"youtube.com", "YouTube", ChannelOrganicSocial}},
	{"Pinterest UK", "https://uk.pinterest.com/", landing, site, Referrer{"uk.pinterest.com", "Pinterest", ChannelOrganicSocial}},
	{"utm_source bluesky without referrer", "", "https://example.com/?utm_source=bluesky", site, Referrer{"", "Bluesky", ChannelOrganicSocial}},
	{"utm_medium social", "", "https://example.com/?utm_source=ourpage&utm_medium=social", site, Referrer{"", "ourpage", ChannelOrganicSocial}},
	{"unknown referrer, known utm_source", "https://unknown-app.example.org/", "https://example.com/?utm_source=reddit", site, Referrer{"unknown-app.example.org", "Reddit", ChannelOrganicSocial}},

	// paid_social
	{"paid_social medium", "https://l.facebook.com/", "https://example.com/?utm_source=facebook&utm_medium=paid_social&fbclid=x", site, Referrer{"l.facebook.com", "Facebook", ChannelPaidSocial}},
	{"paid social with a space", "", "https://example.com/?utm_source=fb&utm_medium=paid%20social", site, Referrer{"", "Facebook", ChannelPaidSocial}},
	{"paid social with a plus", "", "https://example.com/?utm_source=fb&utm_medium=Paid+Social", site, Referrer{"", "Facebook", ChannelPaidSocial}},
	{"cpc on facebook", "", "https://example.com/?utm_source=facebook&utm_medium=cpc", site, Referrer{"", "Facebook", ChannelPaidSocial}},
	{"paid on instagram", "https://l.instagram.com/", "https://example.com/?utm_source=ig&utm_medium=paid", site, Referrer{"l.instagram.com", "Instagram", ChannelPaidSocial}},
	{"cpc with fbclid and no source", "", "https://example.com/?utm_medium=cpc&fbclid=x", site, Referrer{"", "Facebook", ChannelPaidSocial}},
	{"ttclid", "", "https://example.com/?ttclid=E.C.P.abc", site, Referrer{"", "TikTok", ChannelPaidSocial}},
	{"twclid from X", "https://t.co/", "https://example.com/?twclid=2-abc", site, Referrer{"t.co", "X", ChannelPaidSocial}},
	{"li_fat_id from LinkedIn", "https://www.linkedin.com/", "https://example.com/?li_fat_id=abc-123", site, Referrer{"linkedin.com", "LinkedIn", ChannelPaidSocial}},

	// paid_other
	{"display on google", "", "https://example.com/?utm_source=google&utm_medium=display", site, Referrer{"", "Google", ChannelPaidOther}},
	{"banner", "https://news.example.org/", "https://example.com/?utm_source=partnersite&utm_medium=banner", site, Referrer{"news.example.org", "partnersite", ChannelPaidOther}},
	{"cpm", "", "https://example.com/?utm_source=adnet&utm_medium=cpm", site, Referrer{"", "adnet", ChannelPaidOther}},
	{"affiliate", "https://deals.example.org/", "https://example.com/?utm_source=awin&utm_medium=affiliate", site, Referrer{"deals.example.org", "awin", ChannelPaidOther}},
	{"cpc on a network that is neither search nor social", "", "https://example.com/?utm_source=adroll&utm_medium=cpc", site, Referrer{"", "adroll", ChannelPaidOther}},
	{"paid medium without any source", "", "https://example.com/?utm_medium=paid", site, Referrer{"", "", ChannelPaidOther}},
	{"dclid", "", "https://example.com/?dclid=CJ", site, Referrer{"", "Google", ChannelPaidOther}},

	// email
	{"email medium", "", "https://example.com/?utm_source=newsletter&utm_medium=email", site, Referrer{"", "newsletter", ChannelEmail}},
	{"e-mail medium", "", "https://example.com/?utm_source=acme&utm_medium=E-Mail", site, Referrer{"", "acme", ChannelEmail}},
	{"newsletter source alone", "", "https://example.com/?utm_source=weekly_newsletter", site, Referrer{"", "weekly_newsletter", ChannelEmail}},
	{"email medium with a webmail referrer", "https://mail.google.com/", "https://example.com/?utm_medium=email", site, Referrer{"mail.google.com", "Gmail", ChannelEmail}},
	{"Gmail", "https://mail.google.com/", landing, site, Referrer{"mail.google.com", "Gmail", ChannelEmail}},
	{"Gmail app on Android", "android-app://com.google.android.gm/", landing, site, Referrer{"com.google.android.gm", "Gmail", ChannelEmail}},
	{"Outlook", "https://outlook.live.com/", landing, site, Referrer{"outlook.live.com", "Outlook", ChannelEmail}},
	{"Yahoo Mail", "https://mail.yahoo.com/", landing, site, Referrer{"mail.yahoo.com", "Yahoo Mail", ChannelEmail}},
	{"Yahoo Mail Japan", "https://mail.yahoo.co.jp/", landing, site, Referrer{"mail.yahoo.co.jp", "Yahoo Mail", ChannelEmail}},
	{"Proton Mail", "https://mail.proton.me/", landing, site, Referrer{"mail.proton.me", "Proton Mail", ChannelEmail}},
	{"utm_source gmail", "", "https://example.com/?utm_source=gmail", site, Referrer{"", "Gmail", ChannelEmail}},

	// ai_assistant
	{"ChatGPT", "https://chatgpt.com/", landing, site, Referrer{"chatgpt.com", "ChatGPT", ChannelAIAssistant}},
	{"ChatGPT, old host", "https://chat.openai.com/", landing, site, Referrer{"chat.openai.com", "ChatGPT", ChannelAIAssistant}},
	{"ChatGPT's utm_source without referrer", "", "https://example.com/?utm_source=chatgpt.com", site, Referrer{"", "ChatGPT", ChannelAIAssistant}},
	{"ChatGPT's utm_source with referrer", "https://chatgpt.com/", "https://example.com/?utm_source=chatgpt.com", site, Referrer{"chatgpt.com", "ChatGPT", ChannelAIAssistant}},
	{"Perplexity", "https://www.perplexity.ai/", landing, site, Referrer{"perplexity.ai", "Perplexity", ChannelAIAssistant}},
	{"Claude", "https://claude.ai/", landing, site, Referrer{"claude.ai", "Claude", ChannelAIAssistant}},
	{"Gemini", "https://gemini.google.com/", landing, site, Referrer{"gemini.google.com", "Gemini", ChannelAIAssistant}},
	{"Copilot", "https://copilot.microsoft.com/", landing, site, Referrer{"copilot.microsoft.com", "Copilot", ChannelAIAssistant}},
	{"utm_source perplexity", "", "https://example.com/?utm_source=perplexity", site, Referrer{"", "Perplexity", ChannelAIAssistant}},

	// referral
	{"unknown site", "https://news.example.org/article/1", landing, site, Referrer{"news.example.org", "news.example.org", ChannelReferral}},
	{"Google Docs is not search", "https://docs.google.com/", landing, site, Referrer{"docs.google.com", "docs.google.com", ChannelReferral}},
	{"Yahoo News is not search", "https://news.yahoo.com/", landing, site, Referrer{"news.yahoo.com", "news.yahoo.com", ChannelReferral}},
	{"unknown utm_source without referrer", "", "https://example.com/?utm_source=partner", site, Referrer{"", "partner", ChannelReferral}},
	{"unknown utm_source on an unknown referrer", "https://blog.example.org/", "https://example.com/?utm_source=Partner_Blog", site, Referrer{"blog.example.org", "partner_blog", ChannelReferral}},
	{"unknown medium", "https://blog.example.org/", "https://example.com/?utm_medium=referral", site, Referrer{"blog.example.org", "blog.example.org", ChannelReferral}},
	{"IP address with port", "http://192.168.1.10:8080/x", landing, site, Referrer{"192.168.1.10", "192.168.1.10", ChannelReferral}},
	{"IPv6 literal", "http://[2001:db8::1]/", landing, site, Referrer{"2001:db8::1", "2001:db8::1", ChannelReferral}},
	{"referrer without scheme", "example.org/page", landing, site, Referrer{"example.org", "example.org", ChannelReferral}},
	{"user info and trailing dot", "https://user:pw@Blog.Example.org./x", landing, site, Referrer{"blog.example.org", "blog.example.org", ChannelReferral}},
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
