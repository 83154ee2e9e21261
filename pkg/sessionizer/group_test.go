package sessionizer

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/teller-analytics/teller/internal/chlocal"
	"github.com/teller-analytics/teller/internal/testenv"
	"github.com/teller-analytics/teller/pkg/bus"
	"github.com/teller-analytics/teller/pkg/config"
	"github.com/teller-analytics/teller/pkg/event"
	"github.com/teller-analytics/teller/pkg/store"
)

// groupHistory is a deterministic history of several thousand events, in the
// order they arrive at Kafka: 200 visitors with 20-30 events each (pageviews,
// custom and engagement events, gaps from seconds to hours including the
// 30 min boundary to the millisecond), two visitors with a pageview every
// 10 min for 26 h (maximum length), interleaved on one timeline, about 3% of
// the events delayed (late, some bridging), and one undecodable message.
// Arrival order interleaves visitors, so any cut through it leaves sessions
// open that continue after the cut.
func groupHistory(t *testing.T) (msgs []bus.Message, good int) {
	t.Helper()
	type pending struct {
		arrival int64
		seq     int
		msg     bus.Message
	}
	var all []pending
	base := time.Date(2026, 4, 3, 6, 0, 0, 0, time.UTC).UnixMilli()
	const (
		sec    = int64(1000)
		minute = 60 * sec
	)
	gaps := []int64{5 * sec, 40 * sec, 2 * minute, 9 * minute, 30 * minute, 30*minute + 1, 12 * sec, 45 * minute, 1 * minute,
		30*minute - 1, 3 * 60 * minute, 20 * sec, 17 * minute, 31 * minute, 4 * minute}
	delays := []int64{30 * sec, 90 * sec, 3 * minute, 7 * minute, 40 * minute}
	uas := []string{
		"Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
		"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
	}
	add := func(v, i int, ev event.Event) {
		b, err := event.Marshal(&ev)
		if err != nil {
			t.Fatal(err)
		}
		arrival := ev.ReceivedMs
		if h := (v*31 + i*17) % 33; h == 0 { // about 3% arrive late
			arrival += delays[(v+i)%len(delays)]
		}
		all = append(all, pending{arrival: arrival, seq: len(all), msg: bus.Message{Key: ev.Visitor[:], Value: b}})
	}
	for v := 0; v < 202; v++ {
		visitor := uuid.NewSHA1(uuid.NameSpaceOID, []byte(fmt.Sprint("group-visitor", v)))
		at := base + int64(v)*37*sec
		n, long := 20+v%11, v >= 200
		if long {
			n = 157
		}
		for i := 0; i < n; i++ {
			if i > 0 {
				if long {
					at += 10 * minute
				} else {
					at += gaps[(i*7+v*3)%len(gaps)]
				}
			}
			ev := event.Event{V: 1, ID: uuid.NewSHA1(uuid.NameSpaceOID, []byte(fmt.Sprint("group-event", v, "/", i))), Site: "s",
				Visitor: visitor, NewVisitor: i == 0 && v%5 != 0, ReceivedMs: at, Kind: event.KindPageview, Name: "pageview",
				URL: fmt.Sprintf("https://s.example/p%d", (i*3+v)%7), UserAgent: uas[v%len(uas)], ScreenWidth: 1280 + v%3*100, ScreenHeight: 800}
			switch {
			case long:
			case i%6 == 5:
				ev.Kind, ev.Name, ev.EngagedMs, ev.ScrollDepth = event.KindEngagement, "engagement", int64(1000+(v*i)%60000), (v+i)%101
			case i%9 == 4:
				ev.Kind, ev.Name, ev.Props = event.KindCustom, "signup", map[string]string{"plan": fmt.Sprint("p", v%3), "step": fmt.Sprint(i)}
			}
			if i == 0 && v%4 == 0 {
				ev.URL += "?utm_source=news&utm_medium=email&utm_campaign=april"
				ev.Campaign = event.Campaign{Source: "news", Medium: "email", Name: "april"}
			}
			if i == 0 && v%3 == 0 {
				ev.Referrer = "https://www.google.com/"
			}
			add(v, i, ev)
		}
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].arrival != all[j].arrival {
			return all[i].arrival < all[j].arrival
		}
		return all[i].seq < all[j].seq
	})
	for _, p := range all {
		msgs = append(msgs, p.msg)
	}
	good = len(msgs)
	// One message the sessionizer must reject (and still count as read).
	bad := bus.Message{Key: []byte("broken"), Value: []byte("{not json")}
	msgs = append(msgs[:good/4], append([]bus.Message{bad}, msgs[good/4:]...)...)
	return msgs, good
}

