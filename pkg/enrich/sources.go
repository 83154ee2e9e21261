package enrich

import (
	"fmt"
	"strings"

	"golang.org/x/net/publicsuffix"
)

// sourceKind is what a known referrer is; it decides the organic channel.
type sourceKind uint8

const (
	kindSearch sourceKind = iota + 1 // organic_search
	kindSocial                       // organic_social
	kindEmail                        // email (webmail)
	kindAI                           // ai_assistant
)

// channel is the organic channel of a referrer of this kind.
func (k sourceKind) channel() string {
	switch k {
	case kindSearch:
		return ChannelOrganicSearch
	case kindSocial:
		return ChannelOrganicSocial
	case kindEmail:
		return ChannelEmail
	case kindAI:
		return ChannelAIAssistant
	}
	return ChannelReferral
}

// knownSource is one service that sends visitors.
//
// Host patterns, matched against the referrer's host in lower case without a
// leading "www.":
//
//	"example.com"   that host and any subdomain of it (m.example.com)
//	"=example.com"  that host only
//	"example.*"     "example" under any public suffix (example.com,
//	                example.co.uk, example.de) and any subdomain of those
//	"=example.*"    the same without subdomains
//
// Android apps send "android-app://<package>/" as the referrer; their package
// names are listed as hosts ("com.google.android.gm").
//
// The longest match wins: mail.google.com (Gmail) before google.* (Google),
// mail.yahoo.* (Yahoo Mail) before yahoo.*.
type knownSource struct {
	name    string     // human name, reported as Referrer.Source
	kind    sourceKind // decides the organic channel
	hosts   []string   // host patterns, see above
	aliases []string   // utm_source values (lower case) naming it, besides its lower-cased name
}

