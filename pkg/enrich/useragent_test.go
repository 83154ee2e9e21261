package enrich

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/teller-analytics/teller/pkg/event"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/ (useragents.json, rows.golden.json) with the current answers")

const uaGolden = "testdata/useragents.json"

// uaCase is one line of the golden file: a real user agent and what Parse
// must say about it. Name says what the user agent is, for the reader.
type uaCase struct {
	Name           string `json:"name"`
	UA             string `json:"ua"`
	Browser        string `json:"browser"`
	BrowserVersion string `json:"browser_version"`
	OS             string `json:"os"`
	Device         string `json:"device"`
	Bot            bool   `json:"bot"`
	BotReason      string `json:"bot_reason"`
}

func (c uaCase) userAgent() UserAgent {
	return UserAgent{
		Browser:        c.Browser,
		BrowserVersion: c.BrowserVersion,
		OS:             c.OS,
		Device:         c.Device,
		Bot:            c.Bot,
		BotReason:      c.BotReason,
	}
}

func readUACases(t testing.TB) []uaCase {
	t.Helper()
	b, err := os.ReadFile(uaGolden)
	if err != nil {
		t.Fatalf("read golden file: %v", err)
	}
	var cases []uaCase
	if err := json.Unmarshal(b, &cases); err != nil {
		t.Fatalf("decode %s: %v", uaGolden, err)
	}
	return cases
}

// writeUACases writes one case per line, so that a diff shows which user
// agent changed.
func writeUACases(t *testing.T, cases []uaCase) {
	t.Helper()
	var buf bytes.Buffer
	buf.WriteString("[\n")
	for i, c := range cases {
		var line bytes.Buffer
		enc := json.NewEncoder(&line)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(c); err != nil {
			t.Fatal(err)
		}
		buf.Write(bytes.TrimSuffix(line.Bytes(), []byte("\n")))
		if i < len(cases)-1 {
			buf.WriteByte(',')
		}
		buf.WriteByte('\n')
	}
	buf.WriteString("]\n")
	if err := os.WriteFile(uaGolden, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestParseGolden(t *testing.T) {
	cases := readUACases(t)
	if len(cases) < 20 {
		t.Fatalf("golden file has %d cases, want at least 20", len(cases))
	}
	p := NewUAParser(0)
	if *update {
		for i := range cases {
			got := p.Parse(cases[i].UA)
			cases[i].Browser, cases[i].BrowserVersion, cases[i].OS = got.Browser, got.BrowserVersion, got.OS
			cases[i].Device, cases[i].Bot, cases[i].BotReason = got.Device, got.Bot, got.BotReason
		}
		writeUACases(t, cases)
		t.Logf("rewrote %s: check every changed line by hand before committing", uaGolden)
		return
	}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			if got, want := p.Parse(c.UA), c.userAgent(); got != want {
				t.Errorf("Parse(%q)\n got %+v\nwant %+v", c.UA, got, want)
			}
		})
	}
}

// TestParseInvariants checks the contract of every answer in the golden file.
func TestParseInvariants(t *testing.T) {
	p := NewUAParser(0)
	for _, c := range readUACases(t) {
		got := p.Parse(c.UA)
		switch got.Device {
		case DeviceDesktop, DeviceMobile, DeviceTablet, DeviceTV, DeviceConsole, DeviceBot, "":
		default:
			t.Errorf("%s: Device %q is not one of the seven classes", c.Name, got.Device)
		}
		if got.Bot != (got.Device == DeviceBot) || got.Bot != (got.BotReason != "") {
			t.Errorf("%s: Bot=%v, Device=%q, BotReason=%q disagree", c.Name, got.Bot, got.Device, got.BotReason)
		}
		if got.Bot && (got.Browser != "" || got.BrowserVersion != "" || got.OS != "") {
			t.Errorf("%s: a bot reports browser or OS: %+v", c.Name, got)
		}
		if strings.Contains(got.BrowserVersion, ".") {
			t.Errorf("%s: BrowserVersion %q is not a major version", c.Name, got.BrowserVersion)
		}
	}
}

