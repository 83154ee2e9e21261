package store

import (
	"context"
	"fmt"
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
}

const insertSessionVersions = `INSERT INTO session_versions (site_id, session_date, session_id, visitor_id, started_at,
 start_reason, version, first_ms, last_ms, events, pageviews, custom_events, late_events, bridging_events, is_bot,
 max_scroll, entry_pathname, entry_hostname, referrer, referrer_domain, referrer_source, channel, utm_source,
 utm_medium, utm_campaign, utm_term, utm_content, click_id_type, browser, browser_version, os, device, screen_width,
 screen_height, exit_pathname, pages, page_views)`

// WriteSessionVersions inserts rows in one batch. Writing the same rows
// again is harmless: equal versions of a session are equal rows, and the
// highest version wins under FINAL.
func (db *DB) WriteSessionVersions(ctx context.Context, rows []SessionVersion) error {
	if len(rows) == 0 {
		return nil
	}
	batch, err := db.conn.PrepareBatch(ctx, insertSessionVersions)
	if err != nil {
		return fmt.Errorf("store: prepare session versions insert: %w", err)
	}
	defer batch.Abort()
	for i := range rows {
		r := &rows[i]
		pages, views := r.Pages, r.PageViews
		if pages == nil {
			pages, views = []string{}, []uint32{}
		}
		started := time.UnixMilli(r.StartedMs).UTC()
		day := time.Date(started.Year(), started.Month(), started.Day(), 0, 0, 0, 0, time.UTC)
		if err := batch.Append(r.SiteID, day, r.SessionID, r.VisitorID, started, r.StartReason, r.Version,
			uint64(r.FirstMs), uint64(r.LastMs), r.Events, r.Pageviews, r.CustomEvents, r.Late, r.Bridging, b2u(r.IsBot),
			r.MaxScroll, r.EntryPathname, r.EntryHostname, r.Referrer, r.ReferrerDomain, r.ReferrerSource, r.Channel,
			r.UTMSource, r.UTMMedium, r.UTMCampaign, r.UTMTerm, r.UTMContent, r.ClickIDType, r.Browser, r.BrowserVersion,
			r.OS, r.Device, r.ScreenWidth, r.ScreenHeight, r.ExitPathname, pages, views); err != nil {
			return fmt.Errorf("store: append version %d of session %s: %w", r.Version, r.SessionID, err)
		}
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("store: insert %d session versions: %w", len(rows), err)
	}
	return nil
}
