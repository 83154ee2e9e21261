package report

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/teller-analytics/teller/pkg/store"
)

// BotRow is one reason events were flagged as a bot's.
type BotRow struct {
	// Reason is the sessionizer's bot_reason, e.g. crawler:Googlebot.
	Reason string
	// Sessions and Events are the distinct sessions and events flagged so.
	Sessions, Events uint64
}

// Bots lists the flagged events of the sessions that started in q's range
// by reason, most sessions first, at most limit (1..MaxLimit). Filters and
// IncludeBots do not apply: this report is about the bots.
func (r *Reports) Bots(ctx context.Context, q Query, limit int) ([]BotRow, error) {
	q.Filters = nil
	if err := q.validate(); err != nil {
		return nil, err
	}
	if err := checkLimit(limit); err != nil {
		return nil, err
	}
	where, args := q.eventsWhere()
	query := `SELECT bot_reason, uniqExact(session_id) AS sessions, uniqExact(event_id) AS n
FROM events
WHERE ` + where + `
  AND is_bot = 1
GROUP BY bot_reason
ORDER BY sessions DESC, n DESC, bot_reason
LIMIT ` + strconv.Itoa(limit)
	out := []BotRow{}
	err := r.each(ctx, query, args, func(rows store.Rows) error {
		var b BotRow
		if err := rows.Scan(&b.Reason, &b.Sessions, &b.Events); err != nil {
			return err
		}
		out = append(out, b)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("report: bots of %s: %w", q.Site, err)
	}
	return out, nil
}

// BotPoint is one bucket of one reason in the bot series.
type BotPoint struct {
	Start            time.Time
	Label, Reason    string
	Sessions, Events uint64
}

// MaxBotSeriesReasons bounds the reasons BotSeries follows.
const MaxBotSeriesReasons = 10

// BotSeries is Bots over time: for every bucket of [q.From, q.To) in loc
// (by the session's start) and each of the MaxBotSeriesReasons reasons with
// the most sessions in the range, a point, zeros included, ordered by
// bucket then reason.
func (r *Reports) BotSeries(ctx context.Context, q Query, loc *time.Location, iv Interval) ([]BotPoint, error) {
	q.Filters = nil
	if err := q.validate(); err != nil {
		return nil, err
	}
	iv, tz, bs, err := seriesFrame(q, loc, iv)
	if err != nil {
		return nil, err
	}
	key, n := bucketKey(iv, "session_started_at")
	where, args := q.eventsWhere()
	query := `SELECT ` + key + ` AS bucket, bot_reason, uniqExact(session_id), uniqExact(event_id)
FROM events
WHERE ` + where + `
  AND is_bot = 1
GROUP BY bucket, bot_reason
ORDER BY bucket, bot_reason`
	type cell struct{ sessions, events uint64 }
	got := map[[2]string]cell{}
	reasons := map[string]uint64{} // sessions per reason over the range
	err = r.each(ctx, query, append(zoneArgs(tz, n), args...), func(rows store.Rows) error {
		var k, reason string
		var c cell
		if err := rows.Scan(&k, &reason, &c.sessions, &c.events); err != nil {
			return err
		}
		got[[2]string{k, reason}] = c
		reasons[reason] += c.sessions
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("report: bot series of %s: %w", q.Site, err)
	}
	// The most frequent reasons only, so that the series stays bounded.
	names := make([]string, 0, len(reasons))
	for r := range reasons {
		names = append(names, r)
	}
	sort.Slice(names, func(i, j int) bool {
		if reasons[names[i]] != reasons[names[j]] {
			return reasons[names[i]] > reasons[names[j]]
		}
		return names[i] < names[j]
	})
	names = names[:min(len(names), MaxBotSeriesReasons)]
	sort.Strings(names)
	out := []BotPoint{}
	for _, b := range bs {
		for _, reason := range names {
			c := got[[2]string{b.key, reason}]
			out = append(out, BotPoint{Start: b.start, Label: b.label, Reason: reason, Sessions: c.sessions, Events: c.events})
		}
	}
	return out, nil
}

// RejectedRow is one day and reason of the messages the sessionizer could
// not use (table rejected_events).
type RejectedRow struct {
	// Day is the date in the report's zone, YYYY-MM-DD.
	Day string
	// Reason is the reason's class: its first two ": "-separated parts
	// (e.g. "invalid event: not a JSON event"), since the rest names the
	// single message.
	Reason string
	// Messages counts distinct Kafka messages (topic, partition, offset),
	// so a message rejected again on a replay counts once.
	Messages uint64
}

// maxRejectedRows bounds the rows of Rejected.
const maxRejectedRows = 10000

// rejectedClass is RejectedRow.Reason's SQL.
const rejectedClass = "arrayStringConcat(arraySlice(splitByString(': ', reason), 1, 2), ': ')"

// Rejected lists the messages the sessionizer refused in [from, to) by day
// in loc and reason. rejected_events has no site (a message that cannot be
// read names none reliably), so this report is for the whole installation.
func (r *Reports) Rejected(ctx context.Context, from, to time.Time, loc *time.Location) ([]RejectedRow, error) {
	if !from.Before(to) {
		return nil, fmt.Errorf("%w: from must be before to", ErrInvalidQuery)
	}
	_, tz, err := zoneName(loc)
	if err != nil {
		return nil, err
	}
	query := `SELECT toString(toDate(received_at, ?)) AS d, ` + rejectedClass + ` AS class,
       uniqExact(kafka_topic, kafka_partition, kafka_offset)
FROM rejected_events
WHERE received_at >= toDateTime(?) AND received_at < toDateTime(?)
GROUP BY d, class
ORDER BY d, class
LIMIT ` + strconv.Itoa(maxRejectedRows)
	out := []RejectedRow{}
	err = r.each(ctx, query, []any{tz, ceilSec(from), ceilSec(to)}, func(rows store.Rows) error {
		var row RejectedRow
		if err := rows.Scan(&row.Day, &row.Reason, &row.Messages); err != nil {
			return err
		}
		out = append(out, row)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("report: rejected messages: %w", err)
	}
	return out, nil
}
