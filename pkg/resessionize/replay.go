package resessionize

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/teller-analytics/teller/pkg/session"
	"github.com/teller-analytics/teller/pkg/sessionizer"
	"github.com/teller-analytics/teller/pkg/site"
	"github.com/teller-analytics/teller/pkg/store"
)

// replayColumns are read from the live events table: everything a row
// holds but its session decision, which the replay makes again, and
// whether the collector minted the visitor id (see the package doc).
const replayColumns = `event_id, site_id, visitor_id, ts_ms, kind, name, url, hostname, pathname, title, referrer,
 referrer_domain, referrer_source, channel, utm_source, utm_medium, utm_campaign, utm_term, utm_content, click_id_type,
 browser, browser_version, os, device, is_bot, bot_reason, screen_width, screen_height, props_keys, props_values,
 engaged_ms, scroll_depth, toUInt8(is_session_start = 1 AND session_start_reason = 'first_visit') AS new_visitor,
 kafka_partition, kafka_offset, country, kafka_ts_ms`

// readSettings: the replay reads every event once, chunk by chunk, sorted
// by offset; a chunk past 500 MB is sorted on disk rather than in memory.
// Small blocks keep the driver's read-ahead (a few blocks) to a few MB.
const readSettings = `SETTINGS max_bytes_before_external_sort = 500000000, max_block_size = 8192,
 force_primary_key = 0, force_index_by_date = 0`

// checkpoint is a partition's live position.
type checkpoint struct{ next int64 }

func loadCheckpoints(ctx context.Context, db *store.DB, group, topic string) (map[int32]checkpoint, error) {
	rows, err := db.Query(ctx, `SELECT partition, argMax(next_offset, written_ms) FROM sessionizer_checkpoints
 WHERE consumer_group = ? AND topic = ? GROUP BY partition`, group, topic)
	if err != nil {
		return nil, fmt.Errorf("resessionize: read checkpoints: %w", err)
	}
	defer rows.Close()
	cps := map[int32]checkpoint{}
	for rows.Next() {
		var p int32
		var next int64
		if err := rows.Scan(&p, &next); err != nil {
			return nil, fmt.Errorf("resessionize: read checkpoints: %w", err)
		}
		cps[p] = checkpoint{next: next}
	}
	return cps, rows.Err()
}

// scope is the WHERE condition of the events to replay: of a partition
// with a checkpoint, those before its offset (the sessionizer re-reads the
// rest from Kafka when it resumes, as after a crash); of a partition
// without one, all (it starts again from the partition's first offset and
// rewrites the same rows).
func scope(cps map[int32]checkpoint) (string, []any) {
	if len(cps) == 0 {
		return "1", nil
	}
	parts := make([]int32, 0, len(cps))
	for p := range cps {
		parts = append(parts, p)
	}
	sort.Slice(parts, func(i, j int) bool { return parts[i] < parts[j] })
	var conds []string
	var args []any
	in := make([]string, len(parts))
	for i, p := range parts {
		conds = append(conds, "(kafka_partition = ? AND kafka_offset < ?)")
		args = append(args, p, cps[p].next)
		in[i] = fmt.Sprint(p)
	}
	conds = append(conds, "kafka_partition NOT IN ("+strings.Join(in, ", ")+")")
	return strings.Join(conds, " OR "), args
}

// replayer holds one partition's replay at a time: the memory is that of
// one live partition's open sessions plus one batch.
type replayer struct {
	o     Options
	stg   *store.DB
	zones *site.Registry

	part     int32
	state    *session.Partition
	rows     []store.EventRow
	versions []store.SessionVersion
	changed  []session.Figures
	facts    session.Facts

	total, done, written int64
	writing              time.Duration // spent in writes to the staging tables
	started, lastPrint   time.Time
	unknownSites         map[string]bool

	// The write in flight and the buffers it will hand back; the fields
	// the writer sets are read only after wait.
	inflight      chan error
	spareRows     []store.EventRow
	spareVersions []store.SessionVersion
}

