package dashbench

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/teller-analytics/teller/pkg/event"
)

// TestTrafficHasTheShapeReportsNeed: exactly the events asked for, in time
// order, over every day, the largest site holding its share, visitors
// returning after pauses longer than the inactivity gap, every kind of event
// and source present, every event valid for the contract, and the same
// data set for the same seed.
func TestTrafficHasTheShapeReportsNeed(t *testing.T) {
	tests := []struct {
		name string
		tr   Traffic
	}{
		{"small", Traffic{Events: 30_000, Sites: 5, Days: 14, Seed: 3}},
		{"defaults", Traffic{Events: 100_000}},
		{"with duplicates", Traffic{Events: 20_000, Sites: 3, Days: 7, DuplicateShare: 0.01, Seed: 9}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, err := tt.tr.withDefaults()
			if err != nil {
				t.Fatal(err)
			}
			var (
				messages, days   int
				last             int64
				distinct         = map[uuid.UUID]bool{}
				perSite          = map[string]int{}
				kinds            = map[event.Kind]int{}
				referrers        = map[string]bool{}
				lastSeen         = map[uuid.UUID]int64{}
				returnsAfterGap  int
				visitorsReturned = map[uuid.UUID]bool{}
			)
			n, err := tr.Generate(func(day time.Time, events []event.Event) error {
				days++
				for i := range events {
					e := &events[i]
					if err := e.Validate(); err != nil {
						t.Fatalf("invalid event %+v: %v", e, err)
					}
					if e.ReceivedMs < last {
						t.Fatalf("event at %d after one at %d: not in time order", e.ReceivedMs, last)
					}
					if e.ReceivedMs < tr.Start().UnixMilli() || e.ReceivedMs >= tr.End.UnixMilli() {
						t.Fatalf("event at %s is outside the data set's days", time.UnixMilli(e.ReceivedMs).UTC())
					}
					last = e.ReceivedMs
					messages++
					if distinct[e.ID] {
						continue
					}
					distinct[e.ID] = true
					perSite[e.Site]++
					kinds[e.Kind]++
					if e.Kind == event.KindPageview && e.Referrer != "" {
						referrers[e.Referrer] = true
					}
					if prev, ok := lastSeen[e.Visitor]; ok && e.ReceivedMs-prev > 30*60*1000 {
						returnsAfterGap++
						visitorsReturned[e.Visitor] = true
					}
					lastSeen[e.Visitor] = e.ReceivedMs
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if n != tr.Events || len(distinct) != tr.Events {
				t.Fatalf("Generate made %d distinct events (reported %d), want %d", len(distinct), n, tr.Events)
			}
			if days != tr.Days {
				t.Errorf("%d days emitted, want %d", days, tr.Days)
			}
			// The last day is not cut short: it ends in its last hours.
			if end := tr.End.UnixMilli(); end-last > 6*3_600_000 {
				t.Errorf("last event %s, more than 6 h before the end %s", time.UnixMilli(last).UTC(), tr.End)
			}
			if tr.DuplicateShare > 0 && messages == len(distinct) {
				t.Errorf("no duplicates with share %g", tr.DuplicateShare)
			}
			if tr.DuplicateShare == 0 && messages != len(distinct) {
				t.Errorf("%d messages for %d events without duplicates", messages, len(distinct))
			}
			if share := float64(perSite[LargestSite]) / float64(n); share < tr.LargestShare*0.9 || share > tr.LargestShare*1.1 {
				t.Errorf("largest site holds %.3f of the events, want about %.2f", share, tr.LargestShare)
			}
			if len(perSite) != tr.Sites {
				t.Errorf("%d sites have events, want %d", len(perSite), tr.Sites)
			}
			for _, k := range []event.Kind{event.KindPageview, event.KindCustom, event.KindEngagement} {
				if kinds[k] == 0 {
					t.Errorf("no %s events", k)
				}
			}
			if len(referrers) < 10 {
				t.Errorf("only %d distinct referrers", len(referrers))
			}
			if returning := float64(len(visitorsReturned)) / float64(len(lastSeen)); returning < 0.2 {
				t.Errorf("%.2f of the visitors came back after more than 30 min; want at least 0.2", returning)
			}
			t.Logf("%d events, %d messages, %d visitors, %d returns after the gap, %d per site %v",
				n, messages, len(lastSeen), returnsAfterGap, len(perSite), perSite[LargestSite])
		})
	}
}

func TestTrafficIsReproducible(t *testing.T) {
	digest := func(seed uint64) (first, lastID uuid.UUID, count int) {
		_, err := Traffic{Events: 5000, Sites: 3, Days: 5, Seed: seed}.Generate(func(_ time.Time, events []event.Event) error {
			for _, e := range events {
				if count == 0 {
					first = e.ID
				}
				lastID = e.ID
				count++
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return first, lastID, count
	}
	a1, b1, n1 := digest(7)
	a2, b2, n2 := digest(7)
	a3, _, _ := digest(8)
	if a1 != a2 || b1 != b2 || n1 != n2 {
		t.Errorf("seed 7 twice: %v..%v (%d) and %v..%v (%d)", a1, b1, n1, a2, b2, n2)
	}
	if a1 == a3 {
		t.Errorf("seeds 7 and 8 give the same first event %v", a1)
	}
}

func TestTrafficRefusesBadSettings(t *testing.T) {
	for _, tr := range []Traffic{
		{}, {Events: -1}, {Events: 10, Sites: -1}, {Events: 10, LargestShare: 2}, {Events: 10, Days: -3},
		{Events: 10, DuplicateShare: 0.9}, {Events: 10, End: time.Date(2026, 1, 1, 5, 0, 0, 0, time.UTC)},
	} {
		if _, err := tr.Generate(func(time.Time, []event.Event) error { return nil }); err == nil {
			t.Errorf("%+v: no error", tr)
		}
	}
}