// knownSources is the table of services by kind. Written here from each
// service's public domains; keep each group sorted by name.
//
// YouTube, Twitch and the messengers count as social (there is no video or
// messaging channel). Google's non-search hosts (docs., drive., ...) are
// deliberately not matched: they are plain referrals.
var knownSources = []knownSource{
	// Search engines.
	{name: "AOL", kind: kindSearch, hosts: []string{"search.aol.*"}},
	{name: "Ask", kind: kindSearch, hosts: []string{"ask.com"}},
	{name: "Baidu", kind: kindSearch, hosts: []string{"baidu.com"}},
	{name: "Bing", kind: kindSearch, hosts: []string{"bing.com"}},
	{name: "Brave Search", kind: kindSearch, hosts: []string{"search.brave.com"}, aliases: []string{"brave"}},
	{name: "Daum", kind: kindSearch, hosts: []string{"search.daum.net"}},
	{name: "DuckDuckGo", kind: kindSearch, hosts: []string{"duckduckgo.com"}, aliases: []string{"ddg"}},
	{name: "Ecosia", kind: kindSearch, hosts: []string{"ecosia.org"}},
	{name: "Google", kind: kindSearch, hosts: []string{"=google.*", "com.google.android.googlequicksearchbox"}},
	{name: "Kagi", kind: kindSearch, hosts: []string{"kagi.com"}},
	{name: "Mojeek", kind: kindSearch, hosts: []string{"mojeek.com"}},
	{name: "Naver", kind: kindSearch, hosts: []string{"search.naver.com", "=naver.com"}},
	{name: "Qwant", kind: kindSearch, hosts: []string{"qwant.com"}},
	{name: "Seznam", kind: kindSearch, hosts: []string{"search.seznam.cz", "=seznam.cz"}},
	{name: "Sogou", kind: kindSearch, hosts: []string{"sogou.com"}},
	{name: "Startpage", kind: kindSearch, hosts: []string{"startpage.com"}},
	{name: "Yahoo", kind: kindSearch, hosts: []string{"search.yahoo.*", "=yahoo.*"}},
	{name: "Yandex", kind: kindSearch, hosts: []string{"=yandex.*", "=ya.ru"}},

	// Social networks, video and messengers.
	{name: "Bluesky", kind: kindSocial, hosts: []string{"bsky.app"}, aliases: []string{"bsky"}},
	{name: "Discord", kind: kindSocial, hosts: []string{"discord.com", "discordapp.com", "discord.gg"}},
	{name: "Facebook", kind: kindSocial, hosts: []string{"facebook.com", "fb.com", "fb.me", "com.facebook.katana", "com.facebook.lite"}, aliases: []string{"fb"}},
	{name: "Hacker News", kind: kindSocial, hosts: []string{"news.ycombinator.com"}, aliases: []string{"hackernews", "hn", "ycombinator"}},
	{name: "Instagram", kind: kindSocial, hosts: []string{"instagram.com", "com.instagram.android"}, aliases: []string{"ig"}},
	{name: "LINE", kind: kindSocial, hosts: []string{"line.me"}},
	{name: "LinkedIn", kind: kindSocial, hosts: []string{"linkedin.com", "lnkd.in", "com.linkedin.android"}},
	{name: "Mastodon", kind: kindSocial, hosts: []string{"mastodon.social", "mastodon.online", "mastodon.world", "mstdn.social", "mas.to", "fosstodon.org", "hachyderm.io", "infosec.exchange"}},
	{name: "Medium", kind: kindSocial, hosts: []string{"medium.com"}},
	{name: "Messenger", kind: kindSocial, hosts: []string{"messenger.com", "com.facebook.orca"}},
	{name: "Pinterest", kind: kindSocial, hosts: []string{"pinterest.*", "pin.it", "com.pinterest"}},
	{name: "Quora", kind: kindSocial, hosts: []string{"quora.com"}},
	{name: "Reddit", kind: kindSocial, hosts: []string{"reddit.com", "redd.it", "com.reddit.frontpage"}},
	{name: "Slack", kind: kindSocial, hosts: []string{"slack.com", "com.slack"}},
	{name: "Snapchat", kind: kindSocial, hosts: []string{"snapchat.com"}},
	{name: "Telegram", kind: kindSocial, hosts: []string{"t.me", "telegram.org", "org.telegram.messenger"}},
	{name: "Threads", kind: kindSocial, hosts: []string{"threads.net", "threads.com"}},
	{name: "TikTok", kind: kindSocial, hosts: []string{"tiktok.com"}},
	{name: "Tumblr", kind: kindSocial, hosts: []string{"tumblr.com"}},
	{name: "Twitch", kind: kindSocial, hosts: []string{"twitch.tv"}},
	{name: "VK", kind: kindSocial, hosts: []string{"vk.com", "vk.ru"}, aliases: []string{"vkontakte"}},
	{name: "Weibo", kind: kindSocial, hosts: []string{"weibo.com", "weibo.cn"}},
	{name: "WhatsApp", kind: kindSocial, hosts: []string{"whatsapp.com", "wa.me", "com.whatsapp"}},
	{name: "X", kind: kindSocial, hosts: []string{"x.com", "twitter.com", "t.co", "com.twitter.android"}, aliases: []string{"twitter", "tw"}},
	{name: "YouTube", kind: kindSocial, hosts: []string{"youtube.com", "youtu.be", "com.google.android.youtube"}, aliases: []string{"yt"}},

	// Webmail.
	{name: "AOL Mail", kind: kindEmail, hosts: []string{"mail.aol.com"}},
	{name: "Fastmail", kind: kindEmail, hosts: []string{"fastmail.com"}},
	{name: "GMX", kind: kindEmail, hosts: []string{"gmx.*"}},
	{name: "Gmail", kind: kindEmail, hosts: []string{"mail.google.com", "com.google.android.gm"}, aliases: []string{"googlemail"}},
	{name: "HEY", kind: kindEmail, hosts: []string{"app.hey.com"}},
	{name: "Mail.ru", kind: kindEmail, hosts: []string{"e.mail.ru"}},
	{name: "Outlook", kind: kindEmail, hosts: []string{"outlook.live.com", "outlook.office.com", "outlook.office365.com", "outlook.cloud.microsoft", "com.microsoft.office.outlook"}, aliases: []string{"hotmail"}},
	{name: "Proton Mail", kind: kindEmail, hosts: []string{"mail.proton.me", "mail.protonmail.com"}, aliases: []string{"protonmail", "proton"}},
	{name: "Tuta", kind: kindEmail, hosts: []string{"app.tuta.com", "mail.tutanota.com"}, aliases: []string{"tutanota"}},
	{name: "WEB.DE", kind: kindEmail, hosts: []string{"web.de"}},
	{name: "Yahoo Mail", kind: kindEmail, hosts: []string{"mail.yahoo.*"}, aliases: []string{"yahoomail"}},
	{name: "Yandex Mail", kind: kindEmail, hosts: []string{"mail.yandex.*"}},
	{name: "Zoho Mail", kind: kindEmail, hosts: []string{"mail.zoho.*"}},

	// AI assistants.
	{name: "ChatGPT", kind: kindAI, hosts: []string{"chatgpt.com", "chat.openai.com", "com.openai.chatgpt"}, aliases: []string{"openai"}},
	{name: "Claude", kind: kindAI, hosts: []string{"claude.ai"}, aliases: []string{"anthropic"}},
	{name: "Copilot", kind: kindAI, hosts: []string{"copilot.microsoft.com"}},
	{name: "DeepSeek", kind: kindAI, hosts: []string{"chat.deepseek.com"}},
	{name: "Gemini", kind: kindAI, hosts: []string{"gemini.google.com", "bard.google.com"}, aliases: []string{"bard"}},
	{name: "Grok", kind: kindAI, hosts: []string{"grok.com"}},
	{name: "Meta AI", kind: kindAI, hosts: []string{"meta.ai"}},
	{name: "Mistral", kind: kindAI, hosts: []string{"chat.mistral.ai"}, aliases: []string{"lechat", "le chat"}},
	{name: "Perplexity", kind: kindAI, hosts: []string{"perplexity.ai"}},
	{name: "Phind", kind: kindAI, hosts: []string{"phind.com"}},
	{name: "Poe", kind: kindAI, hosts: []string{"poe.com"}},
	{name: "You.com", kind: kindAI, hosts: []string{"you.com"}},
}

