package enrich

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math/rand/v2"
	"os"
	"regexp"
	"strings"
	"testing"
)

// vendoredEntry is an entry of crawler-user-agents.json with the examples
// the product does not read.
type vendoredEntry struct {
	Pattern   string   `json:"pattern"`
	Instances []string `json:"instances"`
}

func readVendored(t testing.TB) []vendoredEntry {
	t.Helper()
	var entries []vendoredEntry
	if err := json.Unmarshal(crawlerUserAgentsJSON, &entries); err != nil {
		t.Fatalf("decode the embedded crawler-user-agents.json: %v", err)
	}
	return entries
}

// vendorRecord reads crawlerdata/VENDOR's "key: value" lines.
func vendorRecord(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile("crawlerdata/VENDOR")
	if err != nil {
		t.Fatal(err)
	}
	rec := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ": "); ok && !strings.HasPrefix(k, "#") {
			rec[k] = v
		}
	}
	return rec
}

// TestVendoredCrawlersMatchRecord ties the embedded file to what
// scripts/refresh-crawlers.sh recorded: package, licence and checksum.
func TestVendoredCrawlersMatchRecord(t *testing.T) {
	rec := vendorRecord(t)
	sum := sha256.Sum256(crawlerUserAgentsJSON)
	if got, want := hex.EncodeToString(sum[:]), rec["sha256 crawler-user-agents.json"]; got != want {
		t.Errorf("embedded crawler-user-agents.json has sha256 %s, VENDOR records %q: run scripts/refresh-crawlers.sh, do not edit the file", got, want)
	}
	if rec["package"] != "crawler-user-agents" || rec["licence"] != "MIT (LICENSE)" || rec["version"] == "" {
		t.Errorf("VENDOR names package %q, licence %q, version %q", rec["package"], rec["licence"], rec["version"])
	}
	if _, err := os.Stat("crawlerdata/LICENSE"); err != nil {
		t.Errorf("the licence is not vendored with the data: %v", err)
	}
}

// TestCrawlerInstancesRecognised measures the bot verdict against the list's
// own examples and fails below 97%.
func TestCrawlerInstancesRecognised(t *testing.T) {
	const minRate = 0.97
	m := crawlers()
	if len(m.unusable) > 0 {
		t.Logf("%d patterns left out (RE2 rejects them or they have no literal): %q", len(m.unusable), m.unusable)
	}
	p := NewUAParser(0)
	n, bots := 0, 0
	var missed []string
	for _, e := range readVendored(t) {
		for _, ua := range e.Instances {
			n++
			if p.Parse(ua).Bot {
				bots++
			} else if len(missed) < 20 {
				missed = append(missed, ua)
			}
		}
	}
	rate := float64(bots) / float64(n)
	t.Logf("recognised %d of %d crawler-user-agents instances (%.1f%%), %d of %d patterns usable", bots, n, 100*rate, len(m.patterns)-len(ownCrawlers), len(m.patterns)-len(ownCrawlers)+len(m.unusable))
	if n < 1000 {
		t.Fatalf("only %d instances in the vendored list", n)
	}
	if rate < minRate {
		t.Errorf("recognised %.1f%%, want at least %.0f%%; missed, e.g.: %q", 100*rate, 100*minRate, missed)
	}
}

type browserCase struct {
	Name string `json:"name"`
	UA   string `json:"ua"`
}

