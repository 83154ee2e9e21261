package dashboard

import (
	"strconv"
	"time"

	"github.com/teller-analytics/teller/pkg/report"
	"github.com/teller-analytics/teller/pkg/site"
)

// Report ranges.
const (
	// DefaultDays is the default range: the last 7 days, today included.
	DefaultDays = 7
	// MaxRangeDays is the longest range a request may ask for.
	MaxRangeDays = 1096
)

// Dates outside these years are refused (ClickHouse's DateTime ends in 2106).
const minYear, maxYear = 2000, 2099

// dayRange is a request's inclusive range of days in a site's zone.
type dayRange struct {
	From, To time.Time // midnight UTC of the first and last day (civil dates)
	Loc      *time.Location
	Bots     bool
}

// String forms for links and JSON.
func (r dayRange) FromString() string { return r.From.Format(time.DateOnly) }
func (r dayRange) ToString() string   { return r.To.Format(time.DateOnly) }

// Days is the number of days in the range.
func (r dayRange) Days() int { return int(r.To.Sub(r.From).Hours()/24) + 1 }

// query is the report query: midnight of the first day to midnight after
// the last, in the site's zone.
func (r dayRange) query(siteID string) report.Query {
	return report.Query{
		Site:        siteID,
		From:        time.Date(r.From.Year(), r.From.Month(), r.From.Day(), 0, 0, 0, 0, r.Loc),
		To:          time.Date(r.To.Year(), r.To.Month(), r.To.Day()+1, 0, 0, 0, 0, r.Loc),
		IncludeBots: r.Bots,
	}
}

// parseRange reads from, to (YYYY-MM-DD in the site's zone, inclusive) and
// bots. Missing dates default to the DefaultDays ending today, or ending on
// to, or starting on from.
func parseRange(s site.Site, from, to, bots string, now time.Time) (dayRange, error) {
	loc := s.Location()
	r := dayRange{Loc: loc}
	y, m, d := now.In(loc).Date()
	today := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	var err error
	if r.To, err = parseDay("to", to, today); err != nil {
		return dayRange{}, err
	}
	if r.From, err = parseDay("from", from, r.To.AddDate(0, 0, 1-DefaultDays)); err != nil {
		return dayRange{}, err
	}
	if to == "" && from != "" {
		r.To = r.From.AddDate(0, 0, DefaultDays-1)
		if r.To.After(today) && !r.From.After(today) {
			r.To = today
		}
	}
	switch {
	case r.From.After(r.To):
		return dayRange{}, badRequest("from (%s) is after to (%s)", r.FromString(), r.ToString())
	case r.Days() > MaxRangeDays:
		return dayRange{}, badRequest("the range has %d days; at most %d are allowed", r.Days(), MaxRangeDays)
	case r.To.Year() > maxYear:
		return dayRange{}, badRequest("to (%s) must be in %d-%d", r.ToString(), minYear, maxYear)
	}
	switch bots {
	case "", "0", "false":
	case "1", "true":
		r.Bots = true
	default:
		return dayRange{}, badRequest("bots=%q: want 1 or 0", bots)
	}
	return r, nil
}

func parseDay(name, v string, def time.Time) (time.Time, error) {
	if v == "" {
		return def, nil
	}
	t, err := time.Parse(time.DateOnly, v)
	if err != nil {
		return time.Time{}, badRequest("%s=%q is not a date: want YYYY-MM-DD, e.g. 2024-03-31", name, v)
	}
	if t.Year() < minYear || t.Year() > maxYear {
		return time.Time{}, badRequest("%s (%s) must be in %d-%d", name, v, minYear, maxYear)
	}
	return t, nil
}

// parseLimit reads a row limit: def when empty, else 1..report.MaxLimit.
func parseLimit(v string, def int) (int, error) {
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > report.MaxLimit {
		return 0, badRequest("limit=%q: want a number from 1 to %d", v, report.MaxLimit)
	}
	return n, nil
}