func replay(ctx context.Context, live, stg *store.DB, o Options) (events int64, partitions int, err error) {
	cps, err := loadCheckpoints(ctx, live, o.Group, o.Topic)
	if err != nil {
		return 0, 0, err
	}
	zones := site.NewRegistry(live, 0, o.Logger)
	if err := zones.Load(ctx); err != nil {
		return 0, 0, fmt.Errorf("resessionize: load sites: %w", err)
	}
	where, args := scope(cps)
	r := &replayer{o: o, stg: stg, zones: zones, part: -1, started: time.Now(), unknownSites: map[string]bool{}}
	r.lastPrint = r.started
	defer func() { _ = r.wait() }() // no write outlives a failed replay
	chunks, err := planChunks(ctx, live, o.ChunkOffsets, where, args)
	if err != nil {
		return 0, 0, err
	}
	for _, c := range chunks {
		r.total += int64(c.rows)
	}
	replayed := map[int32]bool{}
	for _, c := range chunks {
		if c.partition != r.part {
			if err := r.finishPartition(ctx, cps); err != nil {
				return 0, 0, err
			}
			if r.state, err = session.NewPartition(o.Rules); err != nil {
				return 0, 0, err
			}
			r.part = c.partition
			replayed[r.part] = true
		}
		if err := r.replayChunk(ctx, live, c, where, args); err != nil {
			return 0, 0, err
		}
	}
	if err := r.finishPartition(ctx, cps); err != nil {
		return 0, 0, err
	}
	// A partition checkpointed without any stored event keeps its
	// position with an empty state.
	for p, cp := range cps {
		if replayed[p] {
			continue
		}
		state, _ := session.NewPartition(o.Rules)
		r.part, r.state = p, state
		if err := r.saveCheckpoint(ctx, cp); err != nil {
			return 0, 0, err
		}
	}
	if err := r.copyOtherCheckpoints(ctx, live); err != nil {
		return 0, 0, err
	}
	r.progress(true)
	o.Logger.Debug("replay done", "rows_read", r.done, "written", r.written, "seconds", time.Since(r.started).Seconds(),
		"writing_seconds", r.writing.Seconds())
	for s := range r.unknownSites {
		o.Logger.Warn("events of a site that is no longer registered were re-sessionized in UTC", "site", s)
	}
	return r.written, len(replayed), nil
}

// chunk is one read: offsets [from, to) of a partition, whose events lie
// between minTs and maxTs (which lets ClickHouse skip the months and days
// outside, since offsets follow time closely).
type chunk struct {
	partition    int32
	from, to     int64
	minTs, maxTs time.Time
	rows         uint64
}

// planChunks cuts the events to replay into chunks, in log order, in one
// scan of three columns.
func planChunks(ctx context.Context, db *store.DB, size int64, where string, args []any) ([]chunk, error) {
	rows, err := db.Query(ctx, `SELECT kafka_partition, intDiv(kafka_offset, `+fmt.Sprint(size)+`) AS c, min(ts), max(ts), count()
 FROM events WHERE `+where+` GROUP BY kafka_partition, c ORDER BY kafka_partition, c `+readSettings, args...)
	if err != nil {
		return nil, fmt.Errorf("resessionize: plan the reads: %w", err)
	}
	defer rows.Close()
	var out []chunk
	for rows.Next() {
		var c chunk
		var n int64
		if err := rows.Scan(&c.partition, &n, &c.minTs, &c.maxTs, &c.rows); err != nil {
			return nil, fmt.Errorf("resessionize: plan the reads: %w", err)
		}
		c.from, c.to = n*size, (n+1)*size
		out = append(out, c)
	}
	return out, rows.Err()
}

