package resessionize

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/teller-analytics/teller/internal/chlocal"
	"github.com/teller-analytics/teller/internal/testenv"
	"github.com/teller-analytics/teller/pkg/bus"
	"github.com/teller-analytics/teller/pkg/config"
	"github.com/teller-analytics/teller/pkg/event"
	"github.com/teller-analytics/teller/pkg/session"
	"github.com/teller-analytics/teller/pkg/sessionizer"
	"github.com/teller-analytics/teller/pkg/site"
	"github.com/teller-analytics/teller/pkg/store"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

const topic = "events"

// sites of the history: one in UTC, one whose midnight is not UTC's.
var sites = []site.Site{
	{ID: "shop", Name: "Shop", Domains: []string{"shop.example"}, Timezone: "UTC"},
	{ID: "blog", Name: "Blog", Domains: []string{"blog.example"}, Timezone: "America/New_York"},
}

// history is a deterministic log: visitors on two sites with visits 1 to
// 50 minutes apart (some split under a 30 min gap, more under 10 min),
// evenings that cross midnight, campaign links mid-visit, events that
// arrive out of order (some beyond the allowed disorder), an immediate
// redelivery and an undecodable message. round shifts it in time, so a
// second round continues the first.
func history(t *testing.T, round int) []bus.Message {
	t.Helper()
	base := time.Date(2026, 4, 1, 21, 0, 0, 0, time.UTC).UnixMilli() + int64(round)*int64(36*time.Hour/time.Millisecond)
	ua := "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
	// Messages go out in the order they were sent (sentMs), all visitors
	// interleaved, as a collector publishes them: a partition's clock then
	// follows real time, and only the events held back arrive late.
	type sent struct {
		ms  int64
		msg bus.Message
	}
	var out []sent
	add := func(ev event.Event, sentMs int64) {
		b, err := event.Marshal(&ev)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, sent{sentMs, bus.Message{Key: ev.Visitor[:], Value: b}})
	}
	for v := 0; v < 48; v++ {
		st := sites[v%2]
		visitor := uuid.NewSHA1(uuid.NameSpaceOID, []byte(fmt.Sprint("visitor", v)))
		at := base + int64(v)*97_000
		var held *event.Event
		for i := 0; i < 14; i++ {
			at += int64((i*7+v*3)%50+1) * 60_000
			url := fmt.Sprintf("https://%s/p%d", st.Domains[0], (i+v)%6)
			if (i+v)%9 == 4 {
				url += fmt.Sprintf("?utm_source=news&utm_campaign=c%d", (i+v)%3)
			}
			ev := event.Event{V: 1, ID: uuid.NewSHA1(uuid.NameSpaceOID, []byte(fmt.Sprint(round, "/", v, "/", i))), Site: st.ID,
				Visitor: visitor, NewVisitor: round == 0 && i == 0, ReceivedMs: at, Kind: event.KindPageview, Name: "pageview",
				URL: url, Referrer: "https://news.ycombinator.com/", UserAgent: ua}
			if i%5 == 3 {
				ev.Kind, ev.Name = event.KindEngagement, "engagement"
			}
			switch {
			case (i+v)%11 == 5 && held == nil:
				held = &ev // sent after the next event: out of order
				continue
			case (i+v)%13 == 7:
				add(ev, at)
				add(ev, at) // redelivered at once
				continue
			}
			add(ev, at)
			if held != nil {
				add(*held, at)
				held = nil
			}
		}
		if held != nil {
			add(*held, at+3*60_000) // beyond the allowed disorder
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].ms < out[j].ms })
	msgs := make([]bus.Message, 0, len(out)+1)
	for _, o := range out {
		msgs = append(msgs, o.msg)
	}
	msgs = append(msgs, bus.Message{Key: []byte("x"), Value: []byte("{not json")})
	return msgs
}