// killSwitch stops a member's ClickHouse writes dead, as if the process were
// killed: armed, it fires right after the member's next successful insert of
// event rows, so those rows are in ClickHouse but no checkpoint covers them.
type killSwitch struct {
	armed atomic.Bool
	once  sync.Once
	dead  chan struct{}
}

func newKillSwitch() *killSwitch { return &killSwitch{dead: make(chan struct{})} }

func (k *killSwitch) fired() bool {
	select {
	case <-k.dead:
		return true
	default:
		return false
	}
}

// span is the offsets of event rows written for one partition.
type span struct {
	rows     int
	min, max int64
}

func (s *span) add(off int64) {
	if s.rows == 0 || off < s.min {
		s.min = off
	}
	if s.rows == 0 || off > s.max {
		s.max = off
	}
	s.rows++
}

// probeStore wraps a member's store: it records what the member wrote and
// loaded, per partition, before and after the kill; for the victim, every
// call after the kill blocks until its context ends and then fails.
type probeStore struct {
	*store.DB
	kill   *killSwitch
	victim bool

	mu        sync.Mutex
	written   map[int32]*span // all event rows written
	afterKill map[int32]*span // event rows written after the kill fired
	saved     map[int32]int64 // last durable checkpoint (next offset)
	loadedAt  map[int32]int64 // first checkpoint loaded after the kill (next offset, -1 if none)
}

func newProbeStore(db *store.DB, kill *killSwitch, victim bool) *probeStore {
	return &probeStore{DB: db, kill: kill, victim: victim, written: map[int32]*span{}, afterKill: map[int32]*span{},
		saved: map[int32]int64{}, loadedAt: map[int32]int64{}}
}

var errKilled = errors.New("simulated kill: this process is gone")

// dead blocks a killed victim's call until its context ends.
func (p *probeStore) dead(ctx context.Context) error {
	if !p.victim || !p.kill.fired() {
		return nil
	}
	<-ctx.Done()
	return fmt.Errorf("%w (%v)", errKilled, ctx.Err())
}

func (p *probeStore) WriteEvents(ctx context.Context, rows []store.EventRow) error {
	if err := p.dead(ctx); err != nil {
		return err
	}
	if err := p.DB.WriteEvents(ctx, rows); err != nil {
		return err
	}
	after := p.kill.fired()
	p.mu.Lock()
	for _, r := range rows {
		addRow(p.written, r)
		if after {
			addRow(p.afterKill, r)
		}
	}
	p.mu.Unlock()
	if p.victim && len(rows) > 0 && p.kill.armed.Load() {
		p.kill.once.Do(func() { close(p.kill.dead) })
	}
	return nil
}

func addRow(m map[int32]*span, r store.EventRow) {
	if m[r.KafkaPartition] == nil {
		m[r.KafkaPartition] = &span{}
	}
	m[r.KafkaPartition].add(r.KafkaOffset)
}

func (p *probeStore) WriteRejected(ctx context.Context, rows []store.Rejected) error {
	if err := p.dead(ctx); err != nil {
		return err
	}
	return p.DB.WriteRejected(ctx, rows)
}

