package enrich

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"regexp"
	"regexp/syntax"
	"strings"
	"sync"
	"unicode"
)

// crawlerUserAgentsJSON is the npm package crawler-user-agents'
// crawler-user-agents.json, verbatim (version, licence and checksums in
// crawlerdata/VENDOR; scripts/refresh-crawlers.sh replaces it).
//
//go:embed crawlerdata/crawler-user-agents.json
var crawlerUserAgentsJSON []byte

// crawlerEntry is one entry of crawler-user-agents.json: a regular
// expression any of whose matches makes a user agent a bot, and tags saying
// what kind of bot (search-engine, ai-crawler, social-preview, ...).
type crawlerEntry struct {
	Pattern string   `json:"pattern"`
	Tags    []string `json:"tags"`
}

// ownCrawlers are bots the vendored list does not know, in its format. Each
// must be missing from it (a test checks, so an entry goes once upstream has
// it): propose new ones upstream as well.
var ownCrawlers = []crawlerEntry{
	{`^undici`, []string{"http-library"}},
	{`^Java/`, []string{"http-library"}},
	{`Java-http-client/`, []string{"http-library"}},
	{`GuzzleHttp/`, []string{"http-library"}},
	{`^Faraday v`, []string{"http-library"}},
	{`PostmanRuntime/`, []string{"http-library"}},
	{`^insomnia/`, []string{"http-library"}},
	{`\(dart:io\)`, []string{"http-library"}},
	{`^Deno/`, []string{"http-library"}},
	{`^Bun/`, []string{"http-library"}},
	{`PowerShell/`, []string{"http-library"}},       // WindowsPowerShell/5.1, PowerShell/7.4
	{`FeedFetcher-Google`, []string{"feed-reader"}}, // as Google spells it now; the list has "Feedfetcher-Google"
	{`Bluesky Cardyb/`, []string{"social-preview"}},
	{`HeadlessEdg/`, []string{"browser-automation"}},
}

// Bot reasons are "<class>" or "<class>:<Name>". The classes, from the
// pattern's tags (the first of these a pattern has):
const (
	// botAI: crawlers that feed AI models, and AI assistants fetching a page
	// for a user (tag ai-crawler).
	botAI = "ai-crawler"
	// botHeadless: a headless or automated browser (tag browser-automation);
	// the reason is the class alone.
	botHeadless = "headless"
	// botPreview: link-preview fetchers of social networks and chat apps
	// (social-preview).
	botPreview = "preview"
	// botHTTPClient: a command-line tool or HTTP library (http-library).
	botHTTPClient = "http-client"
	// botMonitor: uptime monitors, page-speed auditors, link checkers
	// (monitoring).
	botMonitor = "monitor"
	// botFeed: feed readers fetching for their subscribers (feed-reader).
	botFeed = "feed-reader"
	// botScanner: security and vulnerability scanners (scanner).
	botScanner = "scanner"
	// botCrawler: search engines, SEO tools, archivers, academic and
	// advertising crawlers, and every other bot.
	botCrawler = "crawler"
)

// botClassOfTag maps the list's tags to the classes, in order of precedence.
var botClassOfTag = []struct{ tag, class string }{
	{"ai-crawler", botAI},
	{"browser-automation", botHeadless},
	{"social-preview", botPreview},
	{"http-library", botHTTPClient},
	{"monitoring", botMonitor},
	{"feed-reader", botFeed},
	{"scanner", botScanner},
}

func botClass(tags []string) string {
	for _, c := range botClassOfTag {
		for _, t := range tags {
			if t == c.tag {
				return c.class
			}
		}
	}
	return botCrawler
}

// The frame around a user agent while it is scanned, so that the anchors ^
// and $ of a pattern become bytes of its literals ("^curl" is "\x02curl").
const (
	frameStart = 0x02
	frameEnd   = 0x03
)

// Limits of the literal expansion of a pattern: beyond them the pattern is
// found by its longest literal and confirmed by its regular expression.
const (
	maxPatternLiterals = 64
	minRequiredLiteral = 3
)

// botMatcher finds the first bot pattern in a user agent: one Aho-Corasick
// pass over the literals of every pattern (most patterns are literals or
// small alternations of them, found exactly), then the pattern's regular
// expression only for the few that are not, when their literal occurs.
type botMatcher struct {
	ac       *acAutomaton
	literals []botLiteral
	patterns []botPattern
	// unusable are the patterns RE2 rejects or that have no literal to find
	// them by; they are left out (the list's own Go package has the same
	// limits, so there are none today).
	unusable []string
}

type botPattern struct {
	source string
	re     *regexp.Regexp // nil when the literals are exact
}

