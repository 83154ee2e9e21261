package enrich

import (
	"strings"

	"github.com/teller-analytics/teller/pkg/event"
)

// maxBotNameLength bounds a bot name taken from the user agent or a pattern,
// so a reason stays short.
const maxBotNameLength = 40

func clipName(name string) string { return event.Clip(name, maxBotNameLength) }

// BotReason is botReason for the collector, which drops bots for the sites
// that ask.
func BotReason(ua string) string { return botReason(ua) }

// botReason returns why ua (non-empty) is a bot, or "" for a browser: the
// first pattern of crawler-user-agents (or ownCrawlers) that matches, named
// after its literal ("crawler:Googlebot"); else a product token that calls
// itself a bot, crawler or spider, for bots no list knows yet.
func botReason(ua string) string {
	if r := crawlers().match(ua); r != "" {
		return r
	}
	if name := botToken(ua); name != "" {
		return botCrawler + ":" + name
	}
	return ""
}

// botName names a bot whose pattern is a URL ("yandex.com/bots"): its bot
// token ([botToken]), else the leading product of a user agent that does not
// pretend to be Mozilla ("SomeTool/3.0 (...)" -> "SomeTool"), else "".
func botName(ua string) string {
	if name := botToken(ua); name != "" {
		return name
	}
	if tok, _ := nextUAToken(ua); tok != "" && !strings.HasPrefix(ua, "Mozilla/") {
		name, _, _ := strings.Cut(tok, "/")
		return clipName(name)
	}
	return ""
}

// botToken returns the first product token that calls itself a bot, crawler
// or spider ("FooBot/1.2" -> "FooBot", "foo-crawler" -> "foo-crawler"), or "".
// Browsers' tokens never do; the one phone brand that would (Cubot) is
// excepted. It runs on every browser's user agent, so it does not allocate
// and returns at once when none of the words occurs.
func botToken(ua string) string {
	if !mentionsBot(ua) {
		return ""
	}
	for rest := ua; rest != ""; {
		var tok string
		tok, rest = nextUAToken(rest)
		name, _, _ := strings.Cut(tok, "/")
		if containsFold(name, "http") || strings.ContainsAny(name, "@.") {
			continue // a URL or an e-mail address, not a product
		}
		if hasPrefixFold(name, "cubot") {
			continue
		}
		if containsFold(name, "bot") || containsFold(name, "crawl") || containsFold(name, "spider") {
			return clipName(name)
		}
	}
	return ""
}

// mentionsBot reports whether ua contains "bot", "crawl" or "spider" in any
// ASCII case, in one pass.
func mentionsBot(ua string) bool {
	for i := 0; i < len(ua); i++ {
		switch ua[i] | 0x20 { // lower case for letters
		case 'b':
			if hasPrefixFold(ua[i:], "bot") {
				return true
			}
		case 'c':
			if hasPrefixFold(ua[i:], "crawl") {
				return true
			}
		case 's':
			if hasPrefixFold(ua[i:], "spider") {
				return true
			}
		}
	}
	return false
}

// nextUAToken returns the first product or comment token of s and what
// follows it.
func nextUAToken(s string) (tok, rest string) {
	isSep := func(c byte) bool {
		switch c {
		case ' ', ';', '(', ')', ',', '+':
			return true
		}
		return false
	}
	i := 0
	for i < len(s) && isSep(s[i]) {
		i++
	}
	j := i
	for j < len(s) && !isSep(s[j]) {
		j++
	}
	return s[i:j], s[j:]
}

// containsFold reports whether s contains lower (lower-case ASCII), ignoring
// ASCII case.
func containsFold(s, lower string) bool {
	for i := 0; i+len(lower) <= len(s); i++ {
		if hasPrefixFold(s[i:], lower) {
			return true
		}
	}
	return false
}

// hasPrefixFold reports whether s begins with lower (lower-case ASCII),
// ignoring ASCII case.
func hasPrefixFold(s, lower string) bool {
	if len(s) < len(lower) {
		return false
	}
	for i := 0; i < len(lower); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}