func TestParseCacheReturnsSameAnswer(t *testing.T) {
	p := NewUAParser(2)
	const chrome = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
	first := p.Parse(chrome)
	if p.cache.Len() != 1 {
		t.Fatalf("cache holds %d entries after one parse, want 1", p.cache.Len())
	}
	if again := p.Parse(chrome); again != first {
		t.Errorf("cached answer %+v differs from the first %+v", again, first)
	}
	// Eviction: the cache never grows past its size.
	p.Parse("curl/8.5.0")
	p.Parse("Wget/1.21.4")
	if p.cache.Len() != 2 {
		t.Errorf("cache holds %d entries, want its size 2", p.cache.Len())
	}
	// The empty user agent is answered without touching the cache.
	p.Parse("")
	if p.cache.Contains("") {
		t.Error("the empty user agent was cached")
	}
}

func TestNewUAParserDefaultSize(t *testing.T) {
	for _, size := range []int{0, -5} {
		p := NewUAParser(size)
		for i := range DefaultUACacheSize + 10 {
			p.cache.Add(fmt.Sprint(i), UserAgent{})
		}
		if n := p.cache.Len(); n != DefaultUACacheSize {
			t.Errorf("NewUAParser(%d) keeps %d entries, want %d", size, n, DefaultUACacheSize)
		}
	}
}

func TestParseTrimsAndBoundsInput(t *testing.T) {
	p := NewUAParser(0)
	const chrome = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
	want := p.Parse(chrome)
	if got := p.Parse("  " + chrome + "\t"); got != want {
		t.Errorf("surrounding blanks changed the answer: %+v, want %+v", got, want)
	}
	long := chrome + " " + strings.Repeat("x", 5000)
	got := p.Parse(long)
	if got.Browser != "Chrome" {
		t.Errorf("a long user agent parsed as %+v", got)
	}
	for _, k := range p.cache.Keys() {
		if len(k) > event.MaxUserAgent {
			t.Errorf("cache key of %d bytes, want at most %d", len(k), event.MaxUserAgent)
		}
	}
}

func TestParseConcurrent(t *testing.T) {
	cases := readUACases(t)
	p := NewUAParser(8) // smaller than the case count: hits, misses and evictions race
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 3 * len(cases) {
				c := cases[(i+g*7)%len(cases)]
				if got := p.Parse(c.UA); got != c.userAgent() {
					t.Errorf("%s: got %+v", c.Name, got)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestBotNameFallback(t *testing.T) {
	for ua, want := range map[string]string{
		"Mozilla/5.0 (compatible; SeekportBot; +https://bot.seekport.com)": "SeekportBot",
		"Apache-Nutch/1.19": "Apache-Nutch",
		"Mozilla/5.0 (compatible; +https://crawler.example.com/about)":     "",
		"Mozilla/5.0 (compatible; " + strings.Repeat("é", 40) + "Bot/1.0)": strings.Repeat("é", 20),
	} {
		if got := botName(ua); got != want {
			t.Errorf("botName(%q) = %q, want %q", ua, got, want)
		}
	}
}

// benchUAs is a mix of browsers and bots from the golden file.
func benchUAs(b *testing.B) []string {
	var uas []string
	for _, c := range readUACases(b) {
		if c.UA != "" && strings.TrimSpace(c.UA) != "" {
			uas = append(uas, c.UA)
		}
	}
	return uas
}

// BenchmarkParseCached is the steady state: every user agent already cached.
func BenchmarkParseCached(b *testing.B) {
	uas := benchUAs(b)
	p := NewUAParser(0)
	for _, ua := range uas {
		p.Parse(ua)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		p.Parse(uas[i%len(uas)])
		i++
	}
}

// BenchmarkParseUncached is the first sight of each user agent: the cache is
// bypassed, so it measures the parser, the TV and console rules and bot
// detection.
func BenchmarkParseUncached(b *testing.B) {
	uas := benchUAs(b)
	p := NewUAParser(0)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		p.parse(uas[i%len(uas)])
		i++
	}
}

// BenchmarkParseUncachedBrowser is BenchmarkParseUncached for a browser, the
// common case: no pattern matches, so every bot check runs to its end.
func BenchmarkParseUncachedBrowser(b *testing.B) {
	const ua = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"
	p := NewUAParser(0)
	b.ReportAllocs()
	for b.Loop() {
		p.parse(ua)
	}
}
