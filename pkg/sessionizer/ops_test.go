package sessionizer

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/teller-analytics/teller/internal/testenv"
	"github.com/teller-analytics/teller/pkg/bus"
	"github.com/teller-analytics/teller/pkg/config"
)

// byPartition is what a member exports for a metric with a partition label.
func (m *member) byPartition(t *testing.T, name string) map[string]float64 {
	t.Helper()
	mfs, err := m.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, metric := range mf.GetMetric() {
			for _, l := range metric.GetLabel() {
				if l.GetName() == "partition" {
					out[l.GetValue()] = metric.GetGauge().GetValue()
				}
			}
		}
	}
	return out
}

// counter is the value of a member's counter without labels.
func (m *member) counter(t *testing.T, name string) float64 {
	t.Helper()
	mfs, err := m.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

// Two sessionizers share the group; B's ClickHouse hangs mid-stream (its
// server frozen with SIGSTOP: connections stay open, nothing answers). B
// leaves the group once every call has failed for -stuck-timeout, A ends
// up owning every partition and, replaying what B never made durable,
// writes every figure exactly as an uninterrupted single instance. Once
// B's ClickHouse answers again, B rejoins and takes partitions back.
func TestHungClickHouseMemberLeavesTheGroup(t *testing.T) {
	srv := testenv.ClickHouse(t)  // A's, and the reference's
	hung := testenv.ClickHouse(t) // B's
	t.Cleanup(func() { _ = hung.Thaw() })
	brokers := testenv.Kafka(t, topic, 4)
	msgs, good := groupHistory(t)
	total, half := len(msgs), len(msgs)/2
	producer := bus.NewProducer(bus.Config{Brokers: config.StringList(brokers), Topic: topic}, testenv.Logger(t))
	defer producer.Close()
	publish := func(ms []bus.Message) {
		t.Helper()
		for len(ms) > 0 {
			n := min(len(ms), 250)
			if err := producer.Publish(context.Background(), ms[:n]...); err != nil {
				t.Fatal(err)
			}
			ms = ms[n:]
		}
	}
	events := func(db string) uint64 {
		return testenv.Uint(t, testenv.ClientQuery(t, srv, db, "SELECT uniqExact(event_id) FROM events"))
	}

	const group = "hang"
	cfg := testConfig(group, 100*time.Millisecond, 500*time.Millisecond, 2*time.Second)
	// Short bounds, but not so short that a healthy ClickHouse on a loaded
	// machine misses them.
	cfg.ClickHouseTimeout, cfg.StuckTimeout, cfg.KafkaTimeout, cfg.ReadyCheckpointAge = 3*time.Second, 8*time.Second, 5*time.Second, 5*time.Second
	dbA, dbB := testenv.OpenStore(t, srv, "a"), testenv.OpenStore(t, hung, "b")
	noKill := newKillSwitch()
	a := startMemberConfig(t, newProbeStore(dbA, noKill, false), siteRegistry(t, dbA), brokers, cfg)
	b := startMemberConfig(t, newProbeStore(dbB, noKill, false), siteRegistry(t, dbB), brokers, cfg)
	testenv.Eventually(t, 40*time.Second, "both members to share the 4 partitions", func() bool {
		pa, pb := a.partitions(), b.partitions()
		return len(pa) > 0 && len(pb) > 0 && len(pa)+len(pb) == 4
	})
	ownedB := b.partitions()

	// The first half: each member writes and checkpoints its partitions
	// into its own ClickHouse.
	publish(msgs[:half])
	testenv.Eventually(t, 40*time.Second, "the pair to checkpoint the first half", func() bool {
		return checkpointedThrough(t, srv, "a", group)+checkpointedThrough(t, hung, "b", group) == uint64(half)
	})
	if err := b.s.Ready(context.Background()); err != nil {
		t.Fatalf("B before the hang: %v", err)
	}

	// B's ClickHouse hangs; the rest arrives.
	if err := hung.Freeze(); err != nil {
		t.Fatal(err)
	}
	frozenAt := time.Now()
	publish(msgs[half:])
	// Before it leaves, B reports the partitions it cannot checkpoint
	// (-ready-checkpoint-age is shorter than -stuck-timeout).
	var staleErr error
	testenv.Eventually(t, 30*time.Second, "B to be not ready for its uncheckpointed partitions", func() bool {
		staleErr = b.s.Ready(context.Background())
		return staleErr != nil && strings.Contains(staleErr.Error(), "checkpoints older than")
	})
	for p := range ownedB {
		if !strings.Contains(staleErr.Error(), fmt.Sprintf("partition %d: ", p)) {
			t.Errorf("B's readiness %q does not name its partition %d", staleErr, p)
		}
	}
	testenv.Eventually(t, 60*time.Second, "A to own every partition", func() bool { return len(a.partitions()) == 4 })
	tookOver := time.Since(frozenAt)
	if err := b.s.Ready(context.Background()); err == nil || !strings.Contains(err.Error(), "consumer group (ClickHouse is stuck") {
		t.Errorf("B's readiness while out of the group: %v, want it to say it left", err)
	}
	if n := b.counter(t, "teller_sessionizer_group_leaves_total"); n != 1 {
		t.Errorf("B left the group %v times, want 1", n)
	}
	// B releases its claim once its LeaveGroup is answered, which Kafka may
	// have passed on to A a moment earlier.
	testenv.Eventually(t, 20*time.Second, "B to claim no partition", func() bool { return len(b.partitions()) == 0 })
	testenv.Eventually(t, 60*time.Second, "A to write and checkpoint every event", func() bool {
		return events("a") == uint64(good) && checkpointedThrough(t, srv, "a", group) == uint64(total)
	})

	// The reference: one sessionizer alone reads the same log.
	single := testenv.OpenStore(t, srv, "single")
	ref := startMember(t, newProbeStore(single, noKill, false), siteRegistry(t, single), brokers, "single")
	testenv.Eventually(t, 60*time.Second, "the single instance to write and checkpoint every event", func() bool {
		return events("single") == uint64(good) && checkpointedThrough(t, srv, "single", "single") == uint64(total)
	})
	ref.cancel()
	<-ref.done
	if want, got := sessionFigures(t, srv, "single"), sessionFigures(t, srv, "a"); got != want {
		t.Errorf("session figures after the hang differ from a single instance:\n%s", diffLines(got, want))
	}
	if want, got := eventPlacements(t, srv, "single"), eventPlacements(t, srv, "a"); got != want {
		t.Errorf("event placements after the hang differ from a single instance:\n%s", diffLines(got, want))
	}
	checkViewAgainstEvents(t, srv, "a")

	// A reports every partition caught up and covered, and is ready.
	testenv.Eventually(t, 20*time.Second, "A to report no lag and no uncovered messages on the 4 partitions", func() bool {
		lag, age := a.byPartition(t, "teller_sessionizer_consumer_lag"), a.byPartition(t, "teller_sessionizer_checkpoint_age_seconds")
		for p := 0; p < 4; p++ {
			l, ok1 := lag[fmt.Sprint(p)]
			g, ok2 := age[fmt.Sprint(p)]
			if !ok1 || !ok2 || l != 0 || g != 0 {
				return false
			}
		}
		return len(lag) == 4 && len(age) == 4
	})
	if err := a.s.Ready(context.Background()); err != nil {
		t.Errorf("A after the takeover: %v", err)
	}

	// B's ClickHouse answers again: B rejoins and takes partitions back.
	if err := hung.Thaw(); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 60*time.Second, "B to rejoin and own partitions again", func() bool {
		return len(b.partitions()) > 0 && b.s.Ready(context.Background()) == nil
	})
	t.Logf("B owned %v; A owned all 4 partitions %.1fs after B's ClickHouse froze (stuck timeout %s, ClickHouse timeout %s, shutdown timeout %s); B rejoined with %v",
		sortedKeys(ownedB), tookOver.Seconds(), cfg.StuckTimeout, cfg.ClickHouseTimeout, cfg.ShutdownTimeout, sortedKeys(b.partitions()))
}
