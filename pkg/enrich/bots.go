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
	if tokens := uaTokens(ua); len(tokens) > 0 && !strings.HasPrefix(ua, "Mozilla/") {
		name, _, _ := strings.Cut(tokens[0], "/")
		return clipName(name)
	}
	return ""
}

// botToken returns the first product token that calls itself a bot, crawler
// or spider ("FooBot/1.2" -> "FooBot", "foo-crawler" -> "foo-crawler"), or "".
// Browsers' tokens never do; the one phone brand that would (Cubot) is
// excepted.
func botToken(ua string) string {
	for _, t := range uaTokens(ua) {
		name, _, _ := strings.Cut(t, "/")
		l := strings.ToLower(name)
		if strings.Contains(l, "http") || strings.Contains(l, "@") || strings.Contains(l, ".") {
			continue // a URL or an e-mail address, not a product
		}
		if strings.HasPrefix(l, "cubot") {
			continue
		}
		if strings.Contains(l, "bot") || strings.Contains(l, "crawl") || strings.Contains(l, "spider") {
			return clipName(name)
		}
	}
	return ""
}

// uaTokens splits a user agent into its product and comment tokens.
func uaTokens(ua string) []string {
	return strings.FieldsFunc(ua, func(r rune) bool {
		switch r {
		case ' ', ';', '(', ')', ',', '+':
			return true
		}
		return false
	})
}
