package sessionizer

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/teller-analytics/teller/internal/chlocal"
	"github.com/teller-analytics/teller/internal/testenv"
	"github.com/teller-analytics/teller/pkg/bus"
	"github.com/teller-analytics/teller/pkg/config"
	"github.com/teller-analytics/teller/pkg/event"
	"github.com/teller-analytics/teller/pkg/site"
	"github.com/teller-analytics/teller/pkg/store"
)

const topic = "events"

// publishHistory writes a deterministic history: 40 visitors, each with
// visits separated by 10-50 minutes, plus one undecodable message.
func publishHistory(t *testing.T, brokers []string) int {
	t.Helper()
	p := bus.NewProducer(bus.Config{Brokers: config.StringList(brokers), Topic: topic}, testenv.Logger(t))
	defer p.Close()
	base := time.Date(2026, 4, 1, 8, 0, 0, 0, time.UTC).UnixMilli()
	var msgs []bus.Message
	for v := 0; v < 40; v++ {
		visitor := uuid.NewSHA1(uuid.NameSpaceOID, []byte(fmt.Sprint("visitor", v)))
		at := base + int64(v)*7_000
		for i := 0; i < 12; i++ {
			at += int64((i*7+v)%50+1) * 60_000 // 1..50 min gaps: some split, some not
			ev := event.Event{V: 1, ID: uuid.NewSHA1(uuid.NameSpaceOID, []byte(fmt.Sprint(v, "/", i))), Site: "s",
				Visitor: visitor, NewVisitor: i == 0, ReceivedMs: at, Kind: event.KindPageview, Name: "pageview",
				URL: fmt.Sprintf("https://s.example/p%d", i%5), UserAgent: "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"}
			b, err := event.Marshal(&ev)
			if err != nil {
				t.Fatal(err)
			}
			msgs = append(msgs, bus.Message{Key: visitor[:], Value: b})
		}
	}
	msgs = append(msgs, bus.Message{Key: []byte("x"), Value: []byte("{not json")})
	if err := p.Publish(context.Background(), msgs...); err != nil {
		t.Fatal(err)
	}
	return len(msgs)
}

// noCheckpoints fails every checkpoint: rows land, the position never does,
// as if the process died between the insert and the checkpoint.
type noCheckpoints struct{ *store.DB }

// countingStore counts the event rows it writes.
type countingStore struct {
	*store.DB
	mu   sync.Mutex
	rows int
}

func (c *countingStore) WriteEvents(ctx context.Context, rows []store.EventRow) error {
	err := c.DB.WriteEvents(ctx, rows)
	if err == nil {
		c.mu.Lock()
		c.rows += len(rows)
		c.mu.Unlock()
	}
	return err
}

func (noCheckpoints) SaveCheckpoint(context.Context, store.Checkpoint) error {
	return errors.New("simulated crash before the checkpoint")
}

