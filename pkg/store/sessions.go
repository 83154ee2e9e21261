package store

import (
	"context"
	"errors"
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

// BackfillSessionVersions runs schema/0030's backfill again: one
// session_versions row per session of sessions_agg (version = its distinct
// events). Fixtures that write events rows directly, as tests do, get their
// sessions this way; running it twice writes equal rows. The SQL has one
// owner, the migration; this finds it there.
func BackfillSessionVersions(ctx context.Context, q Querier) error {
	migs, err := Migrations()
	if err != nil {
		return err
	}
	for _, m := range migs {
		for _, st := range m.Statements {
			if strings.HasPrefix(strings.TrimSpace(stripComments(st)), "INSERT INTO session_versions") && strings.Contains(st, "FROM sessions_agg") {
				// It reads every session: allowed where a test forces key use.
				st = strings.TrimSuffix(strings.TrimSpace(st), ";") + "\nSETTINGS force_primary_key = 0, force_index_by_date = 0"
				if err := q.Exec(ctx, st); err != nil {
					return fmt.Errorf("store: backfill session_versions: %w", err)
				}
				return nil
			}
		}
	}
	return errors.New("store: no migration backfills session_versions from sessions_agg")
}

// stripComments drops the "--" comment lines of a statement.
func stripComments(st string) string {
	var b strings.Builder
	for _, line := range strings.Split(st, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "--") {
			b.WriteString(line)
			b.WriteByte('\n')
		}
	}
	return b.String()
}
