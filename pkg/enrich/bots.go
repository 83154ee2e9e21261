package enrich

import (
	"strings"

	"github.com/x-way/crawlerdetect"

	"github.com/teller-analytics/teller/pkg/event"
)

// Bot reasons are "<class>" or "<class>:<Name>". The classes:
const (
	// botAI: crawlers that feed AI models, and AI assistants fetching a page
	// for a user (GPTBot, ChatGPT-User, ClaudeBot, PerplexityBot, ...).
	botAI = "ai-crawler"
	// botCrawler: search engines, SEO tools, archivers, and every bot that only
	// crawlerdetect recognised (then named after its "...bot" token when it
	// has one).
	botCrawler = "crawler"
	// botPreview: link-preview fetchers of social networks and chat apps.
	botPreview = "preview"
	// botMonitor: uptime monitors and page-speed auditors.
	botMonitor = "monitor"
	// botHeadless: a headless browser (reason "headless", without a name).
	botHeadless = "headless"
	// botHTTPClient: a command-line tool or HTTP library.
	botHTTPClient = "http-client"
)

// maxBotNameLength bounds a bot name taken from the user agent, so a reason
// stays short.
const maxBotNameLength = 40

// botRule names a bot by a case-insensitive substring of its user agent.
type botRule struct {
	needle string // lower case
	class  string
	name   string // as the bot spells itself; "" for class headless
}

// botRules are checked in order, before crawlerdetect: they are cheap, cover
// the bots seen most, and give the reason a name. A needle must be specific
// enough never to occur in a browser's user agent, and a rule whose needle
// contains another's comes first (ChatGPT-User before a generic token).
var botRules = []botRule{
	// AI crawlers and assistants.
	{"gptbot", botAI, "GPTBot"},
	{"chatgpt-user", botAI, "ChatGPT-User"},
	{"oai-searchbot", botAI, "OAI-SearchBot"},
	{"claudebot", botAI, "ClaudeBot"},
	{"claude-user", botAI, "Claude-User"},
	{"claude-searchbot", botAI, "Claude-SearchBot"},
	{"claude-web", botAI, "Claude-Web"},
	{"anthropic-ai", botAI, "anthropic-ai"},
	{"perplexitybot", botAI, "PerplexityBot"},
	{"perplexity-user", botAI, "Perplexity-User"},
	{"ccbot", botAI, "CCBot"},
	{"bytespider", botAI, "Bytespider"},
	{"meta-externalagent", botAI, "meta-externalagent"},
	{"meta-externalfetcher", botAI, "meta-externalfetcher"},
	{"amazonbot", botAI, "Amazonbot"},
	{"cohere-ai", botAI, "cohere-ai"},
	{"cohere-training-data-crawler", botAI, "cohere-training-data-crawler"},
	{"diffbot", botAI, "Diffbot"},
	{"youbot", botAI, "YouBot"},
	{"mistralai-user", botAI, "MistralAI-User"},
	{"duckassistbot", botAI, "DuckAssistBot"},
	{"ai2bot", botAI, "AI2Bot"},

	// Search engines.
	{"googlebot", botCrawler, "Googlebot"}, // also Googlebot-Image, -Video, -News
	{"google-inspectiontool", botCrawler, "Google-InspectionTool"},
	{"googleother", botCrawler, "GoogleOther"},
	{"adsbot-google", botCrawler, "AdsBot-Google"},
	{"mediapartners-google", botCrawler, "Mediapartners-Google"},
	{"storebot-google", botCrawler, "Storebot-Google"},
	{"feedfetcher-google", botCrawler, "FeedFetcher-Google"},
	{"apis-google", botCrawler, "APIs-Google"},
	{"bingbot", botCrawler, "bingbot"},
	{"adidxbot", botCrawler, "AdIdxBot"},
	{"msnbot", botCrawler, "msnbot"},
	{"duckduckbot", botCrawler, "DuckDuckBot"},
	{"yandexbot", botCrawler, "YandexBot"},
	{"yandexmobilebot", botCrawler, "YandexMobileBot"},
	{"yandeximages", botCrawler, "YandexImages"},
	{"baiduspider", botCrawler, "Baiduspider"},
	{"applebot", botCrawler, "Applebot"},
	{"petalbot", botCrawler, "PetalBot"},
	{"seznambot", botCrawler, "SeznamBot"},
	{"yahoo! slurp", botCrawler, "Yahoo! Slurp"},
	{"sogou web spider", botCrawler, "Sogou"},
	{"mojeekbot", botCrawler, "MojeekBot"},
	{"qwantbot", botCrawler, "Qwantbot"},

	// SEO tools and archivers.
	{"ahrefsbot", botCrawler, "AhrefsBot"},
	{"ahrefssiteaudit", botCrawler, "AhrefsSiteAudit"},
	{"semrushbot", botCrawler, "SemrushBot"},
	{"mj12bot", botCrawler, "MJ12bot"},
	{"dotbot", botCrawler, "DotBot"},
	{"rogerbot", botCrawler, "rogerbot"},
	{"screaming frog", botCrawler, "Screaming Frog"},
	{"dataforseobot", botCrawler, "DataForSeoBot"},
	{"serpstatbot", botCrawler, "serpstatbot"},
	{"blexbot", botCrawler, "BLEXBot"},
	{"barkrowler", botCrawler, "Barkrowler"},
	{"ia_archiver", botCrawler, "ia_archiver"},
	{"archive.org_bot", botCrawler, "archive.org_bot"},
	{"scrapy/", botCrawler, "Scrapy"},

	// Link previews.
	{"facebookexternalhit", botPreview, "facebookexternalhit"},
	{"facebookcatalog", botPreview, "facebookcatalog"},
	{"telegrambot", botPreview, "TelegramBot"}, // "TelegramBot (like TwitterBot)": before Twitterbot
	{"twitterbot", botPreview, "Twitterbot"},
	{"linkedinbot", botPreview, "LinkedInBot"},
	{"slackbot", botPreview, "Slackbot"},
	{"slack-imgproxy", botPreview, "Slack-ImgProxy"},
	{"discordbot", botPreview, "Discordbot"},
	{"whatsapp/", botPreview, "WhatsApp"},
	{"skypeuripreview", botPreview, "SkypeUriPreview"},
	{"pinterestbot", botPreview, "Pinterestbot"},
	{"redditbot", botPreview, "redditbot"},
	{"bingpreview", botPreview, "BingPreview"},
	{"embedly", botPreview, "Embedly"},
	{"iframely", botPreview, "Iframely"},
	{"cardyb", botPreview, "Bluesky"},      // "Bluesky Cardyb/1.1"
	{"(mastodon/", botPreview, "Mastodon"}, // "http.rb/5.1.1 (Mastodon/4.2.1; +https://...)"

	// Monitors and auditors.
	{"lighthouse", botMonitor, "Lighthouse"}, // Chrome-Lighthouse, PageSpeed Insights
	{"gtmetrix", botMonitor, "GTmetrix"},
	{"uptimerobot", botMonitor, "UptimeRobot"},
	{"pingdom", botMonitor, "Pingdom"},
	{"statuscake", botMonitor, "StatusCake"},
	{"site24x7", botMonitor, "Site24x7"},

	// Headless browsers.
	{"headless", botHeadless, ""}, // HeadlessChrome, HeadlessEdg, ...
	{"phantomjs", botHeadless, ""},

	// Command-line tools and HTTP libraries.
	{"curl/", botHTTPClient, "curl"},
	{"wget/", botHTTPClient, "Wget"},
	{"python-requests/", botHTTPClient, "python-requests"},
	{"python-urllib/", botHTTPClient, "Python-urllib"},
	{"python-httpx/", botHTTPClient, "python-httpx"},
	{"aiohttp/", botHTTPClient, "aiohttp"},
	{"go-http-client/", botHTTPClient, "Go-http-client"},
	{"okhttp/", botHTTPClient, "okhttp"},
	{"apache-httpclient/", botHTTPClient, "Apache-HttpClient"},
	{"java-http-client/", botHTTPClient, "Java-http-client"},
	{"java/", botHTTPClient, "Java"},
	{"node-fetch", botHTTPClient, "node-fetch"},
	{"axios/", botHTTPClient, "axios"},
	{"undici", botHTTPClient, "undici"},
	{"sindresorhus/got", botHTTPClient, "got"},
	{"libwww-perl/", botHTTPClient, "libwww-perl"},
	{"guzzlehttp/", botHTTPClient, "GuzzleHttp"},
	{"http.rb/", botHTTPClient, "http.rb"},
	{"faraday v", botHTTPClient, "Faraday"},
	{"postmanruntime/", botHTTPClient, "PostmanRuntime"},
	{"insomnia/", botHTTPClient, "Insomnia"},
	{"httpie/", botHTTPClient, "HTTPie"},
	{"windowspowershell/", botHTTPClient, "PowerShell"},
	{"dart:io", botHTTPClient, "Dart"},
	{"deno/", botHTTPClient, "Deno"},
	{"bun/", botHTTPClient, "Bun"},
}

