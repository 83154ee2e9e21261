package resessionize

import (
	"context"
	"fmt"
	"io"
	"sort"
	"text/tabwriter"

	"github.com/teller-analytics/teller/pkg/store"
)

// Figures are a site's session figures over its whole history, as the
// reports count them: bots left out, bounce and duration as the sessions
// view defines them.
type Figures struct {
	Sessions     uint64
	BounceRate   float64 // share of sessions that bounced, 0..1
	AvgDurationS float64 // mean session duration, seconds
}

// SiteChange is a site's figures under the live and the new rules.
type SiteChange struct {
	Site     string
	Old, New Figures
}

// siteFigures reads them from database db's sessions view: the one
// definition of a bounce and a duration, whichever tables it reads.
func siteFigures(ctx context.Context, q store.Querier, db string) (map[string]Figures, error) {
	rows, err := q.Query(ctx, `SELECT site_id, count(), avg(is_bounce), avg(duration_ms) / 1000 FROM `+quoteIdent(db)+`.sessions
 WHERE is_bot = 0 GROUP BY site_id SETTINGS force_primary_key = 0, force_index_by_date = 0`)
	if err != nil {
		return nil, fmt.Errorf("resessionize: figures of %s: %w", db, err)
	}
	defer rows.Close()
	out := map[string]Figures{}
	for rows.Next() {
		var site string
		var f Figures
		if err := rows.Scan(&site, &f.Sessions, &f.BounceRate, &f.AvgDurationS); err != nil {
			return nil, fmt.Errorf("resessionize: figures of %s: %w", db, err)
		}
		out[site] = f
	}
	return out, rows.Err()
}

func compare(ctx context.Context, q store.Querier, liveDB, staging string) ([]SiteChange, error) {
	old, err := siteFigures(ctx, q, liveDB)
	if err != nil {
		return nil, err
	}
	neu, err := siteFigures(ctx, q, staging)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []SiteChange
	for _, m := range []map[string]Figures{old, neu} {
		for s := range m {
			if !seen[s] {
				seen[s] = true
				out = append(out, SiteChange{Site: s, Old: old[s], New: neu[s]})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Site < out[j].Site })
	return out, nil
}

// printChanges prints one line per site: old, new, absolute and relative
// change of sessions, bounce rate (percentage points) and average duration.
func printChanges(w io.Writer, sites []SiteChange) {
	fmt.Fprintln(w, "Per site, whole history, bots left out (old rules -> new rules):")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SITE\tSESSIONS\tCHANGE\tBOUNCE RATE\tCHANGE\tAVG DURATION\tCHANGE\t")
	for _, s := range sites {
		fmt.Fprintf(tw, "%s\t%d -> %d\t%+d (%s)\t%.1f%% -> %.1f%%\t%+.1f pp (%s)\t%.1fs -> %.1fs\t%+.1fs (%s)\t\n", s.Site,
			s.Old.Sessions, s.New.Sessions, int64(s.New.Sessions)-int64(s.Old.Sessions), relative(float64(s.Old.Sessions), float64(s.New.Sessions)),
			100*s.Old.BounceRate, 100*s.New.BounceRate, 100*(s.New.BounceRate-s.Old.BounceRate), relative(s.Old.BounceRate, s.New.BounceRate),
			s.Old.AvgDurationS, s.New.AvgDurationS, s.New.AvgDurationS-s.Old.AvgDurationS, relative(s.Old.AvgDurationS, s.New.AvgDurationS))
	}
	tw.Flush()
}

func relative(old, neu float64) string {
	if old == 0 {
		if neu == 0 {
			return "+0.0%"
		}
		return "new"
	}
	return fmt.Sprintf("%+.1f%%", 100*(neu-old)/old)
}