func publish(t *testing.T, brokers []string, msgs []bus.Message) {
	t.Helper()
	p := bus.NewProducer(bus.Config{Brokers: config.StringList(brokers), Topic: topic}, testenv.Logger(t))
	defer p.Close()
	if err := p.Publish(context.Background(), msgs...); err != nil {
		t.Fatal(err)
	}
}

// distinctEvents is how many events the messages hold (each id once).
func distinctEvents(msgs []bus.Message) uint64 {
	ids := map[string]bool{}
	for _, m := range msgs {
		if ev, err := event.Unmarshal(m.Value); err == nil {
			ids[ev.ID.String()] = true
		}
	}
	return uint64(len(ids))
}

func openSite(t testing.TB, srv *chlocal.Server, name string) *store.DB {
	t.Helper()
	db := testenv.OpenStore(t, srv, name)
	for _, s := range sites {
		if err := db.SaveSite(context.Background(), s); err != nil {
			t.Fatal(err)
		}
	}
	return db
}

// sessionize runs the real sessionizer with rules on db until its events
// table holds want distinct events and every partition is checkpointed
// there, then stops it (a graceful stop, as the command requires).
func sessionize(t *testing.T, srv *chlocal.Server, db *store.DB, brokers []string, group string, rules session.Rules, want uint64) {
	t.Helper()
	reg := site.NewRegistry(db, time.Minute, testenv.Logger(t))
	if err := reg.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	cfg := sessionizer.DefaultConfig()
	cfg.Group, cfg.Rules = group, rules
	cfg.FlushInterval, cfg.CheckpointInterval, cfg.ShutdownTimeout = 100*time.Millisecond, 200*time.Millisecond, 5*time.Second
	s, err := sessionizer.New(sessionizer.Options{Config: cfg, Kafka: bus.Config{Brokers: config.StringList(brokers), Topic: topic},
		Store: db, Sites: reg, Logger: testenv.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _ = s.Run(ctx) }()
	testenv.Eventually(t, 90*time.Second, "sessionizer to catch up", func() bool {
		return testenv.Uint(t, testenv.ClientQuery(t, srv, db.Database(), "SELECT uniqExact(event_id) FROM events")) == want
	})
	cancel()
	wg.Wait()
}

// tables is what the reports and the sessionizer see of a database: the
// sessions view, every event's session columns, the last version of every
// session, and the checkpoints' state.
func tables(t *testing.T, srv *chlocal.Server, db string) string {
	t.Helper()
	return strings.Join([]string{
		testenv.ClientQuery(t, srv, db, `SELECT * FROM sessions ORDER BY session_id`),
		testenv.ClientQuery(t, srv, db, `SELECT event_id, session_id, session_started_at, session_start_reason, is_session_start,
 is_late, is_bridging, kafka_partition, kafka_offset FROM events FINAL ORDER BY event_id, session_id`),
		testenv.ClientQuery(t, srv, db, `SELECT * FROM session_versions FINAL ORDER BY session_id`),
		testenv.ClientQuery(t, srv, db, `SELECT partition, argMax(next_offset, written_ms), argMax(clock_ms, written_ms),
 argMax(open_sessions, written_ms), hex(argMax(state, written_ms)) FROM sessionizer_checkpoints GROUP BY partition ORDER BY partition`),
	}, "\n--\n")
}

// rulesB are the new rules: a shorter gap and both splits on.
func rulesB() session.Rules {
	r := session.DefaultRules()
	r.Gap, r.SplitAtMidnight, r.SplitOnCampaign = 10*time.Minute, true, true
	return r
}

func options(t testing.TB, srv *chlocal.Server, db *store.DB, brokers []string, group string, rules session.Rules) Options {
	return Options{ClickHouse: testenv.StoreConfig(srv, db.Database()), Rules: rules, Group: group, Topic: topic,
		Members: KafkaGroup{Kafka: bus.Config{Brokers: config.StringList(brokers), Topic: topic}, Group: group},
		Logger:  testenv.Logger(t)}
}

// TestResessionizeEqualsLiveRun: sessionizing with rules A and then
// re-sessionizing to rules B gives exactly the tables a sessionizer with
// rules B from the start wrote, sessions, events' session columns and
// checkpoint states alike; a dry run changes nothing; a rerun changes
// nothing; the printed rollback restores rules A's tables; and after the
// switch a sessionizer with rules B continues exactly as the one that had
// them from the start.
func TestResessionizeEqualsLiveRun(t *testing.T) {
	ctx := context.Background()
	srv := testenv.ClickHouse(t)
	brokers := testenv.Kafka(t, topic, 3)
	round0 := history(t, 0)
	publish(t, brokers, round0)
	want := distinctEvents(round0)

	live := openSite(t, srv, "live")
	ref := openSite(t, srv, "ref")
	sessionize(t, srv, live, brokers, "g-live", session.DefaultRules(), want)
	sessionize(t, srv, ref, brokers, "g-ref", rulesB(), want)
	underA, underB := tables(t, srv, "live"), tables(t, srv, "ref")
	if underA == underB {
		t.Fatal("rules A and B give the same tables: the history does not test the replay")
	}

	// Dry run: the golden comparison, and nothing changed.
	var out, progress bytes.Buffer
	o := options(t, srv, live, brokers, "g-live", rulesB())
	o.DryRun, o.Out, o.Progress, o.Staging = true, &out, &progress, "live_dry"
	res, err := Run(ctx, live, o)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "dryrun.golden", out.String())
	// The rows read include the copies a sessionizer restart rewrote
	// before merges collapsed them, so done/total counts rows, not events.
	if !regexp.MustCompile(`resessionize: (\d+)/(\d+) events \(100\.0%\) in .*, \d+ events/s\n$`).MatchString(progress.String()) {
		t.Errorf("progress does not end at 100%%:\n%s", progress.String())
	}
	if got := tables(t, srv, "live"); got != underA {
		t.Fatalf("the dry run changed the live tables")
	}
	if n := testenv.ClientQuery(t, srv, "live", "SELECT count() FROM system.databases WHERE name = 'live_dry'"); n != "0" {
		t.Errorf("the dry run left its staging database")
	}

	// The switch.
	out.Reset()
	o = options(t, srv, live, brokers, "g-live", rulesB())
	// Small reads and batches: chunk and batch boundaries fall everywhere.
	o.Out, o.Staging, o.ChunkOffsets, o.MaxBatch = &out, "live_r1", 37, 50
	res, err = Run(ctx, live, o)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Switched {
		t.Fatal("not switched")
	}
	for _, w := range []string{"-session-gap=10m0s", "-split-at-midnight=true", "-split-on-campaign=true",
		"teller resessionize -rollback -staging-database live_r1", "DROP DATABASE `live_r1`"} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("output lacks %q:\n%s", w, out.String())
		}
	}
	if got := tables(t, srv, "live"); got != underB {
		diff(t, "re-sessionized live", got, "rules B from the start", underB)
	}

	// A rollback swaps only with a staging database of this database.
	wrong := o
	wrong.Staging = "ref"
	if err := Rollback(ctx, live, wrong); err == nil || !strings.Contains(err.Error(), "not made by a run on database live") {
		t.Fatalf("rollback with another install's database: err = %v, want a refusal", err)
	}

	// The printed rollback, and back.
	if err := Rollback(ctx, live, o); err != nil {
		t.Fatal(err)
	}
	if got := tables(t, srv, "live"); got != underA {
		diff(t, "rolled back", got, "rules A", underA)
	}
	if err := Rollback(ctx, live, o); err != nil {
		t.Fatal(err)
	}

	// The staging database of a switch holds the old tables: never reused.
	if _, err := Run(ctx, live, o); err == nil || !strings.Contains(err.Error(), "live_r1 exists") {
		t.Fatalf("a run into the last switch's staging database: err = %v, want a refusal", err)
	}

	// A rerun with the same rules writes the same tables.
	out.Reset()
	o.Staging = "live_r2"
	if _, err := Run(ctx, live, o); err != nil {
		t.Fatal(err)
	}
	if got := tables(t, srv, "live"); got != underB {
		diff(t, "rerun", got, "rules B from the start", underB)
	}

	// The sessionizers continue: the re-sessionized one from its new
	// checkpoints, the reference from its own.
	round1 := history(t, 1)
	publish(t, brokers, round1)
	want += distinctEvents(round1)
	sessionize(t, srv, live, brokers, "g-live", rulesB(), want)
	sessionize(t, srv, ref, brokers, "g-ref", rulesB(), want)
	if got, exp := tables(t, srv, "live"), tables(t, srv, "ref"); got != exp {
		diff(t, "continued after the switch", got, "rules B throughout", exp)
	}
}