// BotReason is botReason for the collector, which drops bots for the sites
// that ask (it caches by user agent: crawlerdetect is slow on a browser's).
func BotReason(ua string) string { return botReason(ua) }

// botReason returns why ua (non-empty) is a bot, or "" for a browser.
func botReason(ua string) string {
	lower := strings.ToLower(ua)
	for _, r := range botRules {
		if strings.Contains(lower, r.needle) {
			if r.name == "" {
				return r.class
			}
			return r.class + ":" + r.name
		}
	}
	if crawlerdetect.IsCrawler(ua) {
		if name := botName(ua); name != "" {
			return botCrawler + ":" + name
		}
		return botCrawler
	}
	return ""
}

// botName guesses the name of a bot that only crawlerdetect recognised: the
// first product token that calls itself a bot, crawler or spider ("FooBot/1.2"
// -> "FooBot"), else the leading product of a user agent that does not pretend
// to be Mozilla ("SomeTool/3.0 (...)" -> "SomeTool"), else "".
func botName(ua string) string {
	tokens := strings.FieldsFunc(ua, func(r rune) bool {
		switch r {
		case ' ', ';', '(', ')', ',', '+':
			return true
		}
		return false
	})
	for _, t := range tokens {
		name, _, _ := strings.Cut(t, "/")
		l := strings.ToLower(name)
		if strings.Contains(l, "http") || strings.Contains(l, "@") || strings.Contains(l, ".") {
			continue // a URL or an e-mail address, not a product
		}
		if strings.Contains(l, "bot") || strings.Contains(l, "crawl") || strings.Contains(l, "spider") {
			return event.Clip(name, maxBotNameLength)
		}
	}
	if len(tokens) > 0 && !strings.HasPrefix(ua, "Mozilla/") {
		name, _, _ := strings.Cut(tokens[0], "/")
		return event.Clip(name, maxBotNameLength)
	}
	return ""
}
