package importer

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/teller-analytics/teller/pkg/event"
)

// Stats says what a reader did with its input. Nothing is dropped silently:
// every line is either emitted or counted under the reason it was skipped.
type Stats struct {
	Lines   int64            `json:"lines"`
	Events  int64            `json:"events"`
	Skipped map[string]int64 `json:"skipped,omitempty"`
	// Malformed are the first lines that could not be read, with why.
	Malformed []string `json:"malformed,omitempty"`
}

func (s *Stats) skip(reason string) {
	if s.Skipped == nil {
		s.Skipped = map[string]int64{}
	}
	s.Skipped[reason]++
}

// maxMalformedShown bounds Stats.Malformed.
const maxMalformedShown = 10

func (s *Stats) malformed(line int64, err error) {
	s.skip("malformed")
	if len(s.Malformed) < maxMalformedShown {
		s.Malformed = append(s.Malformed, fmt.Sprintf("line %d: %v", line, err))
	}
}

// maxLineBytes bounds one input line; a longer one ends the read with an error.
const maxLineBytes = 256 << 10

// CombinedOptions configure ReadCombined.
type CombinedOptions struct {
	// Origin is the site's origin, scheme://host: a log names only the
	// path, the event URL is Origin + path.
	Origin string
}

// combinedTime is the layout of $time_local.
const combinedTime = "02/Jan/2006:15:04:05 -0700"

// assetExtensions are requests for files a page loads, not pages.
var assetExtensions = map[string]bool{
	".css": true, ".js": true, ".mjs": true, ".map": true, ".json": true, ".xml": true, ".txt": true,
	".png": true, ".jpg": true, ".jpeg": true, ".gif": true, ".svg": true, ".ico": true, ".webp": true, ".avif": true,
	".woff": true, ".woff2": true, ".ttf": true, ".otf": true, ".eot": true,
	".mp4": true, ".webm": true, ".mp3": true, ".wasm": true,
}

// ReadCombined reads an access log in the combined log format of nginx and
// Apache:
//
//	$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"
//
// and emits one page view per page request, in the file's order. Skipped,
// and counted by reason: requests other than GET, answers other than 2xx
// and 3xx, assets (by extension). Bots are kept and recognised downstream by
// their user agent, as live ones are (is_bot). The visitor is the client
// address with the user agent; the event id derives from the line, so
// importing a log twice counts every request once.
func ReadCombined(r io.Reader, o CombinedOptions, emit func(Event) error) (Stats, error) {
	var st Stats
	origin := strings.TrimRight(o.Origin, "/")
	if u, err := url.Parse(origin); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" {
		return st, fmt.Errorf("combined log: origin %q is not scheme://host", o.Origin)
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxLineBytes)
	seen := map[string]int{} // identical lines (same second) stay distinct events
	visitors := firstSeen{}
	for sc.Scan() {
		st.Lines++
		line := sc.Text()
		if strings.TrimSpace(line) == "" {
			st.skip("empty")
			continue
		}
		l, err := parseCombinedLine(line)
		if err != nil {
			st.malformed(st.Lines, err)
			continue
		}
		switch {
		case l.method != "GET":
			st.skip("method")
			continue
		case l.status < 200 || l.status > 399:
			st.skip("status")
			continue
		}
		target, err := url.ParseRequestURI(l.target)
		if err != nil || target.Host != "" {
			st.malformed(st.Lines, fmt.Errorf("request target %q is not a path", l.target))
			continue
		}
		if assetExtensions[strings.ToLower(path.Ext(target.Path))] {
			st.skip("asset")
			continue
		}
		seen[line]++
		ev := Event{
			ID: EventID("combined", line, strconv.Itoa(seen[line])), TimeMs: l.time.UnixMilli(),
			Visitor: l.addr + "\x00" + l.userAgent, Kind: event.KindPageview, URL: origin + target.RequestURI(),
			Referrer: l.referrer, UserAgent: event.Clip(l.userAgent, event.MaxUserAgent),
		}
		ev.NewVisitor = visitors.first(ev.Visitor)
		if err := emit(ev); err != nil {
			return st, err
		}
		st.Events++
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return st, fmt.Errorf("combined log: line %d is longer than %d bytes", st.Lines+1, maxLineBytes)
		}
		return st, fmt.Errorf("combined log: read: %w", err)
	}
	return st, nil
}

type combinedLine struct {
	addr, method, target, referrer, userAgent string
	time                                      time.Time
	status                                    int
}

// parseCombinedLine splits one line; quoted fields may contain escaped quotes.
func parseCombinedLine(s string) (combinedLine, error) {
	var l combinedLine
	var ok bool
	if l.addr, s, ok = strings.Cut(s, " "); !ok || l.addr == "" {
		return l, errors.New("no client address")
	}
	open := strings.IndexByte(s, '[')
	end := strings.IndexByte(s, ']')
	if open < 0 || end < open {
		return l, errors.New("no [time]")
	}
	t, err := time.Parse(combinedTime, s[open+1:end])
	if err != nil {
		return l, fmt.Errorf("time %q: want like 10/Oct/2000:13:55:36 -0700", s[open+1:end])
	}
	l.time = t
	s = strings.TrimLeft(s[end+1:], " ")
	request, s, err := quoted(s)
	if err != nil {
		return l, fmt.Errorf("request: %w", err)
	}
	parts := strings.Fields(request)
	if len(parts) < 2 {
		return l, fmt.Errorf("request %q is not METHOD TARGET PROTOCOL", request)
	}
	l.method, l.target = parts[0], parts[1]
	fields := strings.Fields(s)
	if len(fields) < 2 {
		return l, errors.New("no status and size")
	}
	if l.status, err = strconv.Atoi(fields[0]); err != nil {
		return l, fmt.Errorf("status %q is not a number", fields[0])
	}
	// After the size: "referrer" "user agent" (the common log format lacks both).
	rest := strings.TrimLeft(s, " ")
	rest = strings.TrimLeft(strings.TrimPrefix(rest, fields[0]), " ")
	rest = strings.TrimLeft(strings.TrimPrefix(rest, fields[1]), " ")
	if rest == "" {
		return l, errors.New("no referrer and user agent (common, not combined, log format)")
	}
	if l.referrer, rest, err = quoted(rest); err != nil {
		return l, fmt.Errorf("referrer: %w", err)
	}
	if l.userAgent, _, err = quoted(strings.TrimLeft(rest, " ")); err != nil {
		return l, fmt.Errorf("user agent: %w", err)
	}
	if l.referrer == "-" {
		l.referrer = ""
	}
	if l.userAgent == "-" {
		l.userAgent = ""
	}
	return l, nil
}

// quoted reads a "..." field (nginx escapes " as \x22, Apache as \")
// and returns it with the rest after it.
func quoted(s string) (string, string, error) {
	if !strings.HasPrefix(s, `"`) {
		return "", s, errors.New("want a quoted field")
	}
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			if i+3 < len(s) && s[i+1] == 'x' {
				if v, err := strconv.ParseUint(s[i+2:i+4], 16, 8); err == nil {
					b.WriteByte(byte(v))
					i += 3
					continue
				}
			}
			if i+1 < len(s) {
				i++
				b.WriteByte(s[i])
			}
		case '"':
			return b.String(), s[i+1:], nil
		default:
			b.WriteByte(c)
		}
	}
	return "", "", errors.New("unterminated quote")
}
