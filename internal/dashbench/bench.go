package dashbench

import (
	"context"
	"fmt"
	"io"
	"time"
)

// Range is a report range: the days [From, To] in the site's zone.
type Range struct {
	Label    string
	From, To string
}

// LastDays is the range of the n days before end (a midnight).
func LastDays(end time.Time, n int) Range {
	return Range{Label: fmt.Sprintf("%dd", n),
		From: end.AddDate(0, 0, -n).Format(time.DateOnly), To: end.AddDate(0, 0, -1).Format(time.DateOnly)}
}

// BenchOptions configure a Bench.
type BenchOptions struct {
	// URL, User and Password reach a running dashboard.
	URL, User, Password string
	// Site is the site whose pages are requested.
	Site string
	// Ranges are the report ranges, each measured in turn.
	Ranges []Range
	// Concurrency lists the numbers of simultaneous users.
	Concurrency []int
	// Rounds is the requests each user sends per endpoint.
	Rounds int
	// Only keeps the endpoints with these names (empty: all).
	Only []string
	// Vary gives each user a range of its own: user i's range ends i days
	// before the range's end (same length), so that the users' requests
	// are different computations, as on a dashboard where people look at
	// different views.
	Vary bool
	// ClickHousePid is the ClickHouse server's process, for the server CPU
	// per request (0: not measured).
	ClickHousePid int
}

// shift is r moved days earlier.
func (r Range) shift(days int) Range {
	from, _ := time.Parse(time.DateOnly, r.From)
	to, _ := time.Parse(time.DateOnly, r.To)
	return Range{Label: r.Label, From: from.AddDate(0, 0, -days).Format(time.DateOnly), To: to.AddDate(0, 0, -days).Format(time.DateOnly)}
}

// Bench signs in the users and measures every endpoint for every range and
// concurrency, printing a table per range and concurrency to w as it goes.
func Bench(ctx context.Context, o BenchOptions, w io.Writer) ([]Stats, error) {
	var all []Stats
	for _, r := range o.Ranges {
		for _, n := range o.Concurrency {
			users, err := Users(ctx, o.URL, o.User, o.Password, n)
			if err != nil {
				return all, err
			}
			var stats []Stats
			endpoints := func(r Range) ([]Endpoint, error) {
				explorer, err := ExplorerEndpoints(ctx, users[0], o.URL, o.Site, r.From, r.To)
				return append(Endpoints(o.Site, r.From, r.To), explorer...), err
			}
			eps, err := endpoints(r)
			if err != nil {
				return all, err
			}
			var shifted [][]Endpoint // each user's, with Vary
			if o.Vary {
				for i := range users {
					e, err := endpoints(r.shift(i))
					if err != nil {
						return all, err
					}
					shifted = append(shifted, e)
				}
			}
			for k, ep := range eps {
				if len(o.Only) > 0 && !contains(o.Only, ep.Name) {
					continue
				}
				var paths []string
				for i := range shifted {
					paths = append(paths, shifted[i][k].Path)
				}
				s := Measure(ctx, o.URL, users, ep, paths, o.Rounds, o.ClickHousePid)
				stats = append(stats, s)
				if ctx.Err() != nil {
					return append(all, stats...), ctx.Err()
				}
			}
			label := fmt.Sprintf("%s %s..%s", r.Label, r.From, r.To)
			if o.Vary && n > 1 {
				label = fmt.Sprintf("%s ..%s, varied", r.Label, r.To)
			}
			FormatStats(w, label, stats)
			fmt.Fprintln(w)
			all = append(all, stats...)
			for _, u := range users {
				u.CloseIdleConnections()
			}
		}
	}
	return all, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