type botLiteral struct {
	pattern     int32
	atStart     bool   // the literal begins with the ^ anchor
	atEnd       bool   // the literal ends with the $ anchor
	reason      string // the reason, or "" when nameFromUA
	nameFromUA  bool   // the literal is a URL: name the bot from the user agent
	class       string
	frameLength int // len of the literal, anchors included
}

// crawlers is the matcher over the vendored list and ownCrawlers, built on
// first use (some tens of milliseconds; 2.8 MiB of heap, mostly the
// automaton's table). It is never modified after.
var crawlers = sync.OnceValue(func() *botMatcher {
	var entries []crawlerEntry
	if err := json.Unmarshal(crawlerUserAgentsJSON, &entries); err != nil {
		// The file is embedded and tested: only a broken build gets here.
		panic(fmt.Errorf("enrich: decode crawler-user-agents.json: %w", err))
	}
	m, err := newBotMatcher(append(entries, ownCrawlers...))
	if err != nil {
		panic(fmt.Errorf("enrich: crawler-user-agents.json: %w", err))
	}
	return m
})

func newBotMatcher(entries []crawlerEntry) (*botMatcher, error) {
	m := &botMatcher{}
	var lits []string
	for _, e := range entries {
		exact, required, re, err := analyzePattern(e.Pattern)
		if err != nil {
			m.unusable = append(m.unusable, e.Pattern)
			continue
		}
		p, class := int32(len(m.patterns)), botClass(e.Tags)
		m.patterns = append(m.patterns, botPattern{source: e.Pattern, re: re})
		if exact == nil {
			exact = []string{required}
		}
		for _, l := range exact {
			lits = append(lits, l)
			m.literals = append(m.literals, newBotLiteral(p, l, class))
		}
	}
	ac, err := newACAutomaton(lits)
	if err != nil {
		return nil, err
	}
	m.ac = ac
	return m, nil
}

func newBotLiteral(pattern int32, lit, class string) botLiteral {
	l := botLiteral{
		pattern:     pattern,
		atStart:     strings.HasPrefix(lit, string(rune(frameStart))),
		atEnd:       strings.HasSuffix(lit, string(rune(frameEnd))),
		class:       class,
		frameLength: len(lit),
	}
	name := strings.TrimFunc(lit, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	if strings.Count(name, "(") > strings.Count(name, ")") {
		name += ")" // "Mediapartners \(Googlebot\)" lost its ")" to the trim
	}
	switch {
	case class == botHeadless:
		l.reason = botHeadless
	case strings.ContainsAny(name, "./"):
		l.nameFromUA = true
	default:
		l.reason = class + ":" + clipName(name)
	}
	return l
}

// match returns the reason of the pattern [botMatcher.find] picks, or "".
func (m *botMatcher) match(ua string) string {
	id := m.find(ua)
	if id < 0 {
		return ""
	}
	l := &m.literals[id]
	if !l.nameFromUA {
		return l.reason
	}
	if name := botName(ua); name != "" {
		return l.class + ":" + name
	}
	return l.class
}

// find returns the literal of the pattern matching ua whose literal starts
// leftmost (then the longest, then the first in the list), or -1.
func (m *botMatcher) find(ua string) int {
	best := -1
	bestStart := 0
	// Patterns whose regular expression already ran, and its answer; a
	// handful at most, as only non-literal patterns are checked.
	var checked []int32
	var checkedOK []bool
	end := len(ua) + 2
	m.ac.scan(frameStart, ua, frameEnd, func(id int32, start int) {
		l := &m.literals[id]
		if (l.atStart && start != 0) || (l.atEnd && start+l.frameLength != end) {
			return
		}
		if best >= 0 {
			b := &m.literals[best]
			switch {
			case start > bestStart:
				return
			case start == bestStart && l.frameLength < b.frameLength:
				return
			case start == bestStart && l.frameLength == b.frameLength && l.pattern > b.pattern:
				return
			}
		}
		if re := m.patterns[l.pattern].re; re != nil {
			ok, seen := false, false
			for i, p := range checked {
				if p == l.pattern {
					ok, seen = checkedOK[i], true
				}
			}
			if !seen {
				ok = re.MatchString(ua)
				checked, checkedOK = append(checked, l.pattern), append(checkedOK, ok)
			}
			if !ok {
				return
			}
		}
		best, bestStart = int(id), start
	})
	return best
}

// analyzePattern compiles a pattern of the list and returns what finds it: the
// exact literals (with the anchors as frameStart and frameEnd) when a text
// matches the pattern if and only if the framed text contains one of them;
// otherwise the longest literal every match contains, and the regular
// expression that confirms a match.
func analyzePattern(pattern string) (exact []string, required string, re *regexp.Regexp, err error) {
	re, err = regexp.Compile(pattern)
	if err != nil {
		return nil, "", nil, fmt.Errorf("pattern %q: %w", pattern, err)
	}
	tree, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return nil, "", nil, fmt.Errorf("pattern %q: %w", pattern, err)
	}
	tree = tree.Simplify()
	if lits, ok := literalsOf(tree); ok && usableLiterals(lits) {
		return lits, "", nil, nil
	}
	required = requiredLiteral(tree)
	if len(required) < minRequiredLiteral {
		return nil, "", nil, fmt.Errorf("pattern %q has no literal of %d bytes or more to be found by", pattern, minRequiredLiteral)
	}
	return nil, required, re, nil
}