// hostMatch is one compiled host pattern.
type hostMatch struct {
	src   *knownSource
	exact bool // the pattern matches its host only, not subdomains
}

// sourceIndex is knownSources compiled for lookups. It is built once and only
// read afterwards.
type sourceIndex struct {
	hosts  map[string]hostMatch    // "example.com" patterns
	brands map[string]hostMatch    // "example.*" patterns, keyed by "example"
	labels map[string]struct{}     // last label of every brand key ("yahoo" of "mail.yahoo")
	names  map[string]*knownSource // utm_source spellings: lower-cased names and aliases
}

var sources = mustIndex(knownSources)

// mustIndex compiles the table; a duplicate pattern or alias is a bug in the
// table and panics at start-up (and in every test).
func mustIndex(table []knownSource) *sourceIndex {
	idx := &sourceIndex{
		hosts:  map[string]hostMatch{},
		brands: map[string]hostMatch{},
		labels: map[string]struct{}{},
		names:  map[string]*knownSource{},
	}
	addName := func(name string, src *knownSource) {
		if prev, ok := idx.names[name]; ok && prev != src {
			panic(fmt.Sprintf("enrich: utm_source %q names both %s and %s", name, prev.name, src.name))
		}
		idx.names[name] = src
	}
	for i := range table {
		src := &table[i]
		addName(strings.ToLower(src.name), src)
		for _, a := range src.aliases {
			addName(a, src)
		}
		for _, h := range src.hosts {
			m := hostMatch{src: src}
			if rest, ok := strings.CutPrefix(h, "="); ok {
				m.exact, h = true, rest
			}
			into := idx.hosts
			if brand, ok := strings.CutSuffix(h, ".*"); ok {
				into, h = idx.brands, brand
				idx.labels[h[strings.LastIndexByte(h, '.')+1:]] = struct{}{}
			}
			if h == "" || h != strings.ToLower(h) || strings.HasPrefix(h, "www.") {
				panic(fmt.Sprintf("enrich: bad host pattern %q for %s", h, src.name))
			}
			if prev, ok := into[h]; ok {
				panic(fmt.Sprintf("enrich: host pattern %q is listed for both %s and %s", h, prev.src.name, src.name))
			}
			into[h] = m
		}
	}
	return idx
}

// lookupHost returns the known service of host (lower case, without "www."),
// or nil.
func (idx *sourceIndex) lookupHost(host string) *knownSource {
	if host == "" {
		return nil
	}
	if src := lookupSuffixes(idx.hosts, host, 2); src != nil {
		return src
	}
	if !idx.hasBrandLabel(host) {
		return nil
	}
	suffix, _ := publicsuffix.PublicSuffix(host)
	if len(suffix) >= len(host) {
		return nil
	}
	return lookupSuffixes(idx.brands, host[:len(host)-len(suffix)-1], 1)
}

// lookupSuffixes looks name up in m, then each parent domain of name that has
// at least minLabels labels, longest first; a parent matches only patterns
// that allow subdomains.
func lookupSuffixes(m map[string]hostMatch, name string, minLabels int) *knownSource {
	for s := name; ; {
		if hm, ok := m[s]; ok && (!hm.exact || len(s) == len(name)) {
			return hm.src
		}
		i := strings.IndexByte(s, '.')
		if i < 0 {
			return nil
		}
		s = s[i+1:]
		if minLabels > 1 && strings.IndexByte(s, '.') < 0 {
			return nil // a bare top-level domain
		}
	}
}

// hasBrandLabel reports whether any label of host is the last label of a
// brand pattern, so that the public-suffix lookup is only paid when it can
// match.
func (idx *sourceIndex) hasBrandLabel(host string) bool {
	for host != "" {
		label, rest, _ := strings.Cut(host, ".")
		if _, ok := idx.labels[label]; ok {
			return true
		}
		host = rest
	}
	return false
}

// lookupName returns the known service a utm_source value (lower case,
// trimmed) names: by name or alias ("google", "fb", "chatgpt"), or as a host
// ("chatgpt.com", "l.facebook.com"); else nil.
func (idx *sourceIndex) lookupName(s string) *knownSource {
	if s == "" {
		return nil
	}
	if src, ok := idx.names[s]; ok {
		return src
	}
	if strings.IndexByte(s, '.') >= 0 {
		return idx.lookupHost(normalizeHost(hostOf(s)))
	}
	return nil
}
