package store

import (
	"context"
	"fmt"
	"time"

	"github.com/teller-analytics/teller/pkg/site"
)

// SaveSite registers s or replaces its settings. s must be normalized.
func (db *DB) SaveSite(ctx context.Context, s site.Site) error {
	if err := s.Normalize(); err != nil {
		return err
	}
	if s.CreatedAt.IsZero() {
		if old, ok, err := db.GetSite(ctx, s.ID); err != nil {
			return err
		} else if ok {
			s.CreatedAt = old.CreatedAt
		} else {
			s.CreatedAt = time.Now().UTC()
		}
	}
	batch, err := db.conn.PrepareBatch(ctx, "INSERT INTO sites (site_id, name, domains, timezone, created_at, updated_ms, deleted)")
	if err != nil {
		return fmt.Errorf("store: save site %s: %w", s.ID, err)
	}
	if err := batch.Append(s.ID, s.Name, s.Domains, s.Timezone, s.CreatedAt.UTC(), uint64(time.Now().UnixMilli()), uint8(0)); err != nil {
		return fmt.Errorf("store: save site %s: %w", s.ID, err)
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("store: save site %s: %w", s.ID, err)
	}
	return db.saveSettings(ctx, s.ID, s.Settings)
}

func (db *DB) saveSettings(ctx context.Context, id string, st site.Settings) error {
	batch, err := db.conn.PrepareBatch(ctx, "INSERT INTO site_settings (site_id, cookie_mode, cookie_domain, same_site, bots, query_params, rate_limit, rate_burst, respect_dnt, midnight_split, campaign_split, session_gap_ms, updated_ms)")
	if err != nil {
		return fmt.Errorf("store: save settings of site %s: %w", id, err)
	}
	params := st.QueryParams
	if params == nil {
		params = []string{}
	}
	if err := batch.Append(id, st.CookieMode, st.CookieDomain, st.SameSite, st.Bots, params, st.RateLimit,
		uint32(st.RateBurst), b2u(st.RespectDNT), st.MidnightSplit, st.CampaignSplit,
		uint64(st.SessionGap.Milliseconds()), uint64(time.Now().UnixMilli())); err != nil {
		return fmt.Errorf("store: save settings of site %s: %w", id, err)
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("store: save settings of site %s: %w", id, err)
	}
	return nil
}

const currentSettings = `SELECT site_id, argMax(cookie_mode, updated_ms), argMax(cookie_domain, updated_ms), argMax(same_site, updated_ms),
       argMax(bots, updated_ms), argMax(query_params, updated_ms), argMax(rate_limit, updated_ms), argMax(rate_burst, updated_ms),
       argMax(respect_dnt, updated_ms), argMax(midnight_split, updated_ms), argMax(campaign_split, updated_ms),
       argMax(session_gap_ms, updated_ms)
FROM site_settings %s GROUP BY site_id`

// settings reads the current settings of the sites the where clause selects.
// A site without a row keeps the defaults (Normalize fills them).
func (db *DB) settings(ctx context.Context, where string, args ...any) (map[string]site.Settings, error) {
	rows, err := db.conn.Query(ctx, fmt.Sprintf(currentSettings, where), args...)
	if err != nil {
		return nil, fmt.Errorf("store: read site settings: %w", err)
	}
	defer rows.Close()
	out := map[string]site.Settings{}
	for rows.Next() {
		var id string
		var st site.Settings
		var burst uint32
		var dnt uint8
		var gapMs uint64
		if err := rows.Scan(&id, &st.CookieMode, &st.CookieDomain, &st.SameSite, &st.Bots, &st.QueryParams, &st.RateLimit, &burst,
			&dnt, &st.MidnightSplit, &st.CampaignSplit, &gapMs); err != nil {
			return nil, fmt.Errorf("store: scan site settings: %w", err)
		}
		st.RateBurst, st.RespectDNT, st.SessionGap = int(burst), dnt == 1, time.Duration(gapMs)*time.Millisecond
		// A row written before 0065 has '' for the splits: the default.
		if st.MidnightSplit == "" {
			st.MidnightSplit = site.SplitDefault
		}
		if st.CampaignSplit == "" {
			st.CampaignSplit = site.SplitDefault
		}
		out[id] = st
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: read site settings: %w", err)
	}
	return out, nil
}

