package store

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/ClickHouse/ch-go/proto"
	"github.com/ClickHouse/clickhouse-go/v2/lib/column"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
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
	KafkaTimeMs        int64  // the Kafka record's timestamp, Unix ms (0: unknown)
	Country            string // ISO 3166-1 alpha-2 from the collector, empty when unknown
}

const insertEvents = `INSERT INTO events (event_id, site_id, visitor_id, session_id, ts, ts_ms, kind, name, url, hostname, pathname,
 title, referrer, referrer_domain, referrer_source, channel, utm_source, utm_medium, utm_campaign, utm_term, utm_content,
 click_id_type, browser, browser_version, os, device, is_bot, bot_reason, screen_width, screen_height, props_keys,
 props_values, engaged_ms, scroll_depth, session_started_at, session_start_reason, is_session_start, is_late, is_bridging,
 kafka_partition, kafka_offset, country, kafka_ts_ms)`

// eventColumns are insertEvents' columns, in its order.
var eventColumns = insertColumns(insertEvents)

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
	// Column by column, as WriteSessionVersions: one Append of a typed
	// slice per column instead of 41 values boxed into interfaces per row
	// (batch building was about a quarter of the sessionizer's CPU).
	// The columns' slices are reused from one insert to the next (the
	// driver copies them into its own buffers): they were the largest
	// allocation per row left.
	sc := getScratch(&eventScratchPool)
	defer sc.release()
	str := func(f func(*EventRow) string) []string { return eventColumn(sc, rows, f) }
	flag := func(f func(*EventRow) bool) []uint8 {
		return eventColumn(sc, rows, func(r *EventRow) uint8 { return b2u(f(r)) })
	}
	keys, vals := eventColumn(sc, rows, nilProps), eventColumn(sc, rows, nilProps)
	for i := range rows {
		keys[i], vals[i] = rows[i].PropsKeys, rows[i].PropsValues
		if keys[i] == nil {
			keys[i], vals[i] = []string{}, []string{}
		}
	}
	// In insertEvents' order.
	cols := []any{
		eventColumn(sc, rows, func(r *EventRow) uuid.UUID { return r.EventID }),
		str(func(r *EventRow) string { return r.SiteID }),
		eventColumn(sc, rows, func(r *EventRow) uuid.UUID { return r.VisitorID }),
		eventColumn(sc, rows, func(r *EventRow) uuid.UUID { return r.SessionID }),
		eventColumn(sc, rows, func(r *EventRow) time.Time { return time.UnixMilli(r.TimeMs).UTC() }),
		eventColumn(sc, rows, func(r *EventRow) uint64 { return uint64(r.TimeMs) }),
		str(func(r *EventRow) string { return r.Kind }),
		str(func(r *EventRow) string { return r.Name }),
		str(func(r *EventRow) string { return r.URL }),
		str(func(r *EventRow) string { return r.Hostname }),
		str(func(r *EventRow) string { return r.Pathname }),
		str(func(r *EventRow) string { return r.Title }),
		str(func(r *EventRow) string { return r.Referrer }),
		str(func(r *EventRow) string { return r.ReferrerDomain }),
		str(func(r *EventRow) string { return r.ReferrerSource }),
		str(func(r *EventRow) string { return r.Channel }),
		str(func(r *EventRow) string { return r.UTMSource }),
		str(func(r *EventRow) string { return r.UTMMedium }),
		str(func(r *EventRow) string { return r.UTMCampaign }),
		str(func(r *EventRow) string { return r.UTMTerm }),
		str(func(r *EventRow) string { return r.UTMContent }),
		str(func(r *EventRow) string { return r.ClickIDType }),
		str(func(r *EventRow) string { return r.Browser }),
		str(func(r *EventRow) string { return r.BrowserVersion }),
		str(func(r *EventRow) string { return r.OS }),
		str(func(r *EventRow) string { return r.Device }),
		flag(func(r *EventRow) bool { return r.IsBot }),
		str(func(r *EventRow) string { return r.BotReason }),
		eventColumn(sc, rows, func(r *EventRow) uint16 { return r.ScreenWidth }),
		eventColumn(sc, rows, func(r *EventRow) uint16 { return r.ScreenHeight }),
		keys, vals,
		eventColumn(sc, rows, func(r *EventRow) uint32 { return r.EngagedMs }),
		eventColumn(sc, rows, func(r *EventRow) uint8 { return r.ScrollDepth }),
		eventColumn(sc, rows, func(r *EventRow) time.Time { return time.UnixMilli(r.SessionStartedMs).UTC() }),
		str(func(r *EventRow) string { return r.SessionStartReason }),
		flag(func(r *EventRow) bool { return r.IsSessionStart }),
		flag(func(r *EventRow) bool { return r.IsLate }),
		flag(func(r *EventRow) bool { return r.IsBridging }),
		eventColumn(sc, rows, func(r *EventRow) int32 { return r.KafkaPartition }),
		eventColumn(sc, rows, func(r *EventRow) int64 { return r.KafkaOffset }),
		str(func(r *EventRow) string { return r.Country }),
		eventColumn(sc, rows, func(r *EventRow) uint64 { return uint64(max(r.KafkaTimeMs, 0)) }),
	}
	batch, err := prepareSized(ctx, db, insertEvents, eventColumns, cols)
	if err != nil {
		return fmt.Errorf("store: prepare events insert: %w", err)
	}
	defer batch.Abort()
	for i, c := range cols {
		if err := batch.Column(i).Append(c); err != nil {
			return fmt.Errorf("store: append column %d of %d events: %w", i, len(rows), err)
		}
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("store: insert %d events: %w", len(rows), err)
	}
	return nil
}