func runUntil(t *testing.T, st Store, sites Sites, brokers []string, group string, done func() bool) {
	t.Helper()
	s, err := New(Options{Config: testConfig(group, 100*time.Millisecond, 300*time.Millisecond, time.Second),
		Kafka: bus.Config{Brokers: config.StringList(brokers), Topic: topic}, Store: st, Sites: sites, Logger: testenv.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _ = s.Run(ctx) }()
	testenv.Eventually(t, 60*time.Second, "sessionizer to catch up", done)
	cancel()
	wg.Wait()
}

// testConfig is DefaultConfig with a test's group and the short intervals
// of a test that waits for checkpoints.
func testConfig(group string, flush, checkpoint, shutdown time.Duration) Config {
	c := DefaultConfig()
	c.Group, c.FlushInterval, c.CheckpointInterval, c.ShutdownTimeout = group, flush, checkpoint, shutdown
	return c
}

func figures(t *testing.T, srv *chlocal.Server, db string) string {
	return testenv.ClientQuery(t, srv, db, `SELECT session_id, visitor_id, start_reason, pageviews, events, duration_ms,
 entry_pathname, exit_pathname, browser FROM sessions ORDER BY session_id`)
}

// figuresFromEvents is figures computed from the events table alone, as
// the rules define them (entry from the earliest event, ties by the smaller
// id; exit from the latest, ties by the larger), for comparison with the
// sessions view, which reads what the sessionizer wrote to session_versions.
func figuresFromEvents(t *testing.T, srv *chlocal.Server, db string) string {
	return testenv.ClientQuery(t, srv, db, `SELECT session_id, any(visitor_id), any(session_start_reason),
 uniqExactIf(event_id, kind = 'pageview'), uniqExact(event_id), max(ts_ms) - min(ts_ms),
 tupleElement(arraySort(x -> (tupleElement(x, 1), tupleElement(x, 2)), groupArray((ts_ms, toString(event_id), pathname)))[1], 3),
 tupleElement(arrayReverseSort(x -> (tupleElement(x, 1), tupleElement(x, 2)), groupArray((ts_ms, toString(event_id), pathname)))[1], 3),
 tupleElement(arraySort(x -> (tupleElement(x, 1), tupleElement(x, 2)), groupArray((ts_ms, toString(event_id), browser)))[1], 3)
FROM events GROUP BY session_id ORDER BY session_id`)
}

// checkViewAgainstEvents fails unless the sessions view (over
// session_versions) equals the figures computed from events.
func checkViewAgainstEvents(t *testing.T, srv *chlocal.Server, db string) {
	t.Helper()
	if got, want := figures(t, srv, db), figuresFromEvents(t, srv, db); got != want {
		t.Errorf("%s: sessions view differs from the figures of its events:\n%s\nwant:\n%s", db, got, want)
	}
}

func siteRegistry(t *testing.T, db *store.DB) *site.Registry {
	if err := db.SaveSite(context.Background(), site.Site{ID: "s", Domains: []string{"s.example"}}); err != nil {
		t.Fatal(err)
	}
	r := site.NewRegistry(db, time.Minute, testenv.Logger(t))
	if err := r.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	return r
}

// A crash after the ClickHouse insert and before the checkpoint, then a
// restart, leaves every figure equal to an uninterrupted run.
func TestCrashBeforeCheckpointThenRestartEqualsCleanRun(t *testing.T) {
	srv := testenv.ClickHouse(t)
	brokers := testenv.Kafka(t, topic, 3)
	total := publishHistory(t, brokers)
	good := total - 1

	count := func(db string) func() bool {
		return func() bool {
			return testenv.ClientQuery(t, srv, db, "SELECT uniqExact(event_id) FROM events") == fmt.Sprint(good) &&
				testenv.ClientQuery(t, srv, db, "SELECT count() FROM rejected_events") != "0"
		}
	}
	clean := testenv.OpenStore(t, srv, "clean")
	runUntil(t, clean, siteRegistry(t, clean), brokers, "clean", count("clean"))
	want := figures(t, srv, "clean")

	crashed := testenv.OpenStore(t, srv, "crashed")
	sites := siteRegistry(t, crashed)
	runUntil(t, noCheckpoints{crashed}, sites, brokers, "crashed", count("crashed"))
	if n := testenv.ClientQuery(t, srv, "crashed", "SELECT count() FROM sessionizer_checkpoints"); n != "0" {
		t.Fatalf("checkpoints written despite the simulated crash: %s", n)
	}
	// Restart: no checkpoint, so everything is replayed on top of the rows
	// already written. Wait for checkpoints covering every partition's end.
	restarted := &countingStore{DB: crashed}
	runUntil(t, restarted, sites, brokers, "crashed", func() bool {
		return testenv.ClientQuery(t, srv, "crashed", "SELECT sum(o) FROM (SELECT argMax(next_offset, written_ms) AS o FROM sessionizer_checkpoints GROUP BY partition)") == fmt.Sprint(total)
	})
	if got := figures(t, srv, "crashed"); got != want {
		t.Fatalf("figures after crash and replay differ from a clean run:\n%s\nwant:\n%s", got, want)
	}
	checkViewAgainstEvents(t, srv, "clean")
	checkViewAgainstEvents(t, srv, "crashed")
	if restarted.rows < good {
		t.Fatalf("the restart wrote %d rows, not a replay of all %d, so this test proved nothing", restarted.rows, good)
	}
	sessions := testenv.Uint(t, testenv.ClientQuery(t, srv, "clean", "SELECT count() FROM sessions"))
	if sessions < 40*2 || sessions >= uint64(good) {
		t.Fatalf("%d sessions for %d events: the history should split some visits and join others", sessions, good)
	}
	if r := testenv.ClientQuery(t, srv, "clean", "SELECT reason FROM rejected_events"); r == "" {
		t.Fatal("the undecodable message was not kept with a reason")
	}
}

// After a restart the sessionizer resumes from its checkpoint and keeps the
// open sessions: an event 10 minutes after the last one joins its session.
func TestRestartResumesOpenSessions(t *testing.T) {
	srv := testenv.ClickHouse(t)
	brokers := testenv.Kafka(t, topic, 1)
	db := testenv.OpenStore(t, srv, "resume")
	sites := siteRegistry(t, db)
	p := bus.NewProducer(bus.Config{Brokers: config.StringList(brokers), Topic: topic}, testenv.Logger(t))
	defer p.Close()
	visitor := uuid.New()
	send := func(i int, at time.Time) {
		ev := event.Event{V: 1, ID: uuid.New(), Site: "s", Visitor: visitor, NewVisitor: i == 0, ReceivedMs: at.UnixMilli(),
			Kind: event.KindPageview, Name: "pageview", URL: fmt.Sprintf("https://s.example/%d", i)}
		b, _ := event.Marshal(&ev)
		if err := p.Publish(context.Background(), bus.Message{Key: visitor[:], Value: b}); err != nil {
			t.Fatal(err)
		}
	}
	t0 := time.Date(2026, 4, 2, 9, 0, 0, 0, time.UTC)
	send(0, t0)
	checkpointed := func(offset int) func() bool {
		return func() bool {
			return testenv.ClientQuery(t, srv, "resume", "SELECT argMax(next_offset, written_ms) FROM sessionizer_checkpoints") == fmt.Sprint(offset)
		}
	}
	runUntil(t, db, sites, brokers, "g", checkpointed(1))
	send(1, t0.Add(10*time.Minute))
	runUntil(t, db, sites, brokers, "g", checkpointed(2))
	if got := testenv.ClientQuery(t, srv, "resume", "SELECT count(), sum(pageviews), any(exit_pathname) FROM sessions"); got != "1\t2\t/1" {
		t.Fatalf("after restart: %q, want one session with 2 pageviews ending on /1", got)
	}
}

// ClickHouse going away mid-stream pauses consumption; once it is back,
// nothing is lost or doubled.
func TestClickHouseOutagePausesAndLosesNothing(t *testing.T) {
	srv := testenv.ClickHouse(t)
	brokers := testenv.Kafka(t, topic, 2)
	total := publishHistory(t, brokers)
	good := total - 1

	ref := testenv.OpenStore(t, srv, "reference")
	runUntil(t, ref, siteRegistry(t, ref), brokers, "reference", func() bool {
		return testenv.ClientQuery(t, srv, "reference", "SELECT uniqExact(event_id) FROM events") == fmt.Sprint(good)
	})
	want := figures(t, srv, "reference")

	db := testenv.OpenStore(t, srv, "outage")
	sites := siteRegistry(t, db)
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	s, err := New(Options{Config: testConfig("outage", 100*time.Millisecond, 300*time.Millisecond, time.Second), Kafka: bus.Config{Brokers: config.StringList(brokers), Topic: topic},
		Store: db, Sites: sites, Logger: testenv.Logger(t), Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = s.Run(ctx) }()
	defer func() { cancel(); <-done }()
	// While ClickHouse is down the sessionizer keeps trying (and failing) to
	// load its checkpoints and write rows.
	testenv.Eventually(t, 30*time.Second, "failed ClickHouse calls while it is down", func() bool {
		return testutil.ToFloat64(s.metrics.clickhouseErrors) > 0
	})
	time.Sleep(2 * time.Second)
	restarted, err := chlocal.Start(context.Background(), chlocal.Options{Dir: srv.Dir(), TCPPort: port(srv.Addr()), HTTPPort: port(srv.HTTPAddr()),
		Logger: testenv.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = restarted.Stop() })
	testenv.Eventually(t, 60*time.Second, "all events after the outage", func() bool {
		return testenv.ClientQuery(t, restarted, "outage", "SELECT uniqExact(event_id) FROM events") == fmt.Sprint(good)
	})
	if got := figures(t, restarted, "outage"); got != want {
		t.Fatalf("figures after the outage differ:\n%s\nwant:\n%s", got, want)
	}
	checkViewAgainstEvents(t, restarted, "outage")
}

func port(addr string) int {
	_, p, _ := net.SplitHostPort(addr)
	n, _ := strconv.Atoi(p)
	return n
}

// The midnight rule uses each site's own zone, as the registry resolved it:
// the same two events split at midnight in Berlin and not in UTC.
func TestMidnightSplitsInTheSiteZone(t *testing.T) {
	srv := testenv.ClickHouse(t)
	brokers := testenv.Kafka(t, topic, 1)
	db := testenv.OpenStore(t, srv, "midnight")
	for _, s := range []site.Site{
		{ID: "berlin", Domains: []string{"berlin.example"}, Timezone: "Europe/Berlin"},
		{ID: "utc", Domains: []string{"utc.example"}},
	} {
		if err := db.SaveSite(context.Background(), s); err != nil {
			t.Fatal(err)
		}
	}
	sites := site.NewRegistry(db, time.Minute, testenv.Logger(t))
	if err := sites.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	p := bus.NewProducer(bus.Config{Brokers: config.StringList(brokers), Topic: topic}, testenv.Logger(t))
	defer p.Close()
	visitor := uuid.New()
	// 21:50 and 22:10 UTC in April: 23:50 and 00:10 in Berlin (UTC+2).
	t0 := time.Date(2026, 4, 2, 21, 50, 0, 0, time.UTC)
	n := 0
	for _, id := range []string{"berlin", "utc"} {
		for i, at := range []time.Time{t0, t0.Add(20 * time.Minute)} {
			ev := event.Event{V: 1, ID: uuid.New(), Site: id, Visitor: visitor, NewVisitor: i == 0, ReceivedMs: at.UnixMilli(),
				Kind: event.KindPageview, Name: "pageview", URL: fmt.Sprintf("https://%s.example/%d", id, i)}
			b, _ := event.Marshal(&ev)
			if err := p.Publish(context.Background(), bus.Message{Key: visitor[:], Value: b}); err != nil {
				t.Fatal(err)
			}
			n++
		}
	}
	cfg := testConfig("midnight", 100*time.Millisecond, 300*time.Millisecond, time.Second)
	cfg.Rules.SplitAtMidnight = true
	s, err := New(Options{Config: cfg, Kafka: bus.Config{Brokers: config.StringList(brokers), Topic: topic},
		Store: db, Sites: sites, Logger: testenv.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = s.Run(ctx) }()
	testenv.Eventually(t, 60*time.Second, "sessionizer to checkpoint every event", func() bool {
		return testenv.ClientQuery(t, srv, "midnight", "SELECT argMax(next_offset, written_ms) FROM sessionizer_checkpoints") == fmt.Sprint(n)
	})
	cancel()
	<-done
	got := testenv.ClientQuery(t, srv, "midnight",
		"SELECT site_id, count(), arrayStringConcat(arraySort(groupArray(toString(start_reason))), ',') FROM sessions GROUP BY site_id ORDER BY site_id")
	if want := "berlin\t2\tfirst_visit,midnight\nutc\t1\tfirst_visit"; got != want {
		t.Fatalf("sessions by site:\n%s\nwant:\n%s", got, want)
	}
}

// Through the real pipeline: a session whose opening event arrives after a
// later one takes its entry from the earliest event, and an opening event
// delivered twice keeps one row, the first delivery's, marked as the start.
func TestOutOfOrderEntryAndDuplicatedOpener(t *testing.T) {
	srv := testenv.ClickHouse(t)
	brokers := testenv.Kafka(t, topic, 1)
	db := testenv.OpenStore(t, srv, "order")
	sites := siteRegistry(t, db)
	p := bus.NewProducer(bus.Config{Brokers: config.StringList(brokers), Topic: topic}, testenv.Logger(t))
	defer p.Close()
	visitor := uuid.New()
	t0 := time.Date(2026, 4, 3, 9, 0, 0, 0, time.UTC)
	opener, earliest := uuid.New(), uuid.New()
	mk := func(id uuid.UUID, at time.Time, path, referrer string) bus.Message {
		ev := event.Event{V: 1, ID: id, Site: "s", Visitor: visitor, NewVisitor: true, ReceivedMs: at.UnixMilli(),
			Kind: event.KindPageview, Name: "pageview", URL: "https://s.example" + path, Referrer: referrer}
		b, err := event.Marshal(&ev)
		if err != nil {
			t.Fatal(err)
		}
		return bus.Message{Key: visitor[:], Value: b}
	}
	// Log order: the opener (an internal page at 09:00:50), the earliest
	// event (from Hacker News at 09:00:00), the opener again.
	msgs := []bus.Message{mk(opener, t0.Add(50*time.Second), "/docs", "https://s.example/"),
		mk(earliest, t0, "/pricing", "https://news.ycombinator.com/item?id=1"),
		mk(opener, t0.Add(50*time.Second), "/docs", "https://s.example/")}
	if err := p.Publish(context.Background(), msgs...); err != nil {
		t.Fatal(err)
	}
	runUntil(t, db, sites, brokers, "g", func() bool {
		return testenv.ClientQuery(t, srv, "order", "SELECT argMax(next_offset, written_ms) FROM sessionizer_checkpoints") == "3"
	})
	if got := testenv.ClientQuery(t, srv, "order", `SELECT count(), any(events), any(pageviews), any(entry_pathname),
 any(referrer_domain), any(exit_pathname), any(duration_ms) FROM sessions`); got != "1\t2\t2\t/pricing\tnews.ycombinator.com\t/docs\t50000" {
		t.Errorf("sessions: %q, want one session of 2 events entering on /pricing from news.ycombinator.com, leaving on /docs, 50 s", got)
	}
	if got := testenv.ClientQuery(t, srv, "order", "SELECT count(), sum(is_session_start) FROM events WHERE event_id = '"+opener.String()+"'"); got != "1\t1" {
		t.Errorf("rows of the opening event (count, is_session_start): %q, want one row marked as the start", got)
	}
}

// Through the real pipeline: an event dated in the year 2100 (its Kafka
// record is stamped now) is quarantined in rejected_events with its reason
// and does not move the clock, so the events after it are not late; and an
// event delivered again hours after its session closed keeps one row and
// opens no second session.
func TestFutureEventQuarantinedAndRedeliveryAfterClose(t *testing.T) {
	srv := testenv.ClickHouse(t)
	brokers := testenv.Kafka(t, topic, 1)
	db := testenv.OpenStore(t, srv, "clockguard")
	sites := siteRegistry(t, db)
	p := bus.NewProducer(bus.Config{Brokers: config.StringList(brokers), Topic: topic}, testenv.Logger(t))
	defer p.Close()
	v, w := uuid.New(), uuid.New()
	t0 := time.Date(2026, 4, 3, 9, 0, 0, 0, time.UTC)
	mk := func(id, visitor uuid.UUID, at time.Time, path string) bus.Message {
		ev := event.Event{V: 1, ID: id, Site: "s", Visitor: visitor, ReceivedMs: at.UnixMilli(),
			Kind: event.KindPageview, Name: "pageview", URL: "https://s.example" + path}
		b, err := event.Marshal(&ev)
		if err != nil {
			t.Fatal(err)
		}
		return bus.Message{Key: visitor[:], Value: b}
	}
	first, future := uuid.New(), uuid.New()
	msgs := []bus.Message{
		mk(first, v, t0, "/"),
		mk(future, w, time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC), "/from-2100"),
		mk(uuid.New(), v, t0.Add(time.Minute), "/a"), // not late: the clock is still 09:00
		mk(uuid.New(), w, t0.Add(3*time.Hour), "/b"), // closes v's session; the sweep moves its ids to the record
		mk(first, v, t0, "/"),                        // redelivered after close
	}
	if err := p.Publish(context.Background(), msgs...); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	s, err := New(Options{Config: testConfig("g", 100*time.Millisecond, 300*time.Millisecond, time.Second),
		Kafka: bus.Config{Brokers: config.StringList(brokers), Topic: topic}, Store: db, Sites: sites, Logger: testenv.Logger(t), Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = s.Run(ctx) }()
	testenv.Eventually(t, 60*time.Second, "sessionizer to checkpoint every event", func() bool {
		return testenv.ClientQuery(t, srv, "clockguard", "SELECT argMax(next_offset, written_ms) FROM sessionizer_checkpoints") == fmt.Sprint(len(msgs))
	})
	remembered := testutil.ToFloat64(s.metrics.recentIDs.WithLabelValues("0"))
	cancel()
	<-done
	if q, d := testutil.ToFloat64(s.metrics.quarantined), testutil.ToFloat64(s.metrics.duplicates); q != 1 || d != 1 {
		t.Errorf("metrics: %v quarantined, %v duplicates; want 1 and 1", q, d)
	}
	if remembered != 2 {
		t.Errorf("remembered ids %v, want 2 (the closed session's events)", remembered)
	}
	if got := testenv.ClientQuery(t, srv, "clockguard", "SELECT kafka_offset, position(reason, 'quarantined') > 0, position(reason, '2100-01-01') > 0 FROM rejected_events"); got != "1\t1\t1" {
		t.Errorf("rejected_events (offset, quarantined, names the time): %q, want the 2100 event at offset 1 with its reason", got)
	}
	if got := testenv.ClientQuery(t, srv, "clockguard", "SELECT count(), sum(is_late), countIf(event_id = '"+future.String()+"') FROM events FINAL"); got != "3\t0\t0" {
		t.Errorf("events (rows, late, of the 2100 event): %q, want 3 rows, none late, none from 2100", got)
	}
	if got := testenv.ClientQuery(t, srv, "clockguard", "SELECT count(), sum(events) FROM sessions"); got != "2\t3" {
		t.Errorf("sessions (count, events): %q, want 2 sessions of 3 events: the redelivery after close opened none", got)
	}
}

// Through the real pipeline at the open-session cap (-max-open-sessions=2
// for three visitors taking turns): sessions are closed early and counted,
// every event is written, and each closed visitor's next event opens a new
// session.
func TestOpenSessionCap(t *testing.T) {
	srv := testenv.ClickHouse(t)
	brokers := testenv.Kafka(t, topic, 1)
	db := testenv.OpenStore(t, srv, "cap")
	sites := siteRegistry(t, db)
	p := bus.NewProducer(bus.Config{Brokers: config.StringList(brokers), Topic: topic}, testenv.Logger(t))
	defer p.Close()
	visitors := []uuid.UUID{uuid.New(), uuid.New(), uuid.New()}
	t0 := time.Date(2026, 4, 3, 9, 0, 0, 0, time.UTC)
	var msgs []bus.Message
	for i := range 9 { // v0, v1, v2, v0, ... a minute apart
		v := visitors[i%3]
		ev := event.Event{V: 1, ID: uuid.New(), Site: "s", Visitor: v, ReceivedMs: t0.Add(time.Duration(i) * time.Minute).UnixMilli(),
			Kind: event.KindPageview, Name: "pageview", URL: "https://s.example/"}
		b, err := event.Marshal(&ev)
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, bus.Message{Key: v[:], Value: b})
	}
	if err := p.Publish(context.Background(), msgs...); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig("g", 100*time.Millisecond, 300*time.Millisecond, time.Second)
	cfg.Rules.MaxOpenSessions = 2
	reg := prometheus.NewRegistry()
	s, err := New(Options{Config: cfg, Kafka: bus.Config{Brokers: config.StringList(brokers), Topic: topic},
		Store: db, Sites: sites, Logger: testenv.Logger(t), Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = s.Run(ctx) }()
	testenv.Eventually(t, 60*time.Second, "sessionizer to checkpoint every event", func() bool {
		return testenv.ClientQuery(t, srv, "cap", "SELECT argMax(next_offset, written_ms) FROM sessionizer_checkpoints") == fmt.Sprint(len(msgs))
	})
	cancel()
	<-done
	// Two sessions fit; from the third event on, each visitor's session
	// was closed by the one before, so each event closes the least
	// recently active session and opens one: 9 sessions, 7 closed early.
	if got := testutil.ToFloat64(s.metrics.closedEarly); got != 7 {
		t.Errorf("sessions closed at the cap: %v, want 7", got)
	}
	if got := testenv.ClientQuery(t, srv, "cap", "SELECT (SELECT count() FROM events FINAL), count(), sum(events) FROM sessions"); got != "9\t9\t9" {
		t.Errorf("events, sessions, their events: %q, want every event written, in 9 sessions", got)
	}
}

// Each site's own session options, read from the store by the registry,
// override the sessionizer's rules for that site's events only: the same
// three events (campaign a, midnight, then campaign b) make one, two or
// three sessions depending on the site's splits; two events 45 minutes
// apart make one session under a site's 1 h gap and two under its 10 min
// gap or the sessionizer's 30 min.
func TestSiteSessionOptionsOverrideTheRules(t *testing.T) {
	srv := testenv.ClickHouse(t)
	brokers := testenv.Kafka(t, topic, 1)
	db := testenv.OpenStore(t, srv, "siteopts")
	for _, s := range []site.Site{
		{ID: "plain", Domains: []string{"plain.example"}}, // the sessionizer's rules: campaign split on
		{ID: "night", Domains: []string{"night.example"}, Settings: site.Settings{MidnightSplit: site.SplitOn}},
		{ID: "steady", Domains: []string{"steady.example"}, Settings: site.Settings{CampaignSplit: site.SplitOff}},
		{ID: "patient", Domains: []string{"patient.example"}, Settings: site.Settings{SessionGap: time.Hour}},
		{ID: "brief", Domains: []string{"brief.example"}, Settings: site.Settings{SessionGap: 10 * time.Minute}},
		{ID: "usual", Domains: []string{"usual.example"}},
	} {
		if err := db.SaveSite(context.Background(), s); err != nil {
			t.Fatal(err)
		}
	}
	sites := site.NewRegistry(db, time.Minute, testenv.Logger(t))
	if err := sites.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	p := bus.NewProducer(bus.Config{Brokers: config.StringList(brokers), Topic: topic}, testenv.Logger(t))
	defer p.Close()
	visitor := uuid.New()
	t0 := time.Date(2026, 4, 2, 23, 50, 0, 0, time.UTC)
	type step struct {
		after    time.Duration
		campaign string
	}
	splits := []step{{0, "a"}, {20 * time.Minute, "a"}, {25 * time.Minute, "b"}}
	gaps := []step{{time.Hour, "a"}, {time.Hour + 45*time.Minute, "a"}} // after the splits': never late
	steps := map[string][]step{"plain": splits, "night": splits, "steady": splits, "patient": gaps, "brief": gaps, "usual": gaps}
	n := 0
	for _, id := range []string{"plain", "night", "steady", "patient", "brief", "usual"} {
		for i, st := range steps[id] {
			ev := event.Event{V: 1, ID: uuid.New(), Site: id, Visitor: visitor, NewVisitor: i == 0, ReceivedMs: t0.Add(st.after).UnixMilli(),
				Kind: event.KindPageview, Name: "pageview", URL: fmt.Sprintf("https://%s.example/%d?utm_source=%s", id, i, st.campaign)}
			b, _ := event.Marshal(&ev)
			if err := p.Publish(context.Background(), bus.Message{Key: visitor[:], Value: b}); err != nil {
				t.Fatal(err)
			}
			n++
		}
	}
	cfg := testConfig("siteopts", 100*time.Millisecond, 300*time.Millisecond, time.Second)
	cfg.Rules.SplitOnCampaign = true
	cfg.Rules.MaxSiteGap = 2 * time.Hour
	s, err := New(Options{Config: cfg, Kafka: bus.Config{Brokers: config.StringList(brokers), Topic: topic},
		Store: db, Sites: sites, Logger: testenv.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = s.Run(ctx) }()
	testenv.Eventually(t, 60*time.Second, "sessionizer to checkpoint every event", func() bool {
		return testenv.ClientQuery(t, srv, "siteopts", "SELECT argMax(next_offset, written_ms) FROM sessionizer_checkpoints") == fmt.Sprint(n)
	})
	cancel()
	<-done
	got := testenv.ClientQuery(t, srv, "siteopts",
		"SELECT site_id, count(), arrayStringConcat(arraySort(groupArray(toString(start_reason))), ',') FROM sessions GROUP BY site_id ORDER BY site_id")
	if want := "brief\t2\tfirst_visit,inactivity\nnight\t3\tcampaign,first_visit,midnight\npatient\t1\tfirst_visit\nplain\t2\tcampaign,first_visit\nsteady\t1\tfirst_visit\nusual\t2\tfirst_visit,inactivity"; got != want {
		t.Fatalf("sessions by site:\n%s\nwant:\n%s", got, want)
	}
}
