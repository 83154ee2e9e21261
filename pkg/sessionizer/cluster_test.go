package sessionizer

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/teller-analytics/teller/internal/chcluster"
	"github.com/teller-analytics/teller/internal/testenv"
	"github.com/teller-analytics/teller/pkg/bus"
	"github.com/teller-analytics/teller/pkg/config"
	"github.com/teller-analytics/teller/pkg/report"
	"github.com/teller-analytics/teller/pkg/store"
)

// Three sessionizers in one group on 8 partitions write the group history
// into a real cluster (ZooKeeper, 2 shards x 2 replicas of ClickHouse
// 18.16), each through a different server, while one replica is stopped
// mid-stream and started again later, ZooKeeper is restarted and one
// sessionizer is killed. Every session figure, every event's
// placement and every report equal one sessionizer writing the same log
// into a single server; the stopped replica catches up and the replicas of
// each shard hold the same rows; no event is on two shards.
func TestClusterEqualsSingleServer(t *testing.T) {
	began := time.Now()
	deadline := began.Add(4 * time.Minute)
	wait := func(what string, cond func() bool) {
		t.Helper()
		testenv.Eventually(t, max(time.Until(deadline), time.Second), what, cond)
	}
	ctx := context.Background()
	cl, err := chcluster.Start(ctx, chcluster.Options{Dir: t.TempDir(), Logger: testenv.Logger(t)})
	if err != nil {
		t.Fatalf("start the test cluster (scripts/install-deps.sh test installs ZooKeeper): %v", err)
	}
	t.Cleanup(cl.Stop)
	single := testenv.ClickHouse(t)
	brokers := testenv.Kafka(t, topic, 8)
	msgs, good := groupHistory(t)
	total := len(msgs)

	open := func(node int) *store.DB {
		t.Helper()
		db, err := store.Open(ctx, store.Config{Addr: cl.Nodes[node].Addr(), Database: "teller", User: "default",
			DialTimeout: 5 * time.Second, Cluster: chcluster.Name}, testenv.Logger(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	// Sessionizers on shard 1 replica 1, shard 1 replica 2, shard 2
	// replica 1; shard 2 replica 2 is the one stopped, and the reports read
	// through shard 1 replica 1.
	dbs := []*store.DB{open(0), open(1), open(2)}
	if err := dbs[0].Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	reader, victim := cl.Nodes[0], cl.Nodes[3]
	const group = "cluster"
	// The third member is killed mid-stream: right after one of its inserts
	// of rows, before the checkpoint that would cover them.
	kill := newKillSwitch()
	var members []*member
	for i, db := range dbs {
		members = append(members, startMember(t, newProbeStore(db, kill, i == 2), siteRegistry(t, db), brokers, group))
	}
	wait("the three members to share the 8 partitions", func() bool {
		n, seen := 0, map[int]bool{}
		for _, m := range members {
			p := m.partitions()
			if len(p) == 0 {
				return false
			}
			for k := range p {
				seen[k] = true
			}
			n += len(p)
		}
		return n == 8 && len(seen) == 8
	})
	events := func() uint64 {
		return testenv.Uint(t, testenv.ClientQuery(t, reader.Server(), "teller", "SELECT uniqExact(event_id) FROM events"))
	}
	producer := bus.NewProducer(bus.Config{Brokers: config.StringList(brokers), Topic: topic}, testenv.Logger(t))
	defer producer.Close()
	publish := func(ms []bus.Message) {
		t.Helper()
		for len(ms) > 0 {
			n := min(len(ms), 250)
			if err := producer.Publish(ctx, ms[:n]...); err != nil {
				t.Fatal(err)
			}
			ms = ms[n:]
		}
	}

	started := time.Now()
	publish(msgs[:total/3])
	wait("some events written before the replica stops", func() bool { return events() > 0 })
	if err := victim.Stop(); err != nil {
		t.Logf("stopping the replica: %v", err) // killed: as good a way to lose a replica
	}
	stoppedAt := events()
	publish(msgs[total/3 : total/2])

	// ZooKeeper restarts: the replicated tables are read-only meanwhile, and
	// the sessionizers retry their writes until it is back.
	if err := cl.ZK.Stop(); err != nil {
		t.Fatal(err)
	}
	publish(msgs[total/2 : 2*total/3])
	time.Sleep(3 * time.Second)
	if err := cl.ZK.Start(ctx); err != nil {
		t.Fatal(err)
	}

	// One sessionizer dies; the other two take over its partitions from
	// their checkpoints.
	kill.armed.Store(true)
	wait("the third member to be killed mid-stream", kill.fired)
	members[2].cancel()
	<-members[2].done
	publish(msgs[2*total/3:])
	lastLog := time.Now()
	wait("the cluster to acknowledge and checkpoint every message with one replica stopped", func() bool {
		cp := checkpointedThrough(t, reader.Server(), "teller", group)
		if time.Since(lastLog) > 10*time.Second {
			lastLog = time.Now()
			t.Logf("%.0fs: checkpoints through %d of %d messages", time.Since(began).Seconds(), cp, total)
		}
		return cp == uint64(total)
	})
	written := time.Since(started)
	if stoppedAt >= uint64(good) {
		t.Fatalf("%d of %d events written before the replica stopped: not mid-stream", stoppedAt, good)
	}
	// Reports answer from the remaining replicas while one is down. Their
	// figures may still miss rows that only the stopped replica had taken
	// when it stopped (replication is asynchronous; docs/scaling.md).
	if _, err := report.New(dbs[0]).Summary(ctx, report.Query{Site: "s",
		From: time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 4, 8, 0, 0, 0, 0, time.UTC)}); err != nil {
		t.Errorf("a report with one replica stopped: %v", err)
	}
	whileDown := events()
	if err := victim.Start(ctx); err != nil {
		t.Fatal(err)
	}
	for _, n := range cl.Nodes {
		for _, tbl := range []string{"events_local", "session_versions_local", "sessionizer_checkpoints", "sites"} {
			if _, err := n.Query(ctx, "SYSTEM SYNC REPLICA teller."+tbl); err != nil {
				t.Fatal(err)
			}
		}
	}
	if n := events(); n != uint64(good) {
		t.Errorf("after the replica is back and synced: %d of %d events", n, good)
	}
	clusterFigures := sessionFigures(t, reader.Server(), "teller")

	ref := testenv.OpenStore(t, single, "single")
	refStarted := time.Now()
	refMember := startMember(t, newProbeStore(ref, newKillSwitch(), false), siteRegistry(t, ref), brokers, "single")
	wait("the single server to hold and checkpoint every event", func() bool {
		return testenv.Uint(t, testenv.ClientQuery(t, single, "single", "SELECT uniqExact(event_id) FROM events")) == uint64(good) &&
			checkpointedThrough(t, single, "single", "single") == uint64(total)
	})
	refWritten := time.Since(refStarted)
	refMember.cancel()
	<-refMember.done
	for _, m := range members[:2] {
		m.cancel()
		<-m.done
	}

	if want := sessionFigures(t, single, "single"); clusterFigures != want {
		t.Errorf("session figures on the cluster differ from a single server:\n%s", diffLines(clusterFigures, want))
	}
	if got, want := eventPlacements(t, reader.Server(), "teller"), eventPlacements(t, single, "single"); got != want {
		t.Errorf("event placements on the cluster differ from a single server:\n%s", diffLines(got, want))
	}
	// The sessions view against the figures of its events.
	if got, want := figures(t, reader.Server(), "teller"), figuresFromEvents(t, reader.Server(), "teller"); got != want {
		t.Errorf("sessions view on the cluster differs from the figures of its events:\n%s", diffLines(got, want))
	}
	compareReports(t, dbs[0], ref)

	// The stopped replica caught up: each shard's replicas hold the same
	// rows, and the shards share no event, session or visitor.
	const shardQ = `SELECT uniqExact(event_id), uniqExact(session_id), uniqExact(visitor_id), sum(cityHash64(toString(event_id))) FROM (SELECT DISTINCT event_id, session_id, visitor_id FROM events_local)`
	// Each session's highest version, the session: which intermediate
	// versions exist depends on flush timing, and an insert whose commit
	// ZooKeeper lost (seen here after its restart) can leave one on a
	// single replica, outside replication (docs/scaling.md).
	const versionsQ = `SELECT count(), sum(cityHash64(toString(session_id), v)) FROM (SELECT session_id, max(version) AS v FROM session_versions_local GROUP BY session_id)`
	var eventsOnShards uint64
	for s := 0; s < 2; s++ {
		r1, r2 := cl.Nodes[2*s].Server(), cl.Nodes[2*s+1].Server()
		a, b := testenv.ClientQuery(t, r1, "teller", shardQ), testenv.ClientQuery(t, r2, "teller", shardQ)
		if a != b {
			t.Errorf("shard %d: replicas differ in events: %q and %q", s+1, a, b)
		}
		if a, b := testenv.ClientQuery(t, r1, "teller", versionsQ), testenv.ClientQuery(t, r2, "teller", versionsQ); a != b {
			t.Errorf("shard %d: replicas differ in the sessions' highest versions: %q and %q", s+1, a, b)
		}
		f := strings.Fields(a)
		if len(f) == 4 {
			eventsOnShards += testenv.Uint(t, f[0])
			if testenv.Uint(t, f[0]) == 0 {
				t.Errorf("shard %d holds no events: the sharding key does not spread", s+1)
			}
		}
	}
	if eventsOnShards != uint64(good) {
		t.Errorf("shards hold %d events together, want %d: an event is on two shards or missing", eventsOnShards, good)
	}
	const onBothShards = `SELECT count() FROM (SELECT visitor_id FROM remote('%s', teller.events_local) GROUP BY visitor_id) WHERE visitor_id IN (SELECT visitor_id FROM remote('%s', teller.events_local))`
	if n := testenv.ClientQuery(t, reader.Server(), "teller", fmt.Sprintf(onBothShards, cl.Nodes[0].Addr(), cl.Nodes[2].Addr())); n != "0" {
		t.Errorf("%s visitors have events on both shards", n)
	}
	t.Logf("%d events (%d messages) through 3 sessionizers into 2x2 ClickHouse in %.1fs (replica stopped at %d events, %d readable while it was down; ZooKeeper restarted; one sessionizer killed); one sessionizer into one server %.1fs after the log was complete; whole test %.1fs",
		good, total, written.Seconds(), stoppedAt, whileDown, refWritten.Seconds(), time.Since(began).Seconds())
}

// compareReports runs pkg/report's reports on both databases over the
// history's days and fails where any figure differs.
func compareReports(t *testing.T, cluster, single *store.DB) {
	t.Helper()
	ctx := context.Background()
	q := report.Query{Site: "s", From: time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 4, 8, 0, 0, 0, 0, time.UTC)}
	filtered := q
	filtered.Filters = []report.Filter{{Dimension: report.Pages, Op: report.Contains, Value: "p3"}}
	run := func(db *store.DB) map[string]any {
		r := report.New(db)
		out := map[string]any{}
		add := func(name string, v any, err error) {
			if err != nil {
				t.Errorf("%s: %v", name, err)
			}
			out[name] = v
		}
		for i, rq := range []report.Query{q, filtered} {
			s, err := r.Summary(ctx, rq)
			add(fmt.Sprint(i, " summary"), s, err)
			ts, err := r.Timeseries(ctx, rq, time.UTC)
			add(fmt.Sprint(i, " timeseries"), ts, err)
			for _, d := range report.Dimensions() {
				rows, err := r.Breakdown(ctx, rq, d, 100)
				add(fmt.Sprint(i, " breakdown ", d), rows, err)
			}
			pe, err := r.PageEngagement(ctx, rq, 100)
			add(fmt.Sprint(i, " page engagement"), pe, err)
			props, err := r.EventProps(ctx, rq, "signup", 100)
			add(fmt.Sprint(i, " event props"), props, err)
			sess, err := r.Sessions(ctx, rq, 1000)
			add(fmt.Sprint(i, " sessions"), sess, err)
			cmp, err := r.Compare(ctx, rq)
			add(fmt.Sprint(i, " compare"), cmp, err)
			for _, m := range []report.Metric{report.MetricVisitors, report.MetricSessions, report.MetricPageviews,
				report.MetricBounceRate, report.MetricAvgDuration, report.MetricEvents} {
				for _, iv := range []report.Interval{report.Hour, report.Day} {
					pts, err := r.Series(ctx, rq, time.UTC, m, iv)
					add(fmt.Sprint(i, " series ", m, " ", iv), pts, err)
				}
			}
			goals := []report.Goal{{ID: "g1", Site: "s", Name: "p3", Kind: report.GoalPage, Pattern: "/p3"},
				{ID: "g2", Site: "s", Name: "signup", Kind: report.GoalEvent, Pattern: "signup"}}
			gc, err := r.GoalConversions(ctx, rq, goals)
			add(fmt.Sprint(i, " goals"), gc, err)
			fn, err := r.Funnel(ctx, rq, []report.FunnelStep{{Kind: report.GoalPage, Pattern: "/p1"}, {Kind: report.GoalPage, Pattern: "/p2"},
				{Kind: report.GoalEvent, Pattern: "signup"}})
			add(fmt.Sprint(i, " funnel"), fn, err)
			bots, err := r.Bots(ctx, rq, 100)
			add(fmt.Sprint(i, " bots"), bots, err)
			page, err := r.SessionList(ctx, rq, 50, "")
			add(fmt.Sprint(i, " session list"), page, err)
			if len(sess) > 0 {
				path, found, err := r.SessionPath(ctx, rq, sess[0].ID)
				add(fmt.Sprint(i, " session path"), fmt.Sprint(path, found), err)
			}
		}
		return out
	}
	got, want := run(cluster), run(single)
	for name, w := range want {
		if !reflect.DeepEqual(got[name], w) {
			t.Errorf("report %s on the cluster:\n%+v\nwant (single server):\n%+v", name, got[name], w)
		}
	}
	if s, ok := want["0 summary"].(report.Summary); !ok || reflect.ValueOf(s).IsZero() {
		t.Errorf("the single server's summary is empty: the comparison says nothing")
	}
}