// replayChunk feeds one chunk's rows to the partition in offset order.
func (r *replayer) replayChunk(ctx context.Context, db *store.DB, c chunk, where string, args []any) error {
	q := "SELECT " + replayColumns + " FROM events WHERE ts >= ? AND ts <= ? AND kafka_partition = ? AND kafka_offset >= ? AND kafka_offset < ? AND (" +
		where + ") ORDER BY kafka_offset, event_id " + readSettings
	rows, err := db.Query(ctx, q, append([]any{c.minTs, c.maxTs, c.partition, c.from, c.to}, args...)...)
	if err != nil {
		return fmt.Errorf("resessionize: read events of partition %d: %w", c.partition, err)
	}
	defer rows.Close()
	var prevID uuid.UUID
	prevOffset := int64(-1)
	for rows.Next() {
		var row store.EventRow
		var ts uint64
		var bot, newVisitor uint8
		var kafkaMs uint64
		if err := rows.Scan(&row.EventID, &row.SiteID, &row.VisitorID, &ts, &row.Kind, &row.Name, &row.URL, &row.Hostname,
			&row.Pathname, &row.Title, &row.Referrer, &row.ReferrerDomain, &row.ReferrerSource, &row.Channel,
			&row.UTMSource, &row.UTMMedium, &row.UTMCampaign, &row.UTMTerm, &row.UTMContent, &row.ClickIDType,
			&row.Browser, &row.BrowserVersion, &row.OS, &row.Device, &bot, &row.BotReason, &row.ScreenWidth,
			&row.ScreenHeight, &row.PropsKeys, &row.PropsValues, &row.EngagedMs, &row.ScrollDepth, &newVisitor,
			&row.KafkaPartition, &row.KafkaOffset, &row.Country, &kafkaMs); err != nil {
			return fmt.Errorf("resessionize: read events of partition %d: %w", c.partition, err)
		}
		r.done++
		row.TimeMs, row.IsBot, row.KafkaTimeMs = int64(ts), bot == 1, int64(kafkaMs)
		// The same delivery written twice (a replay after a crash, before
		// merges collapsed it) is one message of the log; its copies share
		// an offset, so they are in one chunk, side by side.
		if row.KafkaOffset == prevOffset && row.EventID == prevID {
			continue
		}
		prevOffset, prevID = row.KafkaOffset, row.EventID
		if err := r.assign(ctx, &row, newVisitor == 1); err != nil {
			return err
		}
		r.progress(false)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("resessionize: read events of partition %d: %w", c.partition, err)
	}
	return nil
}

func (r *replayer) assign(ctx context.Context, row *store.EventRow, newVisitor bool) error {
	zone, opts, known := r.zones.Session(row.SiteID)
	if !known {
		r.unknownSites[row.SiteID] = true
	}
	a := r.state.Assign(sessionizer.SessionInput(row, newVisitor, zone, opts, &r.facts))
	if a.Duplicate {
		return nil
	}
	sessionizer.WithSession(row, a)
	r.rows = append(r.rows, *row)
	if len(r.rows) >= r.o.MaxBatch {
		return r.flush(ctx)
	}
	return nil
}

// flush hands the buffered rows and the versions of the sessions they
// changed to a background write (versions first, as the live sessionizer
// writes them), so that reading and sessionizing go on meanwhile; one write
// is in flight at most, and each has its own buffers.
func (r *replayer) flush(ctx context.Context) error {
	if r.state == nil {
		return nil
	}
	r.changed = r.state.Changed(r.changed[:0])
	for i := range r.changed {
		r.versions = append(r.versions, sessionizer.VersionRow(&r.changed[i]))
	}
	clear(r.changed)
	if err := r.wait(); err != nil {
		return err
	}
	rows, versions, part := r.rows, r.versions, r.part
	r.rows, r.versions = r.spareRows[:0], r.spareVersions[:0]
	done := make(chan error, 1)
	r.inflight = done
	go func() {
		start := time.Now()
		err := r.stg.WriteSessionVersions(ctx, versions)
		if err == nil {
			err = r.stg.WriteEvents(ctx, rows)
		}
		if err != nil {
			err = fmt.Errorf("resessionize: partition %d: %w", part, err)
		}
		r.writing += time.Since(start)
		r.written += int64(len(rows))
		clear(rows)
		clear(versions)
		r.spareRows, r.spareVersions = rows[:0], versions[:0]
		done <- err
	}()
	return nil
}

