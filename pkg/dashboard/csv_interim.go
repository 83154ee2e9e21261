package dashboard

import (
	"encoding/csv"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/teller-analytics/teller/pkg/report"
)

// Interim CSV writer until report.WriteCSV (API.md, planned) lands; then
// this file goes and the exports call report.WriteCSV.

func writeCSV[R any](w io.Writer, header []string, rows []R, record func(R) []string) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(header); err != nil {
		return err
	}
	for _, r := range rows {
		rec := record(r)
		for i, cell := range rec {
			if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
				rec[i] = "'" + cell
			}
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

func writeRowsCSV(w io.Writer, rows []report.Row) error {
	u := func(n uint64) string { return strconv.FormatUint(n, 10) }
	return writeCSV(w, []string{"key", "visitors", "sessions", "pageviews", "events", "bounce_rate", "avg_duration_sec"}, rows,
		func(r report.Row) []string {
			return []string{r.Key, u(r.Visitors), u(r.Sessions), u(r.Pageviews), u(r.Events), formatFloat(r.BounceRate), formatFloat(r.AvgDurationSec)}
		})
}

func writeSessionsCSV(w io.Writer, rows []report.SessionRow) error {
	u := func(n uint64) string { return strconv.FormatUint(n, 10) }
	return writeCSV(w, []string{"session_id", "visitor_id", "started", "duration_ms", "pageviews", "events", "entry_path", "exit_path",
		"referrer", "source", "channel", "browser", "os", "device", "start_reason", "bounce"}, rows,
		func(s report.SessionRow) []string {
			return []string{s.ID.String(), s.Visitor.String(), s.Started.UTC().Format(time.RFC3339), u(s.DurationMs), u(s.Pageviews), u(s.Events),
				s.EntryPath, s.ExitPath, s.Referrer, s.Source, s.Channel, s.Browser, s.OS, s.Device, s.StartReason, strconv.FormatBool(s.Bounce)}
		})
}
