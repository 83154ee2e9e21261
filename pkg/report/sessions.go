package report

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/google/uuid"
)

// SessionRow is one session with its figures and entry attribution.
type SessionRow struct {
	ID      uuid.UUID
	Visitor uuid.UUID
	// Started is the time of the opening event (UTC, whole seconds).
	Started time.Time
	// DurationMs is last event - first event.
	DurationMs uint64
	// Pageviews and Events are distinct counts (Events includes pageviews,
	// custom and engagement events).
	Pageviews, Events uint64
	// EntryPath is the opening event's path; ExitPath the latest event's.
	EntryPath, ExitPath string
	// Referrer is the referrer domain at entry, "" for none.
	Referrer string
	// Channel, Browser, OS and Device are the entry attribution.
	Channel, Browser, OS, Device string
	// StartReason says why the session started: first_visit, inactivity,
	// max_length, midnight or campaign.
	StartReason string
	// Bounce is true when the session is not engaged (see Summary.BounceRate).
	Bounce bool
}

// Sessions lists q's sessions, latest start first, at most limit (1..MaxLimit).
func (r *Reports) Sessions(ctx context.Context, q Query, limit int) ([]SessionRow, error) {
	if err := q.validate(); err != nil {
		return nil, err
	}
	if err := checkLimit(limit); err != nil {
		return nil, err
	}
	from, args := q.sessionsFrom(colVisitor, colStarted, colDuration, colPageviews, colEvents, colCustom,
		colEntry, colExit, colRefDomain, colChannel, colBrowser, colOS, colDevice, colReason)
	query := `SELECT session_id, s_visitor, s_started, s_duration, s_pageviews, s_events,
       s_entry, s_exit, s_referrer_domain, s_channel, s_browser, s_os, s_device, toString(s_reason),
       toUInt8(` + bounceCond + `)
FROM ` + from + `
ORDER BY s_started DESC, session_id
LIMIT ` + strconv.Itoa(limit)
	rows, err := r.q.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("report: sessions of %s: %w", q.Site, err)
	}
	defer rows.Close()
	out := []SessionRow{}
	for rows.Next() {
		var s SessionRow
		var bounce uint8
		if err := rows.Scan(&s.ID, &s.Visitor, &s.Started, &s.DurationMs, &s.Pageviews, &s.Events,
			&s.EntryPath, &s.ExitPath, &s.Referrer, &s.Channel, &s.Browser, &s.OS, &s.Device, &s.StartReason, &bounce); err != nil {
			return nil, fmt.Errorf("report: sessions of %s: %w", q.Site, err)
		}
		s.Started = s.Started.UTC()
		s.Bounce = bounce == 1
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("report: sessions of %s: %w", q.Site, err)
	}
	return out, nil
}
