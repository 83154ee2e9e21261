package collector_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/teller-analytics/teller/internal/chtest"
	"github.com/teller-analytics/teller/pkg/collector"
	"github.com/teller-analytics/teller/pkg/report"
)

// landedButFailed runs each statement on the real database and then, once,
// reports a failure: the insert landed but its answer was lost, so the
// counter must write again, and the second write must change nothing.
type landedButFailed struct {
	collector.Execer
	failed bool
}

func (l *landedButFailed) Exec(ctx context.Context, query string, args ...any) error {
	if err := l.Execer.Exec(ctx, query, args...); err != nil {
		return err
	}
	if !l.failed {
		l.failed = true
		return errors.New("connection reset after the insert")
	}
	return nil
}

// TestAcceptedCountsAreExactUnderRewrites: per-minute counts written by two
// collector instances, rewritten as they grow, written again after a lost
// answer, add up to the events accepted, on 18.16 and the current release.
func TestAcceptedCountsAreExactUnderRewrites(t *testing.T) {
	engines := chtest.Engines(t, "accepted")
	noon := time.Now().UTC().Truncate(24 * time.Hour).Add(12 * time.Hour)
	ms := func(t time.Time) int64 { return t.UnixMilli() }
	chtest.Each(t, engines, func(t *testing.T, e *chtest.Engine) {
		ctx := context.Background()
		flaky := &landedButFailed{Execer: e}
		a := collector.NewAcceptances(flaky, nil)
		for i := 0; i < 3; i++ {
			a.Add("s1", ms(noon.Add(time.Duration(i)*time.Second)))
		}
		a.Add("s1", ms(noon.Add(time.Minute)))
		a.Add("s2", ms(noon))
		a.Add("s2", ms(noon.Add(59*time.Second)))
		if err := a.Flush(ctx); err == nil {
			t.Fatal("the first flush should report the lost answer")
		}
		if err := a.Flush(ctx); err != nil { // the retry rewrites every row
			t.Fatal(err)
		}
		a.Add("s1", ms(noon.Add(30*time.Second))) // the minute grows: rewritten
		if err := a.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if err := a.Flush(ctx); err != nil { // nothing changed: nothing written
			t.Fatal(err)
		}
		b := collector.NewAcceptances(e, nil)
		b.Add("s1", ms(noon.Add(10*time.Second)))
		b.Add("s1", ms(noon.Add(20*time.Second)))
		if err := b.Flush(ctx); err != nil {
			t.Fatal(err)
		}

		rows, err := e.Query(ctx, `SELECT site_id, toString(minute_at), sum(n) FROM
  (SELECT site_id, minute_at, collector_id, argMax(accepted, updated_ms) AS n FROM collector_accepted
   GROUP BY site_id, minute_at, collector_id)
GROUP BY site_id, minute_at ORDER BY site_id, minute_at`)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for rows.Next() {
			var site, minute string
			var n uint64
			if err := rows.Scan(&site, &minute, &n); err != nil {
				t.Fatal(err)
			}
			got = append(got, fmt.Sprintf("%s %s %d", site, minute, n))
		}
		rows.Close()
		day := noon.Format(time.DateOnly)
		want := []string{"s1 " + day + " 12:00:00 6", "s1 " + day + " 12:01:00 1", "s2 " + day + " 12:00:00 2"}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("accepted per minute = %q, want %q", got, want)
		}

		q := report.Query{Site: "s1", From: noon.Add(-12 * time.Hour), To: noon.Add(12 * time.Hour)}
		days, err := report.New(e).Completeness(ctx, q, time.UTC)
		if err != nil {
			t.Fatal(err)
		}
		if want := []report.CompletenessDay{{Day: day, Accepted: 7}}; !reflect.DeepEqual(days, want) {
			t.Errorf("Completeness = %+v, want %+v", days, want)
		}
	})
}