const currentSites = `SELECT site_id, argMax(name, updated_ms), argMax(domains, updated_ms), argMax(timezone, updated_ms),
       min(created_at), argMax(deleted, updated_ms) AS del
FROM sites %s GROUP BY site_id HAVING del = 0 ORDER BY site_id`

// ListSites returns every current site, ordered by id.
func (db *DB) ListSites(ctx context.Context) ([]site.Site, error) {
	return db.querySites(ctx, "")
}

// GetSite returns the site with id, if registered.
func (db *DB) GetSite(ctx context.Context, id string) (site.Site, bool, error) {
	list, err := db.querySites(ctx, "WHERE site_id = ?", id)
	if err != nil || len(list) == 0 {
		return site.Site{}, false, err
	}
	return list[0], true, nil
}

func (db *DB) querySites(ctx context.Context, where string, args ...any) ([]site.Site, error) {
	rows, err := db.conn.Query(ctx, fmt.Sprintf(currentSites, where), args...)
	if err != nil {
		return nil, fmt.Errorf("store: read sites: %w", err)
	}
	defer rows.Close()
	var out []site.Site
	for rows.Next() {
		var s site.Site
		var del uint8
		if err := rows.Scan(&s.ID, &s.Name, &s.Domains, &s.Timezone, &s.CreatedAt, &del); err != nil {
			return nil, fmt.Errorf("store: scan site: %w", err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: read sites: %w", err)
	}
	settings, err := db.settings(ctx, where, args...)
	if err != nil {
		return nil, err
	}
	for i := range out {
		out[i].Settings = settings[out[i].ID]
		if out[i].Settings.CookieMode == "" { // no row: the defaults
			out[i].Settings = site.Settings{CookieMode: site.CookieModeCookie, SameSite: site.SameSiteAuto, Bots: site.BotsFlag, QueryParams: []string{},
				MidnightSplit: site.SplitDefault, CampaignSplit: site.SplitDefault}
		}
	}
	return out, nil
}

// ActivityWindow is how far back SiteActivity looks for a site's latest
// event: far enough to tell "stopped last week" from "never installed",
// near enough to read only a month of the site's part of events.
const ActivityWindow = 30 * 24 * time.Hour

// Activity says whether a site's events are arriving.
type Activity struct {
	// Last is the time of the latest stored event within ActivityWindow
	// before now, zero when there is none.
	Last time.Time
	// Since is the number of distinct events stored at or after the since
	// time given to SiteActivity (e.g. the start of today).
	Since uint64
}

// SiteActivity reads the latest stored event of site id within
// ActivityWindow before now, and counts the events from since to now. It reads
// events (stored by the sessionizer), so it shows what reports will show.
func (db *DB) SiteActivity(ctx context.Context, id string, since, now time.Time) (Activity, error) {
	lo := now.Add(-ActivityWindow)
	rows, err := db.conn.Query(ctx, `SELECT count() AS n, max(ts), uniqExactIf(event_id, ts >= toDateTime(?))
FROM events
WHERE site_id = ? AND toDate(ts) >= toDate(toDateTime(?)) AND ts >= toDateTime(?) AND ts <= toDateTime(?)`,
		since.Unix(), id, lo.Unix(), lo.Unix(), now.Unix())
	if err != nil {
		return Activity{}, fmt.Errorf("store: activity of site %s: %w", id, err)
	}
	defer rows.Close()
	var a Activity
	if rows.Next() {
		var n uint64
		var last time.Time
		if err := rows.Scan(&n, &last, &a.Since); err != nil {
			return Activity{}, fmt.Errorf("store: activity of site %s: %w", id, err)
		}
		if n > 0 {
			a.Last = last.UTC()
		}
	}
	if err := rows.Err(); err != nil {
		return Activity{}, fmt.Errorf("store: activity of site %s: %w", id, err)
	}
	return a, nil
}
