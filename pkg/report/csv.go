package report

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Record is a report row that can be written as CSV: the header is the
// same for every value of the type.
type Record interface {
	CSVHeader() []string
	CSVRecord() []string
}

// WriteCSV writes rows as RFC 4180 CSV (CRLF line ends, quotes where
// needed) with a header line. Every cell is made inert for spreadsheets:
// one starting with =, +, -, @, a tab or a carriage return gets a leading
// ' so that no visitor-sent value runs as a formula.
func WriteCSV[R Record](w io.Writer, rows []R) error {
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	var zero R
	if err := cw.Write(inert(zero.CSVHeader())); err != nil {
		return fmt.Errorf("report: write CSV: %w", err)
	}
	for _, r := range rows {
		if err := cw.Write(inert(r.CSVRecord())); err != nil {
			return fmt.Errorf("report: write CSV: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("report: write CSV: %w", err)
	}
	return nil
}

// inert prefixes the cells a spreadsheet would run as formulas (OWASP's
// CSV injection advice).
func inert(cells []string) []string {
	for i, c := range cells {
		if c != "" && strings.ContainsRune("=+-@\t\r", rune(c[0])) {
			cells[i] = "'" + c
		}
	}
	return cells
}

func csvUint(n uint64) string    { return strconv.FormatUint(n, 10) }
func csvFloat(x float64) string  { return strconv.FormatFloat(x, 'f', -1, 64) }
func csvTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
func csvBool(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

func (Row) CSVHeader() []string {
	return []string{"key", "visitors", "sessions", "pageviews", "events", "bounce_rate", "avg_duration_sec"}
}
func (r Row) CSVRecord() []string {
	return []string{r.Key, csvUint(r.Visitors), csvUint(r.Sessions), csvUint(r.Pageviews), csvUint(r.Events), csvFloat(r.BounceRate), csvFloat(r.AvgDurationSec)}
}

func (SessionRow) CSVHeader() []string {
	return []string{"session_id", "visitor_id", "started_at", "duration_ms", "pageviews", "events", "entry_page", "exit_page",
		"referrer", "source", "channel", "browser", "os", "device", "start_reason", "bounce"}
}
func (s SessionRow) CSVRecord() []string {
	return []string{s.ID.String(), s.Visitor.String(), csvTime(s.Started), csvUint(s.DurationMs), csvUint(s.Pageviews), csvUint(s.Events), s.EntryPath, s.ExitPath,
		s.Referrer, s.Source, s.Channel, s.Browser, s.OS, s.Device, s.StartReason, csvBool(s.Bounce)}
}

func (PathEvent) CSVHeader() []string {
	return []string{"event_id", "at", "since_prev_ms", "since_start_ms", "kind", "name", "page", "title", "props",
		"engaged_ms", "scroll_depth", "late", "bridging"}
}
func (e PathEvent) CSVRecord() []string {
	props := make([]string, len(e.Props))
	for i, p := range e.Props {
		props[i] = p[0] + "=" + p[1]
	}
	return []string{e.ID.String(), csvTime(e.At), csvUint(e.SincePrevMs), csvUint(e.SinceStartMs), e.Kind, e.Name, e.Path, e.Title,
		strings.Join(props, "&"), csvUint(uint64(e.EngagedMs)), csvUint(uint64(e.ScrollDepth)), csvBool(e.Late), csvBool(e.Bridging)}
}

func (PageEngagement) CSVHeader() []string {
	return []string{"page", "pageviews", "visitors", "avg_engaged_sec", "avg_scroll", "median_scroll"}
}
func (p PageEngagement) CSVRecord() []string {
	return []string{p.Path, csvUint(p.Pageviews), csvUint(p.Visitors), csvFloat(p.AvgEngagedSec), csvFloat(p.AvgScroll), csvFloat(p.MedianScroll)}
}

func (PropRow) CSVHeader() []string {
	return []string{"key", "value", "visitors", "sessions", "events"}
}
func (p PropRow) CSVRecord() []string {
	return []string{p.Key, p.Value, csvUint(p.Visitors), csvUint(p.Sessions), csvUint(p.Events)}
}

func (GoalRow) CSVHeader() []string {
	return []string{"goal_id", "name", "kind", "pattern", "visitors", "conversions", "rate"}
}
func (g GoalRow) CSVRecord() []string {
	return []string{g.Goal.ID, g.Goal.Name, string(g.Goal.Kind), g.Goal.Pattern, csvUint(g.Visitors), csvUint(g.Conversions), csvFloat(g.Rate)}
}

func (FunnelRow) CSVHeader() []string {
	return []string{"kind", "pattern", "sessions", "conversion", "drop_off", "drop_off_rate"}
}
func (r FunnelRow) CSVRecord() []string {
	return []string{string(r.Step.Kind), r.Step.Pattern, csvUint(r.Sessions), csvFloat(r.Conversion), csvUint(r.DropOff), csvFloat(r.DropOffRate)}
}

func (Point) CSVHeader() []string {
	return []string{"start", "label", "value", "visitors", "sessions", "pageviews", "events", "bounce_rate", "avg_duration_sec"}
}
func (p Point) CSVRecord() []string {
	return []string{p.Start.Format(time.RFC3339), p.Label, csvFloat(p.Value), csvUint(p.Visitors), csvUint(p.Sessions), csvUint(p.Pageviews), csvUint(p.Events),
		csvFloat(p.BounceRate), csvFloat(p.AvgDurationSec)}
}

func (BotRow) CSVHeader() []string { return []string{"reason", "sessions", "events"} }
func (b BotRow) CSVRecord() []string {
	return []string{b.Reason, csvUint(b.Sessions), csvUint(b.Events)}
}

func (BotPoint) CSVHeader() []string {
	return []string{"start", "label", "reason", "sessions", "events"}
}
func (b BotPoint) CSVRecord() []string {
	return []string{b.Start.Format(time.RFC3339), b.Label, b.Reason, csvUint(b.Sessions), csvUint(b.Events)}
}

func (RejectedRow) CSVHeader() []string   { return []string{"day", "reason", "messages"} }
func (r RejectedRow) CSVRecord() []string { return []string{r.Day, r.Reason, csvUint(r.Messages)} }

func (CompletenessDay) CSVHeader() []string { return []string{"day", "accepted", "stored"} }
func (d CompletenessDay) CSVRecord() []string {
	return []string{d.Day, csvUint(d.Accepted), csvUint(d.Stored)}
}
