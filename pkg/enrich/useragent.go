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
	DeviceTV      = "tv"      // smart TVs, streaming sticks and boxes, set-top boxes
	DeviceConsole = "console" // game consoles, handheld ones included
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
	OS             string // "Windows", "macOS", "iOS", "Android", "Linux", "ChromeOS", "Tizen", "webOS", "tvOS", "Xbox", ...
	Device         string // exactly one of "desktop", "mobile", "tablet", "tv", "console", "bot", "" (unknown)
	Bot            bool
	BotReason      string // "" when not a bot; otherwise a short reason like "crawler:Googlebot", "headless", "http-client:curl", "ai-crawler:GPTBot"
}

// UAParser parses user agents with a bounded LRU cache: most events repeat a
// user agent already seen, and a hit is a fraction of a parse. It is safe for
// concurrent use.
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
// parsing and bot detection read through them.
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
	if big, ok := bigScreenOf(ua); ok {
		// The parser reads these as desktops or phones, or not at all.
		r.Device = big.device
		if big.os != "" {
			r.OS = big.os
		}
		r.Browser, r.BrowserVersion = bigScreenBrowser(ua)
		return r
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

// bigScreen is what bigScreenOf tells about a TV or a console.
type bigScreen struct {
	device string // DeviceTV or DeviceConsole
	os     string // the platform, or "" to keep the parser's (Android, Linux)
}

// bigScreenTokens name TVs and consoles by a case-sensitive token of their
// user agents, checked in order (consoles first: no TV token occurs in
// theirs). Fire TV is found by its model instead (fireTVModel).
var bigScreenTokens = []struct {
	token string
	bigScreen
}{
	{"Xbox", bigScreen{DeviceConsole, "Xbox"}},               // (Windows NT 10.0; Win64; x64; Xbox; Xbox Series X)
	{"PlayStation", bigScreen{DeviceConsole, "PlayStation"}}, // (PlayStation; PlayStation 5/2.26), (PlayStation Vita 3.74)
	{"Nintendo", bigScreen{DeviceConsole, "Nintendo"}},       // (Nintendo Switch; ...), (Nintendo 3DS; ...), (Nintendo WiiU)
	{"Tizen", bigScreen{DeviceTV, "Tizen"}},                  // Samsung: (SMART-TV; Linux; Tizen 6.0); only with a TV token, see bigScreenOf
	{"Web0S", bigScreen{DeviceTV, "webOS"}},                  // LG: (Web0S; Linux/SmartTV)
	{"NetCast", bigScreen{DeviceTV, "NetCast"}},              // LG before webOS
	{"Roku", bigScreen{DeviceTV, "Roku OS"}},                 // Roku/DVP-9.10 (...), (Roku; Roku Ultra)
	{"AppleTV", bigScreen{DeviceTV, "tvOS"}},                 // AppleTV11,1/11.1
	{"Apple TV", bigScreen{DeviceTV, "tvOS"}},                // AppleCoreMedia/1.0 (Apple TV; U; CPU OS 17_1 like Mac OS X)
	{"Android TV", bigScreen{DeviceTV, "Android"}},           // (Linux; Android 9; SHIELD Android TV Build/...)
	{"AndroidTV", bigScreen{DeviceTV, "Android"}},            // CrKey/1.56 DeviceType/AndroidTV (Chromecast with Google TV)
	{"GoogleTV", bigScreen{DeviceTV, "Android"}},
	{"BRAVIA", bigScreen{DeviceTV, "Android"}}, // Sony: (Linux; Android 12; BRAVIA 4K VH2 Build/...)
	{"CrKey", bigScreen{DeviceTV, ""}},         // Chromecast
	{"HbbTV", bigScreen{DeviceTV, ""}},         // the broadcast standard every European TV speaks
	{"SMART-TV", bigScreen{DeviceTV, ""}},
	{"SmartTV", bigScreen{DeviceTV, ""}},
	{"Smart TV", bigScreen{DeviceTV, ""}},
	{"SMART TV", bigScreen{DeviceTV, ""}},
	{"NETTV", bigScreen{DeviceTV, ""}}, // Philips
	{"VIDAA", bigScreen{DeviceTV, ""}}, // Hisense
	{"Viera", bigScreen{DeviceTV, ""}}, // Panasonic
}

// bigScreenOf reports whether ua is a TV or a console, and which platform.
func bigScreenOf(ua string) (bigScreen, bool) {
	for _, t := range bigScreenTokens {
		if !strings.Contains(ua, t.token) {
			continue
		}
		if t.token == "Tizen" && !strings.Contains(ua, "TV") {
			continue // Tizen also runs watches and (once) phones
		}
		return t.bigScreen, true
	}
	if fireTVModel(ua) {
		return bigScreen{DeviceTV, ""}, true
	}
	return bigScreen{}, false
}

// fireTVModel reports whether ua names an Amazon Fire TV model: "AFT" and
// capitals as a token of the platform comment ("(Linux; Android 9; AFTMM
// Build/PS7233; wv)"). Fire tablets are "KF...".
func fireTVModel(ua string) bool {
	for i := 0; ; {
		j := strings.Index(ua[i:], "AFT")
		if j < 0 {
			return false
		}
		j += i
		if (j >= 2 && ua[j-2:j] == "; ") || (j >= 1 && ua[j-1] == '(') {
			k := j + 3
			for k < len(ua) && ua[k] >= 'A' && ua[k] <= 'Z' {
				k++
			}
			if k > j+3 && (k == len(ua) || ua[k] == ' ' || ua[k] == ';' || ua[k] == ')') {
				return true
			}
		}
		i = j + 3
	}
}

// bigScreenBrowsers are the browsers a TV or console user agent can name, by
// token, most specific first. Safari is not among them: no Safari runs on
// these, their WebKit only says "Safari/...".
var bigScreenBrowsers = []struct{ token, name string }{
	{"SamsungBrowser/", "Samsung Internet"},
	{"NintendoBrowser/", "Nintendo Browser"},
	{"Silk/", "Amazon Silk"},
	{"Edg/", "Edge"},
	{"Edge/", "Edge"}, // EdgeHTML on Xbox One
	{"OPR/", "Opera"},
	{"Firefox/", "Firefox"},
	{"Chrome/", "Chrome"},
}

// bigScreenBrowser returns the browser a TV or console user agent names and
// its major version, or "", "".
func bigScreenBrowser(ua string) (name, version string) {
	for _, b := range bigScreenBrowsers {
		if strings.Contains(ua, b.token) {
			if v := versionAfter(ua, b.token); v != "" {
				return b.name, v
			}
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

// deviceClass narrows the parser's device to desktop, mobile, tablet or ""
// for a user agent that is not a TV or a console (bigScreenOf).
//
//   - Android without a "Mobile" token is a tablet: that is how Chrome,
//     Samsung Internet and Android WebView tell tablets from phones.
//   - A TV the parser found that no TV token of ours names is "" (unknown).
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
