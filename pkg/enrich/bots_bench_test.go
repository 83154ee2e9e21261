package enrich

import (
	"encoding/json"
	"os"
	"testing"
)

// These benchmarks read their user agents from files rather than from the
// package's variables, so that the same file builds against older versions
// of the package for paired before/after runs (docs/benchmarks.md).

func benchBrowserUAs(b *testing.B) []string {
	b.Helper()
	var cases []struct {
		UA string `json:"ua"`
	}
	raw, err := os.ReadFile("testdata/browsers.json")
	if err != nil {
		b.Fatal(err)
	}
	if err := json.Unmarshal(raw, &cases); err != nil {
		b.Fatal(err)
	}
	uas := make([]string, len(cases))
	for i, c := range cases {
		uas[i] = c.UA
	}
	return uas
}

func benchCrawlerUAs(b *testing.B) []string {
	b.Helper()
	var entries []struct {
		Instances []string `json:"instances"`
	}
	raw, err := os.ReadFile("crawlerdata/crawler-user-agents.json")
	if err != nil {
		b.Fatal(err)
	}
	if err := json.Unmarshal(raw, &entries); err != nil {
		b.Fatal(err)
	}
	var uas []string
	for _, e := range entries {
		uas = append(uas, e.Instances...)
	}
	return uas
}

func benchBotReason(b *testing.B, uas []string) {
	botReason(uas[0]) // build the matcher outside the timing
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		botReason(uas[i%len(uas)])
		i++
	}
}

// BenchmarkBotReasonBrowser is bot detection alone on current browsers: the
// common case, and the slowest for a matcher that tries pattern after
// pattern, since none matches.
func BenchmarkBotReasonBrowser(b *testing.B) { benchBotReason(b, benchBrowserUAs(b)) }

// BenchmarkBotReasonCrawler is bot detection alone on the 2,118 instances
// of crawler-user-agents.
func BenchmarkBotReasonCrawler(b *testing.B) { benchBotReason(b, benchCrawlerUAs(b)) }

// BenchmarkParseUncachedBrowsers is a first sight of each current browser:
// the parser and bot detection, without the cache.
func BenchmarkParseUncachedBrowsers(b *testing.B) {
	uas := benchBrowserUAs(b)
	p := NewUAParser(0)
	p.parse(uas[0])
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		p.parse(uas[i%len(uas)])
		i++
	}
}