// wait waits for the write in flight, if any.
func (r *replayer) wait() error {
	if r.inflight == nil {
		return nil
	}
	err := <-r.inflight
	r.inflight = nil
	return err
}

// finishPartition flushes the current partition and, if it has a live
// checkpoint, writes its new one.
func (r *replayer) finishPartition(ctx context.Context, cps map[int32]checkpoint) error {
	if r.state == nil {
		return nil
	}
	if err := r.flush(ctx); err != nil {
		return err
	}
	// The checkpoint follows the rows it covers, as in the sessionizer.
	if err := r.wait(); err != nil {
		return err
	}
	if cp, ok := cps[r.part]; ok {
		return r.saveCheckpoint(ctx, cp)
	}
	return nil
}

// saveCheckpoint writes the replayed state at the live checkpoint's
// offset: the sessionizer resumes there with the open sessions as the new
// rules have them.
func (r *replayer) saveCheckpoint(ctx context.Context, cp checkpoint) error {
	state, err := r.state.MarshalBinary()
	if err != nil {
		return fmt.Errorf("resessionize: encode state of partition %d: %w", r.part, err)
	}
	err = r.stg.SaveCheckpoint(ctx, store.Checkpoint{Group: r.o.Group, Topic: r.o.Topic, Partition: r.part,
		NextOffset: cp.next, ClockMs: r.state.Clock(), OpenSessions: uint32(r.state.OpenSessions()), State: state})
	if err != nil {
		return fmt.Errorf("resessionize: %w", err)
	}
	return nil
}

// copyOtherCheckpoints keeps the checkpoints of other groups and topics
// across the switch: they are not this run's to replace.
func (r *replayer) copyOtherCheckpoints(ctx context.Context, live *store.DB) error {
	const cols = "consumer_group, topic, partition, next_offset, clock_ms, open_sessions, state, written_at, written_ms"
	err := live.Exec(ctx, "INSERT INTO "+quoteIdent(r.stg.Database())+".sessionizer_checkpoints ("+cols+") SELECT "+cols+
		" FROM sessionizer_checkpoints WHERE NOT (consumer_group = ? AND topic = ?)", r.o.Group, r.o.Topic)
	if err != nil {
		return fmt.Errorf("resessionize: copy other groups' checkpoints: %w", err)
	}
	return nil
}

// progress prints a line every ProgressEvery, and a last one when final.
func (r *replayer) progress(final bool) {
	if r.o.Progress == nil {
		return
	}
	now := time.Now()
	if !final && now.Sub(r.lastPrint) < r.o.ProgressEvery {
		return
	}
	r.lastPrint = now
	printProgress(r.o.Progress, r.done, r.total, now.Sub(r.started), final)
}

func printProgress(w io.Writer, done, total int64, elapsed time.Duration, final bool) {
	rate := 0.0
	if s := elapsed.Seconds(); s > 0 {
		rate = float64(done) / s
	}
	pct := 100.0
	if total > 0 {
		pct = 100 * float64(done) / float64(total)
	}
	eta := "-"
	if rate > 0 && total >= done {
		eta = time.Duration(float64(total-done) / rate * float64(time.Second)).Round(time.Second).String()
	}
	if final {
		fmt.Fprintf(w, "resessionize: %d/%d events (%.1f%%) in %s, %.0f events/s\n", done, total, pct, elapsed.Round(time.Millisecond), rate)
		return
	}
	fmt.Fprintf(w, "resessionize: %d/%d events (%.1f%%), %.0f events/s, ETA %s\n", done, total, pct, rate, eta)
}

func scanOne(ctx context.Context, db *store.DB, query string, args []any, dst any) error {
	rows, err := db.Query(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return err
		}
		return fmt.Errorf("no row")
	}
	if err := rows.Scan(dst); err != nil {
		return err
	}
	return rows.Err()
}
