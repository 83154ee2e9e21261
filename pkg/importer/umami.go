package importer

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/teller-analytics/teller/pkg/event"
)

// Umami's event types (src/lib/constants.ts, EVENT_TYPE).
const (
	umamiPageview    = "1"
	umamiCustomEvent = "2"
)

// umamiRequired are the website_event columns an import cannot do without.
var umamiRequired = []string{"session_id", "created_at", "hostname", "url_path", "event_type"}

// ReadUmami reads Umami's CSV export of its website_event table (one row per
// page view or custom event; the header names the columns, in any order, as
// Umami's schema does: website_id, session_id, visit_id, event_id, hostname,
// browser, os, device, screen, language, country, ..., url_path, url_query,
// utm_*, referrer_path, referrer_query, referrer_domain, page_title, gclid,
// ..., event_type, event_name, tag, created_at). Event type 1 is a page view,
// 2 a custom event named event_name. The visitor is Umami's session_id.
//
// Umami keeps no user agent, only the browser, OS and device it parsed;
// the importer writes a representative user agent of that browser on that
// OS and device (UserAgentFor), so the reports classify the row as Umami
// did. Umami keeps no scheme either: pages are https.
func ReadUmami(r io.Reader, emit func(Event) error) (Stats, error) {
	var st Stats
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err != nil {
		return st, fmt.Errorf("umami csv: read header: %w", err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))] = i
	}
	for _, c := range umamiRequired {
		if _, ok := col[c]; !ok {
			return st, fmt.Errorf("umami csv: column %q is missing (header: %s); export the website_event table", c, strings.Join(header, ","))
		}
	}
	visitors := firstSeen{}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		st.Lines++
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) && !errors.Is(pe.Err, csv.ErrFieldCount) {
				st.malformed(st.Lines, err)
				continue
			}
			return st, fmt.Errorf("umami csv: %w", err)
		}
		get := func(name string) string {
			if i, ok := col[name]; ok && i < len(rec) {
				return rec[i]
			}
			return ""
		}
		ev, reason, err := umamiEvent(get)
		if err != nil {
			st.malformed(st.Lines, err)
			continue
		}
		if reason != "" {
			st.skip(reason)
			continue
		}
		ev.NewVisitor = visitors.first(ev.Visitor)
		if err := emit(ev); err != nil {
			return st, err
		}
		st.Events++
	}
	return st, nil
}

// umamiTimes are the layouts created_at comes in: ClickHouse's DateTime and
// PostgreSQL/MySQL timestamps (UTC).
var umamiTimes = []string{"2006-01-02 15:04:05", "2006-01-02 15:04:05.999999", "2006-01-02T15:04:05.999999Z07:00", time.RFC3339Nano}

func umamiEvent(get func(string) string) (ev Event, skip string, err error) {
	var t time.Time
	for _, layout := range umamiTimes {
		if t, err = time.Parse(layout, get("created_at")); err == nil {
			break
		}
	}
	if err != nil {
		return ev, "", fmt.Errorf("created_at %q is not a time", get("created_at"))
	}
	ev.TimeMs = t.UnixMilli()
	ev.Visitor = get("session_id")
	if ev.Visitor == "" {
		return ev, "", errors.New("session_id is empty")
	}
	host := get("hostname")
	if host == "" {
		return ev, "", errors.New("hostname is empty")
	}
	page := url.URL{Scheme: "https", Host: host, Path: get("url_path"), RawQuery: strings.TrimPrefix(get("url_query"), "?")}
	ev.URL = page.String()
	switch get("event_type") {
	case umamiPageview:
		ev.Kind = event.KindPageview
	case umamiCustomEvent:
		ev.Kind, ev.Name = event.KindCustom, event.Clip(get("event_name"), event.MaxNameLength)
		if ev.Name == "" {
			return ev, "", errors.New("custom event without event_name")
		}
	default:
		return ev, "event_type", nil
	}
	if d := get("referrer_domain"); d != "" {
		ref := url.URL{Scheme: "https", Host: d, Path: get("referrer_path"), RawQuery: strings.TrimPrefix(get("referrer_query"), "?")}
		ev.Referrer = event.Clip(ref.String(), event.MaxURLLength)
	}
	ev.Title = event.Clip(get("page_title"), event.MaxTitleLength)
	if w, h, ok := strings.Cut(get("screen"), "x"); ok {
		ev.ScreenWidth, _ = strconv.Atoi(w)
		ev.ScreenHeight, _ = strconv.Atoi(h)
	}
	ev.UserAgent = UserAgentFor(get("browser"), get("os"), get("device"))
	id := get("event_id")
	if id == "" {
		id = strings.Join([]string{ev.Visitor, get("created_at"), ev.URL, string(ev.Kind), ev.Name}, "\x00")
	}
	ev.ID = EventID("umami", id)
	return ev, "", nil
}

// UserAgentFor is a representative user agent of browser on os and device,
// named as Umami names them (detect-browser's names: chrome, firefox,
// safari, ios, crios, edge-chromium, opera, samsung, ...; OS: "Windows 10",
// "Mac OS", "iOS", "Android OS", "Linux", "Chrome OS"; device: desktop,
// laptop, mobile, tablet). Unknown names get a Chrome of that OS.
func UserAgentFor(browser, os, device string) string {
	mobile := device == "mobile"
	var platform string
	switch o := strings.ToLower(os); {
	case strings.HasPrefix(o, "windows"):
		platform = "Windows NT 10.0; Win64; x64"
	case o == "mac os" || strings.HasPrefix(o, "macos") || strings.HasPrefix(o, "mac os x"):
		platform = "Macintosh; Intel Mac OS X 10_15_7"
	case o == "ios":
		platform = "iPhone; CPU iPhone OS 17_5 like Mac OS X"
		if device == "tablet" {
			platform = "iPad; CPU OS 17_5 like Mac OS X"
		}
	case strings.HasPrefix(o, "android"):
		platform = "Linux; Android 10; K"
	case o == "chrome os":
		platform = "X11; CrOS x86_64 14541.0.0"
	default:
		platform = "X11; Linux x86_64"
	}
	const chrome = "AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 "
	safari := "Safari/537.36"
	if mobile {
		safari = "Mobile Safari/537.36"
	}
	switch strings.ToLower(browser) {
	case "firefox", "fxios":
		return "Mozilla/5.0 (" + platform + "; rv:133.0) Gecko/20100101 Firefox/133.0"
	case "safari", "ios", "ios-webview":
		if strings.HasPrefix(platform, "iP") {
			return "Mozilla/5.0 (" + platform + ") AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
		}
		return "Mozilla/5.0 (" + platform + ") AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15"
	case "edge-chromium", "edge":
		return "Mozilla/5.0 (" + platform + ") " + chrome + safari + " Edg/131.0.0.0"
	case "opera":
		return "Mozilla/5.0 (" + platform + ") " + chrome + safari + " OPR/114.0.0.0"
	case "samsung":
		return "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36"
	}
	return "Mozilla/5.0 (" + platform + ") " + chrome + safari
}