// eventScratch holds one reusable slice per column of an insert, in the
// order its writer builds them (WriteEvents, WriteSessionVersions: a pool
// each, so the shapes match from one insert to the next).
type eventScratch struct {
	cols []any
	next int
	pool *sync.Pool
}

var (
	eventScratchPool   sync.Pool
	versionScratchPool sync.Pool
)

// getScratch is a scratch from pool, made when the pool has none.
func getScratch(pool *sync.Pool) *eventScratch {
	if sc, ok := pool.Get().(*eventScratch); ok {
		return sc
	}
	return &eventScratch{pool: pool}
}

// release empties the columns (so they keep no strings or arrays alive)
// and returns sc to its pool.
func (sc *eventScratch) release() {
	for _, c := range sc.cols {
		switch c := c.(type) {
		case []string:
			clear(c)
		case [][]string:
			clear(c)
		case [][]uint32:
			clear(c)
		}
	}
	sc.next = 0
	sc.pool.Put(sc)
}

// scratchColumn is sc's next slice resized to n, made when it has not the
// type or the room (from the second insert on it has both). Its values
// are left from the last insert: the caller sets every one.
func scratchColumn[T any](sc *eventScratch, n int) []T {
	i := sc.next
	sc.next++
	if i == len(sc.cols) {
		sc.cols = append(sc.cols, nil)
	}
	out, _ := sc.cols[i].([]T)
	if cap(out) < n {
		out = make([]T, n)
	}
	out = out[:n]
	sc.cols[i] = out
	return out
}

func nilProps(*EventRow) []string { return nil }

// eventColumn is one column of rows, in sc's next slice when that one has
// the type and room (always, from the second insert on).
func eventColumn[T any](sc *eventScratch, rows []EventRow, f func(*EventRow) T) []T {
	out := scratchColumn[T](sc, len(rows))
	for j := range rows {
		out[j] = f(&rows[j])
	}
	return out
}

// insertColumns are the column names of an "INSERT INTO t (a, b, c)".
func insertColumns(insert string) []string {
	list := insert[strings.IndexByte(insert, '(')+1 : strings.LastIndexByte(insert, ')')]
	names := strings.Split(list, ",")
	for i := range names {
		names[i] = strings.TrimSpace(names[i])
	}
	return names
}

// stringSizes holds, by column name, the size of the String columns an
// insert is about to fill (set by prepareSized for the length of its
// PrepareBatch), so the driver allocates each column's buffers once at
// their final size: it starts them empty, and growing a buffer of several
// MiB by appends copied it about four times over, into fresh memory (6% of
// the sessionizer's CPU with its page faults, docs/benchmarks.md). The
// driver's hook (column.WithColStrProvider) is process wide and also makes
// the String columns of query results: without a size set it makes them as
// the driver does.
var stringSizes sync.Map // column name -> stringSize

type stringSize struct{ bytes, rows int }

func init() {
	column.WithColStrProvider(func(name string) proto.ColStr {
		v, ok := stringSizes.Load(name)
		if !ok {
			return proto.ColStr{}
		}
		sz := v.(stringSize)
		return proto.ColStr{Buf: make([]byte, 0, sz.bytes), Pos: make([]proto.Position, 0, sz.rows)}
	})
}

// prepareSized prepares insert with its String columns' buffers sized for
// cols (in names' order), so that appending cols copies each string once.
// Another insert at the same time may take the sizes for columns of the
// same names: that only sizes its buffers.
func prepareSized(ctx context.Context, db *DB, insert string, names []string, cols []any) (driver.Batch, error) {
	for i, c := range cols {
		if strs, ok := c.([]string); ok && i < len(names) {
			n := 0
			for _, s := range strs {
				n += len(s)
			}
			stringSizes.Store(names[i], stringSize{bytes: n, rows: len(strs)})
		}
	}
	defer func() {
		for i, c := range cols {
			if _, ok := c.([]string); ok && i < len(names) {
				stringSizes.Delete(names[i])
			}
		}
	}()
	return db.conn.PrepareBatch(ctx, insert)
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
