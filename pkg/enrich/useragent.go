package enrich

import (
	"strings"

	lru "github.com/hashicorp/golang-lru/v2"
	useragent "github.com/medama-io/go-useragent"
	"github.com/medama-io/go-useragent/agents"

	"github.com/teller-analytics/teller/pkg/event"
)

// Device classes reported in [UserAgent.Device].
const (
	DeviceDesktop = "desktop"
	DeviceMobile  = "mobile"
	DeviceTablet  = "tablet"
	DeviceBot     = "bot"
)

// BotReasonEmpty is the [UserAgent.BotReason] of a missing or blank User-Agent.
const BotReasonEmpty = "empty-user-agent"

// DefaultUACacheSize is the number of distinct user agents a [UAParser] keeps
// when NewUAParser is given a size <= 0.
const DefaultUACacheSize = 10000

// UserAgent is what a User-Agent header says.
//
// For a bot, only Device ("bot"), Bot and BotReason are set: the browser and
// OS a crawler claims (Googlebot says "Chrome on Android") are a disguise, not
// an audience, and leaving them empty keeps bots out of browser and OS
// reports even where a query forgets to filter on Bot.
type UserAgent struct {
	Browser        string // "Chrome", "Firefox", "Safari", "Edge", "Opera", "Samsung Internet", ... ; "" if unknown
	BrowserVersion string // major version only, e.g. "131"
	OS             string // "Windows", "macOS", "iOS", "Android", "Linux", "ChromeOS", ...
	Device         string // exactly one of "desktop", "mobile", "tablet", "bot", "" (unknown)
	Bot            bool
	BotReason      string // "" when not a bot; otherwise a short reason like "crawler:Googlebot", "headless", "http-client:curl", "ai-crawler:GPTBot"
}

// UAParser parses user agents with a bounded LRU cache (bot detection is slow per UA).
// It is safe for concurrent use.
type UAParser struct {
	ua    *useragent.Parser
	cache *lru.Cache[string, UserAgent]
}

// NewUAParser returns a parser that remembers the results for up to cacheSize
// distinct user agents; cacheSize <= 0 means [DefaultUACacheSize].
func NewUAParser(cacheSize int) *UAParser {
	if cacheSize <= 0 {
		cacheSize = DefaultUACacheSize
	}
	cache, err := lru.New[string, UserAgent](cacheSize)
	if err != nil {
		// lru.New fails only for a size <= 0, excluded above.
		panic("enrich: " + err.Error())
	}
	return &UAParser{ua: useragent.NewParser(), cache: cache}
}

// Parse reports what the User-Agent header ua says. An empty or blank ua is a
// bot with reason "empty-user-agent". Only the first event.MaxUserAgent bytes
// are read, the contract's limit (real user agents are far shorter), so a
// caller that skipped Validate cannot fill the cache with huge keys or make
// the regular expressions of bot detection crawl through them.
func (p *UAParser) Parse(ua string) UserAgent {
	ua = strings.TrimSpace(ua)
	if ua == "" {
		return UserAgent{Device: DeviceBot, Bot: true, BotReason: BotReasonEmpty}
	}
	ua = event.Clip(ua, event.MaxUserAgent)
	if r, ok := p.cache.Get(ua); ok {
		return r
	}
	r := p.parse(ua)
	// Clone the key: ua may be a slice of a much larger request buffer that
	// the cache would otherwise keep alive.
	p.cache.Add(strings.Clone(ua), r)
	return r
}

// parse does the uncached work for a non-empty, trimmed ua.
func (p *UAParser) parse(ua string) UserAgent {
	if reason := botReason(ua); reason != "" {
		return UserAgent{Device: DeviceBot, Bot: true, BotReason: reason}
	}
	m := p.ua.Parse(ua)
	r := UserAgent{
		Browser:        browserName(m.Browser()),
		BrowserVersion: m.BrowserVersionMajor(),
		OS:             osName(m.OS()),
	}
	if name, version := inAppBrowser(ua); name != "" {
		r.Browser, r.BrowserVersion = name, version
	} else if r.Browser == "Internet Explorer" {
		// IE 11 dropped "MSIE"; the parser then reads Trident's version
		// (7) instead of the browser's, which "rv:" carries.
		if v := versionAfter(ua, "rv:"); v != "" {
			r.BrowserVersion = v
		}
	}
	if r.Browser == "" {
		r.BrowserVersion = ""
	}
	r.Device = deviceClass(m.Device(), r.OS, ua)
	return r
}

// inAppBrowsers are apps whose built-in browser reports itself after the
// system web view's tokens; the parser would call them Safari or Chrome.
var inAppBrowsers = []struct{ token, name string }{
	{"FBAV/", "Facebook"},       // [FBAN/FBIOS;FBAV/470.0.0.38.108;...]
	{"Instagram ", "Instagram"}, // ... Instagram 348.0.0.36.104 Android (...)
	{"GSA/", "Google App"},      // ... GSA/343.0.695551749 Mobile/15E148 Safari/604.1
}

// inAppBrowser returns the app and its major version when ua is an app's
// built-in browser, else "", "".
func inAppBrowser(ua string) (name, version string) {
	for _, b := range inAppBrowsers {
		if strings.Contains(ua, b.token) {
			return b.name, versionAfter(ua, b.token)
		}
	}
	return "", ""
}

// browserName maps the parser's names to the ones reports use.
func browserName(b agents.Browser) string {
	switch b {
	case agents.BrowserSamsung:
		return "Samsung Internet"
	case agents.BrowserIE:
		return "Internet Explorer"
	case agents.BrowserYandex:
		return "Yandex"
	}
	return string(b)
}

// osName maps the parser's names to the ones reports use.
func osName(o agents.OS) string {
	if o == agents.OSMacOS {
		return "macOS"
	}
	return string(o)
}

// deviceClass narrows the parser's device to desktop, mobile, tablet or "".
//
//   - Android without a "Mobile" token is a tablet: that is how Chrome,
//     Samsung Internet and Android WebView tell tablets from phones.
//   - A TV, console or other big screen is "" (unknown): the Device contract
//     has no class for it.
//   - When the parser found no device class, or called "bot" a user agent
//     that this package's bot detection let through, the OS decides: desktop
//     systems are desktop, an iPad is a tablet, other iOS devices are mobile,
//     Android follows the "Mobile" rule above.
//
// An iPad in its default "desktop site" mode sends a Mac user agent and is
// reported as desktop: the header alone cannot tell them apart.
func deviceClass(d agents.Device, os, ua string) string {
	switch d {
	case agents.DeviceTV:
		return ""
	case agents.DeviceTablet:
		return DeviceTablet
	case agents.DeviceMobile:
		if os == string(agents.OSAndroid) && !strings.Contains(ua, "Mobile") {
			return DeviceTablet
		}
		return DeviceMobile
	case agents.DeviceDesktop:
		return DeviceDesktop
	}
	switch os {
	case "Windows", "macOS", "Linux", "ChromeOS", "FreeBSD", "OpenBSD":
		return DeviceDesktop
	case "iOS":
		if strings.Contains(ua, "iPad") {
			return DeviceTablet
		}
		return DeviceMobile
	case "Android":
		if strings.Contains(ua, "Mobile") {
			return DeviceMobile
		}
		return DeviceTablet
	}
	return ""
}

// versionAfter returns the digits that follow the first token in ua
// ("rv:11.0" -> "11"), or "".
func versionAfter(ua, token string) string {
	i := strings.Index(ua, token)
	if i < 0 {
		return ""
	}
	s := ua[i+len(token):]
	n := 0
	for n < len(s) && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	return s[:n]
}