func (p *probeStore) SaveCheckpoint(ctx context.Context, cp store.Checkpoint) error {
	if err := p.dead(ctx); err != nil {
		return err
	}
	if err := p.DB.SaveCheckpoint(ctx, cp); err != nil {
		return err
	}
	p.mu.Lock()
	p.saved[cp.Partition] = cp.NextOffset
	p.mu.Unlock()
	return nil
}

func (p *probeStore) LoadCheckpoint(ctx context.Context, group, topic string, partition int32) (store.Checkpoint, bool, error) {
	if err := p.dead(ctx); err != nil {
		return store.Checkpoint{}, false, err
	}
	cp, ok, err := p.DB.LoadCheckpoint(ctx, group, topic, partition)
	if err == nil && p.kill.fired() {
		p.mu.Lock()
		if _, seen := p.loadedAt[partition]; !seen { // the first load after the kill
			p.loadedAt[partition] = -1
			if ok {
				p.loadedAt[partition] = cp.NextOffset
			}
		}
		p.mu.Unlock()
	}
	return cp, ok, err
}

func (p *probeStore) snapshot() (written, afterKill map[int32]span, saved, loaded map[int32]int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	written, afterKill, saved, loaded = map[int32]span{}, map[int32]span{}, map[int32]int64{}, map[int32]int64{}
	for k, v := range p.written {
		written[k] = *v
	}
	for k, v := range p.afterKill {
		afterKill[k] = *v
	}
	for k, v := range p.saved {
		saved[k] = v
	}
	for k, v := range p.loadedAt {
		loaded[k] = v
	}
	return
}

// member is one running sessionizer of the pair.
type member struct {
	s      *Sessionizer
	store  *probeStore
	reg    *prometheus.Registry
	cancel context.CancelFunc
	done   chan struct{}
}

func startMember(t *testing.T, st *probeStore, sites Sites, brokers []string, group string) *member {
	t.Helper()
	return startMemberConfig(t, st, sites, brokers, testConfig(group, 100*time.Millisecond, 500*time.Millisecond, 500*time.Millisecond))
}

