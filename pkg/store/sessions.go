package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
)

// SessionVersion is one row of session_versions (see
// schema/0030_session_versions.sql for the meaning of each column): a
// session's figures after Version distinct events.
type SessionVersion struct {
	SiteID                                          string
	SessionID                                       uuid.UUID
	VisitorID                                       uuid.UUID
	StartedMs                                       int64 // opening event; gives session_date and started_at
	StartReason                                     string
	Version                                         uint32
	FirstMs, LastMs                                 int64
	Events, Pageviews, CustomEvents, Late, Bridging uint32
	IsBot                                           bool
	MaxScroll                                       uint8
	EntryPathname, EntryHostname                    string
	Referrer, ReferrerDomain, ReferrerSource        string
	Channel                                         string
	UTMSource, UTMMedium, UTMCampaign               string
	UTMTerm, UTMContent, ClickIDType                string
	Browser, BrowserVersion, OS, Device             string
	ScreenWidth, ScreenHeight                       uint16
	ExitPathname                                    string
	Pages                                           []string
	PageViews                                       []uint32
	Country                                         string // the earliest event's, ISO 3166-1 alpha-2 or empty
}

// SessionVersionColumns are the session_versions columns a row is written
// to, in the order of SessionVersion.Values and of WriteSessionVersions'
// columns.
var SessionVersionColumns = []string{"site_id", "session_date", "session_id", "visitor_id", "started_at",
	"start_reason", "version", "first_ms", "last_ms", "events", "pageviews", "custom_events", "late_events", "bridging_events", "is_bot",
	"max_scroll", "entry_pathname", "entry_hostname", "referrer", "referrer_domain", "referrer_source", "channel", "utm_source",
	"utm_medium", "utm_campaign", "utm_term", "utm_content", "click_id_type", "browser", "browser_version", "os", "device", "screen_width",
	"screen_height", "exit_pathname", "pages", "page_views", "country"}

var insertSessionVersions = "INSERT INTO session_versions (" + strings.Join(SessionVersionColumns, ", ") + ")"

// Values are r's values in SessionVersionColumns' order, as a driver
// appends them: for writers of single rows (test fixtures on engines
// without batches); the sessionizer's path is WriteSessionVersions.
func (r *SessionVersion) Values() []any {
	st := time.UnixMilli(r.StartedMs).UTC()
	pages, views := r.Pages, r.PageViews
	if pages == nil {
		pages, views = []string{}, []uint32{}
	}
	return []any{r.SiteID, time.Date(st.Year(), st.Month(), st.Day(), 0, 0, 0, 0, time.UTC), r.SessionID, r.VisitorID, st,
		r.StartReason, r.Version, uint64(r.FirstMs), uint64(r.LastMs), r.Events, r.Pageviews, r.CustomEvents, r.Late, r.Bridging, b2u(r.IsBot),
		r.MaxScroll, r.EntryPathname, r.EntryHostname, r.Referrer, r.ReferrerDomain, r.ReferrerSource, r.Channel, r.UTMSource,
		r.UTMMedium, r.UTMCampaign, r.UTMTerm, r.UTMContent, r.ClickIDType, r.Browser, r.BrowserVersion, r.OS, r.Device, r.ScreenWidth,
		r.ScreenHeight, r.ExitPathname, pages, views, r.Country}
}

// WriteSessionVersions inserts rows in one batch. Writing the same rows
// again is harmless: equal versions of a session are equal rows, and the
// highest version wins under FINAL.
func (db *DB) WriteSessionVersions(ctx context.Context, rows []SessionVersion) error {
	if len(rows) == 0 {
		return nil
	}
	// Column by column: one Append per column instead of one reflective
	// AppendRow of 38 values per row (the sessionizer writes about as many
	// versions as events).
	n := len(rows)
	var (
		sites, reasons, strs                 = make([]string, n), make([]string, n), make([][]string, 16)
		days, started                        = make([]time.Time, n), make([]time.Time, n)
		sessionIDs, visitorIDs               = make([]uuid.UUID, n), make([]uuid.UUID, n)
		versions, events, pageviews, customs = make([]uint32, n), make([]uint32, n), make([]uint32, n), make([]uint32, n)
		lates, bridgings                     = make([]uint32, n), make([]uint32, n)
		firsts, lasts                        = make([]uint64, n), make([]uint64, n)
		bots, scrolls                        = make([]uint8, n), make([]uint8, n)
		widths, heights                      = make([]uint16, n), make([]uint16, n)
		exits, countries                     = make([]string, n), make([]string, n)
		pages                                = make([][]string, n)
		views                                = make([][]uint32, n)
	)
	for i := range strs {
		strs[i] = make([]string, n)
	}
	for i := range rows {
		r := &rows[i]
		st := time.UnixMilli(r.StartedMs).UTC()
		sites[i], reasons[i], started[i] = r.SiteID, r.StartReason, st
		days[i] = time.Date(st.Year(), st.Month(), st.Day(), 0, 0, 0, 0, time.UTC)
		sessionIDs[i], visitorIDs[i] = r.SessionID, r.VisitorID
		versions[i], events[i], pageviews[i], customs[i], lates[i], bridgings[i] = r.Version, r.Events, r.Pageviews, r.CustomEvents, r.Late, r.Bridging
		firsts[i], lasts[i] = uint64(r.FirstMs), uint64(r.LastMs)
		bots[i], scrolls[i], widths[i], heights[i] = b2u(r.IsBot), r.MaxScroll, r.ScreenWidth, r.ScreenHeight
		for j, v := range [16]string{r.EntryPathname, r.EntryHostname, r.Referrer, r.ReferrerDomain, r.ReferrerSource, r.Channel,
			r.UTMSource, r.UTMMedium, r.UTMCampaign, r.UTMTerm, r.UTMContent, r.ClickIDType, r.Browser, r.BrowserVersion, r.OS, r.Device} {
			strs[j][i] = v
		}
		exits[i], pages[i], views[i], countries[i] = r.ExitPathname, r.Pages, r.PageViews, r.Country
		if pages[i] == nil {
			pages[i], views[i] = []string{}, []uint32{}
		}
	}
	// In SessionVersionColumns' order.
	cols := []any{sites, days, sessionIDs, visitorIDs, started, reasons, versions, firsts, lasts, events, pageviews, customs,
		lates, bridgings, bots, scrolls}
	for _, c := range strs {
		cols = append(cols, c)
	}
	cols = append(cols, widths, heights, exits, pages, views, countries)
	batch, err := prepareSized(ctx, db, insertSessionVersions, SessionVersionColumns, cols)
	if err != nil {
		return fmt.Errorf("store: prepare session versions insert: %w", err)
	}
	defer batch.Abort()
	for i, c := range cols {
		if err := batch.Column(i).Append(c); err != nil {
			return fmt.Errorf("store: append column %d of %d session versions: %w", i, n, err)
		}
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("store: insert %d session versions: %w", len(rows), err)
	}
	return nil
}
