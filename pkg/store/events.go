package store

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// EventRow is one row of the events table (see schema/0002_events.sql for
// the meaning of each column).
type EventRow struct {
	EventID            uuid.UUID
	SiteID             string
	VisitorID          uuid.UUID
	SessionID          uuid.UUID
	TimeMs             int64
	Kind               string
	Name               string
	URL                string
	Hostname           string
	Pathname           string
	Title              string
	Referrer           string
	ReferrerDomain     string
	ReferrerSource     string
	Channel            string
	UTMSource          string
	UTMMedium          string
	UTMCampaign        string
	UTMTerm            string
	UTMContent         string
	ClickIDType        string
	Browser            string
	BrowserVersion     string
	OS                 string
	Device             string
	IsBot              bool
	BotReason          string
	ScreenWidth        uint16
	ScreenHeight       uint16
	PropsKeys          []string
	PropsValues        []string
	EngagedMs          uint32
	ScrollDepth        uint8
	SessionStartedMs   int64
	SessionStartReason string
	IsSessionStart     bool
	IsLate             bool
	IsBridging         bool
	KafkaPartition     int32
	KafkaOffset        int64
	Country            string // ISO 3166-1 alpha-2 from the collector, empty when unknown
}

const insertEvents = `INSERT INTO events (event_id, site_id, visitor_id, session_id, ts, ts_ms, kind, name, url, hostname, pathname,
 title, referrer, referrer_domain, referrer_source, channel, utm_source, utm_medium, utm_campaign, utm_term, utm_content,
 click_id_type, browser, browser_version, os, device, is_bot, bot_reason, screen_width, screen_height, props_keys,
 props_values, engaged_ms, scroll_depth, session_started_at, session_start_reason, is_session_start, is_late, is_bridging,
 kafka_partition, kafka_offset, country)`

func b2u(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

// WriteEvents inserts rows in one batch. Writing the same rows again is
// harmless: events collapse by event_id and session figures are
// duplicate-proof.
func (db *DB) WriteEvents(ctx context.Context, rows []EventRow) error {
	if len(rows) == 0 {
		return nil
	}
	batch, err := db.conn.PrepareBatch(ctx, insertEvents)
	if err != nil {
		return fmt.Errorf("store: prepare events insert: %w", err)
	}
	defer batch.Abort()
	for i := range rows {
		r := &rows[i]
		keys, vals := r.PropsKeys, r.PropsValues
		if keys == nil {
			keys, vals = []string{}, []string{}
		}
		if err := batch.Append(r.EventID, r.SiteID, r.VisitorID, r.SessionID,
			time.UnixMilli(r.TimeMs).UTC(), uint64(r.TimeMs), r.Kind, r.Name, r.URL, r.Hostname, r.Pathname,
			r.Title, r.Referrer, r.ReferrerDomain, r.ReferrerSource, r.Channel,
			r.UTMSource, r.UTMMedium, r.UTMCampaign, r.UTMTerm, r.UTMContent, r.ClickIDType,
			r.Browser, r.BrowserVersion, r.OS, r.Device, b2u(r.IsBot), r.BotReason,
			r.ScreenWidth, r.ScreenHeight, keys, vals, r.EngagedMs, r.ScrollDepth,
			time.UnixMilli(r.SessionStartedMs).UTC(), r.SessionStartReason, b2u(r.IsSessionStart), b2u(r.IsLate), b2u(r.IsBridging),
			r.KafkaPartition, r.KafkaOffset, r.Country); err != nil {
			return fmt.Errorf("store: append event %s: %w", r.EventID, err)
		}
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("store: insert %d events: %w", len(rows), err)
	}
	return nil
}

// Rejected is a Kafka message the sessionizer could not use.
type Rejected struct {
	At        time.Time
	Topic     string
	Partition int32
	Offset    int64
	Reason    string
	Payload   []byte
}

// WriteRejected keeps unusable messages with their reason.
func (db *DB) WriteRejected(ctx context.Context, rows []Rejected) error {
	if len(rows) == 0 {
		return nil
	}
	batch, err := db.conn.PrepareBatch(ctx, "INSERT INTO rejected_events (received_at, kafka_topic, kafka_partition, kafka_offset, reason, payload)")
	if err != nil {
		return fmt.Errorf("store: prepare rejected insert: %w", err)
	}
	defer batch.Abort()
	for _, r := range rows {
		if err := batch.Append(r.At.UTC(), r.Topic, r.Partition, r.Offset, r.Reason, string(r.Payload)); err != nil {
			return fmt.Errorf("store: append rejected message: %w", err)
		}
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("store: insert %d rejected messages: %w", len(rows), err)
	}
	return nil
}

// Checkpoint is a partition's saved position and open-session state.
type Checkpoint struct {
	Group        string
	Topic        string
	Partition    int32
	NextOffset   int64
	ClockMs      int64
	OpenSessions uint32
	State        []byte
}

// SaveCheckpoint writes cp in one insert: it is atomic.
func (db *DB) SaveCheckpoint(ctx context.Context, cp Checkpoint) error {
	batch, err := db.conn.PrepareBatch(ctx, `INSERT INTO sessionizer_checkpoints
 (consumer_group, topic, partition, next_offset, clock_ms, open_sessions, state, written_at, written_ms)`)
	if err != nil {
		return fmt.Errorf("store: prepare checkpoint: %w", err)
	}
	defer batch.Abort()
	now := time.Now()
	if err := batch.Append(cp.Group, cp.Topic, cp.Partition, cp.NextOffset, cp.ClockMs, cp.OpenSessions,
		string(cp.State), now.UTC(), uint64(now.UnixMilli())); err != nil {
		return fmt.Errorf("store: append checkpoint: %w", err)
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("store: write checkpoint for %s/%d: %w", cp.Topic, cp.Partition, err)
	}
	return nil
}

// LoadCheckpoint reads the latest checkpoint of a partition.
func (db *DB) LoadCheckpoint(ctx context.Context, group, topic string, partition int32) (Checkpoint, bool, error) {
	row := db.conn.QueryRow(ctx, `SELECT count(), argMax(next_offset, written_ms), argMax(clock_ms, written_ms),
 argMax(open_sessions, written_ms), argMax(state, written_ms)
FROM sessionizer_checkpoints WHERE consumer_group = ? AND topic = ? AND partition = ?`, group, topic, partition)
	cp := Checkpoint{Group: group, Topic: topic, Partition: partition}
	var n uint64
	var state string
	if err := row.Scan(&n, &cp.NextOffset, &cp.ClockMs, &cp.OpenSessions, &state); err != nil {
		return cp, false, fmt.Errorf("store: read checkpoint for %s/%d: %w", topic, partition, err)
	}
	cp.State = []byte(state)
	return cp, n > 0, nil
}
