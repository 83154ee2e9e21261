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
	// The columns' slices are reused from one insert to the next, as
	// WriteEvents' (the driver copies them): at live rates the sessionizer
	// writes about one version per event, and making 38 columns afresh per
	// insert was most of this function's allocation.
	n := len(rows)
	sc := getScratch(&versionScratchPool)
	defer sc.release()
	strs := scratchColumn[[]string](sc, 16)
	for i := range strs {
		strs[i] = scratchColumn[string](sc, n)
	}
	var (
		sites, reasons                       = scratchColumn[string](sc, n), scratchColumn[string](sc, n)
		days, started                        = scratchColumn[time.Time](sc, n), scratchColumn[time.Time](sc, n)
		sessionIDs, visitorIDs               = scratchColumn[uuid.UUID](sc, n), scratchColumn[uuid.UUID](sc, n)
		versions, events, pageviews, customs = scratchColumn[uint32](sc, n), scratchColumn[uint32](sc, n), scratchColumn[uint32](sc, n), scratchColumn[uint32](sc, n)
		lates, bridgings                     = scratchColumn[uint32](sc, n), scratchColumn[uint32](sc, n)
		firsts, lasts                        = scratchColumn[uint64](sc, n), scratchColumn[uint64](sc, n)
		bots, scrolls                        = scratchColumn[uint8](sc, n), scratchColumn[uint8](sc, n)
		widths, heights                      = scratchColumn[uint16](sc, n), scratchColumn[uint16](sc, n)
		exits, countries                     = scratchColumn[string](sc, n), scratchColumn[string](sc, n)
		pages                                = scratchColumn[[]string](sc, n)
		views                                = scratchColumn[[]uint32](sc, n)
	)
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