// TestRefusesWhileSessionizerRuns: with a member in the group, nothing is
// read or written.
func TestRefusesWhileSessionizerRuns(t *testing.T) {
	srv := testenv.ClickHouse(t)
	brokers := testenv.Kafka(t, topic, 1)
	live := openSite(t, srv, "busy")
	reg := site.NewRegistry(live, time.Minute, testenv.Logger(t))
	if err := reg.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	cfg := sessionizer.DefaultConfig()
	cfg.Group = "g-busy"
	s, err := sessionizer.New(sessionizer.Options{Config: cfg, Kafka: bus.Config{Brokers: config.StringList(brokers), Topic: topic},
		Store: live, Sites: reg, Logger: testenv.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = s.Run(ctx) }()
	defer func() { cancel(); <-done }()
	testenv.Eventually(t, 30*time.Second, "sessionizer to join", func() bool { return s.Ready(ctx) == nil })

	o := options(t, srv, live, brokers, "g-busy", rulesB())
	o.Staging = "busy_r"
	_, err = Run(context.Background(), live, o)
	if err == nil || !strings.Contains(err.Error(), "live members") {
		t.Fatalf("err = %v, want a refusal naming the live members", err)
	}
	if n := testenv.ClientQuery(t, srv, "busy", "SELECT count() FROM system.databases WHERE name = 'busy_r'"); n != "0" {
		t.Errorf("a refused run created its staging database")
	}
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("%s differs (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// diff reports the first lines where two table dumps differ.
func diff(t *testing.T, gotName, got, wantName, want string) {
	t.Helper()
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	shown := 0
	for i := 0; i < max(len(g), len(w)) && shown < 8; i++ {
		var a, b string
		if i < len(g) {
			a = g[i]
		}
		if i < len(w) {
			b = w[i]
		}
		if a != b {
			t.Errorf("line %d:\n  %s: %s\n  %s: %s", i, gotName, a, wantName, b)
			shown++
		}
	}
	t.Fatalf("%s (%d lines) != %s (%d lines)", gotName, len(g), wantName, len(w))
}

// TestRefusesImportedHistory: a database whose events also came from an
// import topic cannot be replayed topic by topic, so it is refused.
func TestRefusesImportedHistory(t *testing.T) {
	srv := testenv.ClickHouse(t)
	brokers := testenv.Kafka(t, topic, 1)
	live := openSite(t, srv, "imported")
	if err := live.SaveCheckpoint(context.Background(), store.Checkpoint{Group: "teller-import", Topic: "teller.import", NextOffset: 10}); err != nil {
		t.Fatal(err)
	}
	o := options(t, srv, live, brokers, "g-imported", rulesB())
	o.Staging = "imported_r"
	_, err := Run(context.Background(), live, o)
	if err == nil || !strings.Contains(err.Error(), "topic teller.import (group teller-import)") {
		t.Fatalf("err = %v, want a refusal naming the import topic", err)
	}
}