func startMemberConfig(t *testing.T, st *probeStore, sites Sites, brokers []string, cfg Config) *member {
	t.Helper()
	reg := prometheus.NewRegistry()
	s, err := New(Options{Config: cfg,
		Kafka: bus.Config{Brokers: config.StringList(brokers), Topic: topic}, Store: st, Sites: sites, Logger: testenv.Logger(t),
		Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	m := &member{s: s, store: st, reg: reg, cancel: cancel, done: make(chan struct{})}
	go func() { defer close(m.done); _ = s.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-m.done })
	return m
}

func (m *member) partitions() map[int]bool {
	m.s.mu.Lock()
	defer m.s.mu.Unlock()
	out := map[int]bool{}
	for p, ok := range m.s.assigned {
		if ok {
			out[p] = true
		}
	}
	return out
}

// sessionFigures is every figure of the sessions view, one session a line.
func sessionFigures(t *testing.T, srv *chlocal.Server, db string) string {
	return testenv.ClientQuery(t, srv, db, `SELECT session_id, site_id, session_date, visitor_id, started_at, start_reason,
 first_ms, last_ms, duration_ms, events, pageviews, custom_events, is_bounce, entry_pathname, exit_pathname, entry_hostname,
 referrer, referrer_domain, referrer_source, channel, utm_source, utm_medium, utm_campaign, browser, os, device,
 screen_width, max_scroll, late_events, bridging_events FROM sessions ORDER BY session_id`)
}

// eventPlacements is, per event, every distinct placement written for it: a
// replay that decided differently would show two.
func eventPlacements(t *testing.T, srv *chlocal.Server, db string) string {
	return testenv.ClientQuery(t, srv, db, `SELECT event_id, arraySort(groupUniqArray(concat(toString(session_id), ' ',
 toString(session_start_reason), ' ', toString(is_session_start), toString(is_late), toString(is_bridging))))
 FROM events GROUP BY event_id ORDER BY event_id`)
}

// checkpointedThrough is the sum over partitions of the group's latest
// checkpointed next offset: the number of messages its checkpoints cover.
func checkpointedThrough(t *testing.T, srv *chlocal.Server, db, group string) uint64 {
	out := testenv.ClientQuery(t, srv, db, fmt.Sprintf(`SELECT sum(o) FROM (SELECT argMax(next_offset, written_ms) AS o
 FROM sessionizer_checkpoints WHERE consumer_group = '%s' GROUP BY partition)`, group))
	return testenv.Uint(t, out)
}

// diffLines describes how two line lists differ (first few lines only).
func diffLines(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	inW := map[string]bool{}
	for _, l := range w {
		inW[l] = true
	}
	inG := map[string]bool{}
	for _, l := range g {
		inG[l] = true
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d lines, want %d\n", len(g), len(w))
	n := 0
	for _, l := range g {
		if !inW[l] && n < 8 {
			fmt.Fprintf(&b, "+ %s\n", l)
			n++
		}
	}
	n = 0
	for _, l := range w {
		if !inG[l] && n < 8 {
			fmt.Fprintf(&b, "- %s\n", l)
			n++
		}
	}
	return b.String()
}

// Two sessionizers share the group; one is killed mid-stream (its rows past
// its last checkpoint are written, its final flush and checkpoint never
// happen). The survivor takes over its partitions from its last checkpoint
// and replays the rest: every figure equals a single-instance run.
func TestTwoMembersOneKilledEqualsSingleInstance(t *testing.T) {
	began := time.Now()
	deadline := began.Add(85 * time.Second)
	wait := func(what string, cond func() bool) {
		t.Helper()
		testenv.Eventually(t, max(time.Until(deadline), time.Second), what, cond)
	}

	srv := testenv.ClickHouse(t)
	brokers := testenv.Kafka(t, topic, 4)
	msgs, good := groupHistory(t)
	total := len(msgs)
	part1 := total / 2         // before the kill
	part2a := part1 + total/10 // the victim is killed while writing these
	producer := bus.NewProducer(bus.Config{Brokers: config.StringList(brokers), Topic: topic}, testenv.Logger(t))
	defer producer.Close()
	publish := func(ms []bus.Message) {
		t.Helper()
		// In chunks, as a collector would: the members read while it arrives.
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

	// The pair: A and B in one group, writing into one database.
	const group = "pair"
	db := testenv.OpenStore(t, srv, "pair")
	sites := siteRegistry(t, db)
	kill := newKillSwitch()
	a := startMember(t, newProbeStore(db, kill, false), sites, brokers, group)
	b := startMember(t, newProbeStore(db, kill, true), sites, brokers, group)
	var ownedA, ownedB map[int]bool
	wait("both members to share the 4 partitions", func() bool {
		ownedA, ownedB = a.partitions(), b.partitions()
		for p := range ownedA {
			if ownedB[p] {
				return false
			}
		}
		return len(ownedA) > 0 && len(ownedB) > 0 && len(ownedA)+len(ownedB) == 4
	})
	t.Logf("%.1fs: A owns %v, B owns %v", time.Since(began).Seconds(), sortedKeys(ownedA), sortedKeys(ownedB))

	// First half: both members write rows and checkpoint them.
	publish(msgs[:part1])
	wait("the pair to checkpoint the first half", func() bool {
		return checkpointedThrough(t, srv, "pair", group) == uint64(part1)
	})
	_, _, savedB, _ := b.store.snapshot()
	_, _, savedA, _ := a.store.snapshot()
	if len(savedB) == 0 || len(savedA) == 0 {
		t.Fatalf("checkpoints before the kill: A %v, B %v; both members should have worked", savedA, savedB)
	}

	// Kill B mid-stream: it dies right after its next insert of rows, before
	// the checkpoint that would cover them; then its shutdown (finish) cannot
	// write anything either.
	kill.armed.Store(true)
	publish(msgs[part1:part2a])
	wait("B to be killed mid-stream", kill.fired)
	killedAt := time.Since(began)
	b.cancel()
	select {
	case <-b.done:
	case <-time.After(max(time.Until(deadline), time.Second)):
		t.Fatal("the killed member's Run did not return")
	}
	writtenB, _, savedB, _ := b.store.snapshot()
	uncheckpointed := map[int32]span{} // B's rows no checkpoint covers
	for p, sp := range writtenB {
		if sp.max >= savedB[p] {
			uncheckpointed[p] = sp
		}
	}
	if len(uncheckpointed) == 0 {
		t.Fatalf("B wrote %v and checkpointed %v: no rows past its checkpoint, the kill landed nowhere", writtenB, savedB)
	}
	if n := events("pair"); n >= uint64(good) {
		t.Fatalf("%d of %d events already written at the kill: not mid-stream", n, good)
	}

	// The rest arrives while A takes over.
	publish(msgs[part2a:])
	wait("the survivor to write and checkpoint every event", func() bool {
		return events("pair") == uint64(good) && checkpointedThrough(t, srv, "pair", group) == uint64(total)
	})
	tookOver := time.Since(began)

	// The reference: one sessionizer alone reads the same log.
	single := testenv.OpenStore(t, srv, "single")
	ref := startMember(t, newProbeStore(single, newKillSwitch(), false), siteRegistry(t, single), brokers, "single")
	wait("the single instance to write and checkpoint every event", func() bool {
		return events("single") == uint64(good) && checkpointedThrough(t, srv, "single", "single") == uint64(total)
	})
	ref.cancel()
	<-ref.done

	want, got := sessionFigures(t, srv, "single"), sessionFigures(t, srv, "pair")
	if got != want {
		t.Errorf("session figures of the pair differ from a single instance:\n%s", diffLines(got, want))
	}
	checkViewAgainstEvents(t, srv, "pair")
	checkViewAgainstEvents(t, srv, "single")
	wantP, gotP := eventPlacements(t, srv, "single"), eventPlacements(t, srv, "pair")
	if gotP != wantP {
		t.Errorf("event placements of the pair differ from a single instance:\n%s", diffLines(gotP, wantP))
	}
	if n := testenv.ClientQuery(t, srv, "pair", "SELECT count() FROM (SELECT event_id FROM events GROUP BY event_id HAVING uniqExact(session_id) > 1)"); n != "0" {
		t.Errorf("%s events were placed in two sessions", n)
	}

	// The history exercises the rules, so equal figures mean something.
	shape := testenv.ClientQuery(t, srv, "single", `SELECT count(), uniqExact(start_reason), sum(late_events) > 0,
 sum(bridging_events) > 0, countIf(start_reason = 'max_length') > 0 FROM sessions`)
	if f := strings.Fields(shape); len(f) != 5 || testenv.Uint(t, f[0]) < 500 || f[1] != "3" || f[2] != "1" || f[3] != "1" || f[4] != "1" {
		t.Errorf("reference sessions (count, reasons, has late, has bridging, has max length) = %q: the history is too tame", shape)
	}
	t.Logf("reference: %d events, sessions (count, reasons, has late, has bridging, has max length) = %q", good, shape)

	// The takeover really happened: A loaded B's last checkpoint for each of
	// B's partitions and rewrote the rows B had written past it.
	_, afterA, _, loadedA := a.store.snapshot()
	for p := range ownedB {
		p := int32(p)
		want, ok := savedB[p]
		if !ok {
			want = -1
		}
		if got := loadedA[p]; got != want {
			t.Errorf("partition %d: after the kill A resumed from checkpoint %d, want B's last checkpoint %d", p, got, want)
		}
	}
	for p, sp := range uncheckpointed {
		got := afterA[p]
		if got.rows == 0 || got.min != savedB[p] || got.max < sp.max {
			t.Errorf("partition %d: B wrote offsets %d..%d past its checkpoint %d, but A rewrote %+v after the kill",
				p, max(sp.min, savedB[p]), sp.max, savedB[p], got)
		}
	}
	t.Logf("killed B at %.1fs (B's uncheckpointed rows %v, checkpoints %v); A took over and finished at %.1fs; whole test %.1fs",
		killedAt.Seconds(), uncheckpointed, savedB, tookOver.Seconds(), time.Since(began).Seconds())
}

func sortedKeys(m map[int]bool) []int {
	out := make([]int, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Ints(out)
	return out
}

// openSessionsGauge is what a member exports as
// teller_sessionizer_open_sessions, by partition label.
func (m *member) openSessionsGauge(t *testing.T) map[string]float64 {
	t.Helper()
	mfs, err := m.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != "teller_sessionizer_open_sessions" {
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

// When a rebalance moves a partition to another member, the member that
// released it stops reporting its open sessions: summed over the group,
// teller_sessionizer_open_sessions is the number of sessions held in memory.
// (Found while writing the two-member scenario: the releasing member keeps
// exporting the last value, so the group's sum counts those sessions twice.)
func TestRevokedPartitionsStopReportingOpenSessions(t *testing.T) {
	srv := testenv.ClickHouse(t)
	brokers := testenv.Kafka(t, topic, 4)
	msgs, _ := groupHistory(t)
	const group = "revoke"
	db := testenv.OpenStore(t, srv, "revoke")
	sites := siteRegistry(t, db)
	noKill := newKillSwitch()
	a := startMember(t, newProbeStore(db, noKill, false), sites, brokers, group)
	testenv.Eventually(t, 30*time.Second, "A to own the 4 partitions", func() bool { return len(a.partitions()) == 4 })
	producer := bus.NewProducer(bus.Config{Brokers: config.StringList(brokers), Topic: topic}, testenv.Logger(t))
	defer producer.Close()
	const n = 2000
	if err := producer.Publish(context.Background(), msgs[:n]...); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 30*time.Second, "A to checkpoint every partition", func() bool {
		return checkpointedThrough(t, srv, "revoke", group) == n
	})

	b := startMember(t, newProbeStore(db, noKill, false), sites, brokers, group)
	var ownedA, ownedB map[int]bool
	testenv.Eventually(t, 30*time.Second, "B to take two partitions from A", func() bool {
		ownedA, ownedB = a.partitions(), b.partitions()
		return len(ownedA) == 2 && len(ownedB) == 2
	})
	// The truth: the open sessions of each partition's latest checkpoint
	// (nothing new arrives, so it is every partition's state now).
	want := map[string]float64{}
	var wantSum float64
	for _, line := range strings.Split(testenv.ClientQuery(t, srv, "revoke", `SELECT partition, argMax(open_sessions, written_ms)
 FROM sessionizer_checkpoints WHERE consumer_group = 'revoke' GROUP BY partition`), "\n") {
		f := strings.Fields(line)
		want[f[0]] = float64(testenv.Uint(t, f[1]))
		wantSum += want[f[0]]
	}
	// Both members report their own partitions once they have flushed in
	// the new generation.
	testenv.Eventually(t, 30*time.Second, "both members to report the partitions they own", func() bool {
		ga, gb := a.openSessionsGauge(t), b.openSessionsGauge(t)
		for p := range ownedA {
			if v, ok := ga[fmt.Sprint(p)]; !ok || v != want[fmt.Sprint(p)] {
				return false
			}
		}
		for p := range ownedB {
			if v, ok := gb[fmt.Sprint(p)]; !ok || v != want[fmt.Sprint(p)] {
				return false
			}
		}
		return true
	})
	ga, gb := a.openSessionsGauge(t), b.openSessionsGauge(t)
	var sum float64
	for _, v := range ga {
		sum += v
	}
	for _, v := range gb {
		sum += v
	}
	if sum != wantSum {
		t.Errorf("teller_sessionizer_open_sessions summed over the group is %v, want %v (the checkpoints' open sessions %v);\n"+
			"A owns %v and exports %v; B owns %v and exports %v: a member still reports partitions it released",
			sum, wantSum, want, sortedKeys(ownedA), ga, sortedKeys(ownedB), gb)
	}
}