// usableLiterals reports whether every literal holds a byte besides the
// anchors: one that does not would match (almost) every user agent.
func usableLiterals(lits []string) bool {
	for _, l := range lits {
		if strings.Trim(l, string([]rune{frameStart, frameEnd})) == "" {
			return false
		}
	}
	return len(lits) > 0
}

// literalsOf expands re into the texts one of which every match contains and
// each of which is a match (in the framed text), or reports false when that
// takes more than maxPatternLiterals texts or re has repetition, wildcards,
// case folding or word boundaries.
func literalsOf(re *syntax.Regexp) ([]string, bool) {
	switch re.Op {
	case syntax.OpLiteral:
		if re.Flags&syntax.FoldCase != 0 {
			// The parser turns [cC] into a case-folded "c".
			return foldedLiterals(re.Rune)
		}
		return []string{string(re.Rune)}, true
	case syntax.OpEmptyMatch:
		return []string{""}, true
	case syntax.OpBeginText:
		return []string{string(rune(frameStart))}, true
	case syntax.OpEndText:
		return []string{string(rune(frameEnd))}, true
	case syntax.OpCharClass:
		var out []string
		for i := 0; i+1 < len(re.Rune); i += 2 {
			for r := re.Rune[i]; r <= re.Rune[i+1]; r++ {
				if len(out) == maxPatternLiterals {
					return nil, false
				}
				out = append(out, string(r))
			}
		}
		return out, true
	case syntax.OpCapture:
		return literalsOf(re.Sub[0])
	case syntax.OpQuest:
		sub, ok := literalsOf(re.Sub[0])
		if !ok || len(sub)+1 > maxPatternLiterals {
			return nil, false
		}
		return append(sub, ""), true
	case syntax.OpAlternate:
		var out []string
		for _, s := range re.Sub {
			sub, ok := literalsOf(s)
			if !ok || len(out)+len(sub) > maxPatternLiterals {
				return nil, false
			}
			out = append(out, sub...)
		}
		return out, true
	case syntax.OpConcat:
		out := []string{""}
		for _, s := range re.Sub {
			sub, ok := literalsOf(s)
			if !ok || len(out)*len(sub) > maxPatternLiterals {
				return nil, false
			}
			next := make([]string, 0, len(out)*len(sub))
			for _, a := range out {
				for _, b := range sub {
					next = append(next, a+b)
				}
			}
			out = next
		}
		return out, true
	}
	return nil, false
}

// foldedLiterals spells runes in every case, or reports false when that takes
// more than maxPatternLiterals texts.
func foldedLiterals(runes []rune) ([]string, bool) {
	out := []string{""}
	for _, r := range runes {
		variants := []rune{r}
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			variants = append(variants, f)
		}
		if len(out)*len(variants) > maxPatternLiterals {
			return nil, false
		}
		next := make([]string, 0, len(out)*len(variants))
		for _, a := range out {
			for _, v := range variants {
				next = append(next, a+string(v))
			}
		}
		out = next
	}
	return out, true
}

// requiredLiteral returns the longest case-sensitive literal every match of
// re contains, or "".
func requiredLiteral(re *syntax.Regexp) string {
	if re.Flags&syntax.FoldCase != 0 {
		return ""
	}
	switch re.Op {
	case syntax.OpLiteral:
		return string(re.Rune)
	case syntax.OpCapture, syntax.OpPlus:
		return requiredLiteral(re.Sub[0])
	case syntax.OpRepeat:
		if re.Min >= 1 {
			return requiredLiteral(re.Sub[0])
		}
	case syntax.OpConcat:
		longest := ""
		for _, s := range re.Sub {
			if l := requiredLiteral(s); len(l) > len(longest) {
				longest = l
			}
		}
		return longest
	}
	return ""
}