func readBrowsers(t testing.TB) []browserCase {
	t.Helper()
	b, err := os.ReadFile("testdata/browsers.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []browserCase
	if err := json.Unmarshal(b, &cases); err != nil {
		t.Fatalf("decode testdata/browsers.json: %v", err)
	}
	return cases
}

// TestNoBrowserIsABot: current browsers, on every platform and inside apps,
// are never bots (nor TVs or consoles).
func TestNoBrowserIsABot(t *testing.T) {
	cases := readBrowsers(t)
	if len(cases) < 30 {
		t.Fatalf("testdata/browsers.json has %d browsers, want at least 30", len(cases))
	}
	p := NewUAParser(0)
	for _, c := range cases {
		got := p.Parse(c.UA)
		if got.Bot || got.BotReason != "" || got.OS == "" {
			t.Errorf("%s: %+v, want a browser with an OS", c.Name, got)
		}
		switch got.Device {
		case DeviceDesktop, DeviceMobile, DeviceTablet:
		default: // none of these is a TV or a console either
			t.Errorf("%s: device %q, want desktop, mobile or tablet", c.Name, got.Device)
		}
	}
}

// TestOwnCrawlersAreMissingFromTheList keeps ownCrawlers to what the list
// lacks: each example is a bot by its own pattern and by no vendored one.
func TestOwnCrawlersAreMissingFromTheList(t *testing.T) {
	examples := map[string]string{
		`^undici`:            "undici",
		`^Java/`:             "Java/17.0.9",
		`Java-http-client/`:  "Java-http-client/21.0.2",
		`GuzzleHttp/`:        "GuzzleHttp/7",
		`^Faraday v`:         "Faraday v2.9.0",
		`PostmanRuntime/`:    "PostmanRuntime/7.39.0",
		`^insomnia/`:         "insomnia/2023.5.8",
		`\(dart:io\)`:        "Dart/3.3 (dart:io)",
		`^Deno/`:             "Deno/1.46.3",
		`^Bun/`:              "Bun/1.1.29",
		`PowerShell/`:        "Mozilla/5.0 (Windows NT 10.0; Microsoft Windows 10.0.22631; en-US) PowerShell/7.4.1",
		`FeedFetcher-Google`: "FeedFetcher-Google; (+http://www.google.com/feedfetcher.html)",
		`Bluesky Cardyb/`:    "Mozilla/5.0 (compatible; Bluesky Cardyb/1.1; +mailto:support@bsky.app)",
		`HeadlessEdg/`:       "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 HeadlessEdg/131.0.0.0",
	}
	vendored := readVendored(t)
	for _, own := range ownCrawlers {
		ua, ok := examples[own.Pattern]
		if !ok {
			t.Errorf("own pattern %q has no example here", own.Pattern)
			continue
		}
		if !regexp.MustCompile(own.Pattern).MatchString(ua) {
			t.Errorf("own pattern %q does not match its example %q", own.Pattern, ua)
		}
		if botReason(ua) == "" {
			t.Errorf("%q is not a bot", ua)
		}
		for _, e := range vendored {
			if regexp.MustCompile(e.Pattern).MatchString(ua) {
				t.Errorf("own pattern %q is redundant: the vendored %q matches %q", own.Pattern, e.Pattern, ua)
			}
		}
	}
}

// TestBotMatcherAgreesWithRegexps checks the literal automaton against the
// plain reading of the list (a user agent is a bot when any pattern matches
// it): on every instance, every browser, and mutations of both (cut, case
// changed, glued to each other), the verdicts agree and the pattern picked
// matches.
func TestBotMatcherAgreesWithRegexps(t *testing.T) {
	m := crawlers()
	res := make([]*regexp.Regexp, len(m.patterns))
	for i, p := range m.patterns {
		res[i] = regexp.MustCompile(p.source)
	}
	var uas []string
	for _, e := range readVendored(t) {
		uas = append(uas, e.Instances...)
	}
	for _, b := range readBrowsers(t) {
		uas = append(uas, b.UA)
	}
	rng := rand.New(rand.NewPCG(9, 9))
	base := len(uas)
	for range 4000 {
		a, b := uas[rng.IntN(base)], uas[rng.IntN(base)]
		switch rng.IntN(4) {
		case 0:
			i, j := rng.IntN(len(a)+1), rng.IntN(len(a)+1)
			uas = append(uas, a[min(i, j):max(i, j)])
		case 1:
			uas = append(uas, strings.ToLower(a))
		case 2:
			uas = append(uas, strings.ToUpper(a[:len(a)/2])+a[len(a)/2:])
		default:
			uas = append(uas, a[:rng.IntN(len(a)+1)]+" "+b[rng.IntN(len(b)+1):])
		}
	}
	bots := 0
	for _, ua := range uas {
		want := -1
		for i, re := range res {
			if re.MatchString(ua) {
				want = i
				break
			}
		}
		got := m.find(ua)
		switch {
		case (got >= 0) != (want >= 0):
			t.Errorf("%q: automaton says bot=%v, the regexps %v (first match %d)", ua, got >= 0, want >= 0, want)
		case got >= 0 && !res[m.literals[got].pattern].MatchString(ua):
			t.Errorf("%q: automaton picked %q, which does not match", ua, m.patterns[m.literals[got].pattern].source)
		}
		if got >= 0 {
			bots++
		}
	}
	t.Logf("%d user agents, %d bots", len(uas), bots)
}

func TestBotReasonNamesThePattern(t *testing.T) {
	for _, c := range []struct{ ua, want string }{
		{"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "crawler:Googlebot"},
		{"Googlebot-Image/1.0", "crawler:Googlebot-Image"},
		{"Mediapartners (Googlebot)", "crawler:Mediapartners (Googlebot)"},
		{"AdsBot-Google-Mobile (+http://www.google.com/mobile/adsbot.html)", "crawler:AdsBot-Google-Mobile"}, // longest literal at the same start
		{"AdsBot-Google (+http://www.google.com/adsbot.html)", "crawler:AdsBot-Google"},                      // the regexp-confirmed pattern
		{"TelegramBot (like TwitterBot)", "preview:TelegramBot"},                                             // leftmost
		{"Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)", "crawler:YandexBot"},            // pattern is a URL: named by the token
		{"Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; ClaudeBot/1.0; +claudebot@anthropic.com)", "ai-crawler:ClaudeBot"},
		{"wget/1.21", "http-client:wget"},  // [wW]get, spelt as the bot does
		{"curl/8.5.0", "http-client:curl"}, // ^curl
		{"PHP-Curl-Class/9.0", "http-client:PHP-Curl-Class"},
		{"my-curl-wrapper/1.0", ""}, // ^curl is anchored; no bot token
		{"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36", "headless"},
		{"Mozilla/5.0 (compatible; BrandNewBot/0.1; +https://example.com)", "crawler:BrandNewBot"}, // no list knows it
		{"FancyCrawler 2.0", "crawler:FancyCrawler"},
		{"Mozilla/5.0 (compatible; my-SPIDER/1.0)", "crawler:my-SPIDER"},
		{"Mozilla/5.0 (compatible; +https://bot.example.com/about)", ""}, // a URL names no product
		{"Mozilla/5.0 (Linux; Android 13; CUBOT KINGKONG 9) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0.0.0 Mobile Safari/537.36", ""},
	} {
		if got := botReason(c.ua); got != c.want {
			t.Errorf("botReason(%q) = %q, want %q", c.ua, got, c.want)
		}
	}
}

func TestACAutomatonFindsEveryOccurrence(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	word := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = "abcab\x02\x03"[rng.IntN(7)]
		}
		return string(b)
	}
	for round := range 200 {
		lits := make([]string, 1+rng.IntN(8))
		for i := range lits {
			lits[i] = word(rng.IntN(5)) // "" included: it never matches
		}
		a, err := newACAutomaton(lits)
		if err != nil {
			t.Fatal(err)
		}
		text := word(rng.IntN(30))
		type hit struct {
			id    int32
			start int
		}
		var got []hit
		a.scan(-1, text, -1, func(id int32, start int) { got = append(got, hit{id, start}) })
		want := map[hit]bool{}
		for id, l := range lits {
			for i := 0; l != "" && i+len(l) <= len(text); i++ {
				if text[i:i+len(l)] == l {
					want[hit{int32(id), i}] = true
				}
			}
		}
		seen := map[hit]bool{}
		for _, h := range got {
			if !want[h] || seen[h] {
				t.Fatalf("round %d: literals %q in %q: reported %v (wrong or twice)", round, lits, text, h)
			}
			seen[h] = true
		}
		if len(seen) != len(want) {
			t.Fatalf("round %d: literals %q in %q: found %d occurrences, want %d", round, lits, text, len(seen), len(want))
		}
	}
}
