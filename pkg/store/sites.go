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
	return nil
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
	return out, nil
}
