package loadgen_test

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/teller-analytics/teller/internal/chlocal"
	"github.com/teller-analytics/teller/internal/loadgen"
	"github.com/teller-analytics/teller/internal/testenv"
	"github.com/teller-analytics/teller/pkg/app"
	"github.com/teller-analytics/teller/pkg/bus"
	"github.com/teller-analytics/teller/pkg/config"
	"github.com/teller-analytics/teller/pkg/importer"
	"github.com/teller-analytics/teller/pkg/sessionizer"
	"github.com/teller-analytics/teller/pkg/site"
)

const importTopic = "teller.import"

// A week of history imported while live traffic runs on the same site: the
// collector publishes the history to its own topic, a second sessionizer
// group sessionizes it (the same code, -kafka-topic and -kafka-group only),
// and afterwards ClickHouse holds exactly the sessions the history planned,
// visit by visit (page views, events, entry and exit page), while the live
// traffic is exactly what it would be alone: every event once, one session
// per browser, none late, none bridging.
// importPipeline is a collector with the import endpoint, the live
// sessionizer and a second sessionizer group on the import topic, as
// pkg/app wires them, on a local ClickHouse and a kfake broker.
type importPipeline struct {
	collector, token string
	ch               *chlocal.Server
}

const historyDB = "teller_history"

func startImportPipeline(t testing.TB, scfg sessionizer.Config) *importPipeline {
	t.Helper()
	ch := testenv.ClickHouse(t)
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(4, topic, importTopic))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Close)
	brokers := config.StringList(cluster.ListenAddrs())
	const db = historyDB
	store := testenv.OpenStore(t, ch, db)
	ctx, cancel := context.WithCancel(context.Background())
	if err := store.SaveSite(ctx, site.Site{ID: "shop", Domains: []string{"localhost"}, Timezone: "UTC"}); err != nil {
		t.Fatal(err)
	}
	secret, _, err := importer.NewTokens(store.Conn()).Create(ctx, "shop", "history", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	storeCfg := testenv.StoreConfig(ch, db)
	live := bus.Config{Brokers: brokers, Topic: topic, Partitions: 4, ReplicationFactor: 1}
	imp := live
	imp.Topic = importTopic
	icfg := scfg
	icfg.Group = "teller-import"
	log := testenv.Logger(t)

	var collectorURL string
	ready := []chan struct{}{make(chan struct{}), make(chan struct{}), make(chan struct{})}
	errs := make(chan error, 3)
	var wg sync.WaitGroup
	run := func(f func() error) {
		wg.Add(1)
		go func() { defer wg.Done(); errs <- f() }()
	}
	run(func() error {
		return app.RunCollector(ctx, app.CollectorConfig{Listen: "127.0.0.1:0", Store: storeCfg, Kafka: live,
			CookieSecrets: config.StringList{"loadgen-test-cookie-secret-0123"}, CreateTopic: true,
			Import: app.ImportConfig{Topic: importTopic, Horizon: 30 * 24 * time.Hour}},
			log.With("service", "collector"), app.Hooks{Ready: func(a net.Addr) { collectorURL = "http://" + a.String(); close(ready[0]) }})
	})
	run(func() error {
		return app.RunSessionizer(ctx, app.SessionizerConfig{Listen: "127.0.0.1:0", Store: storeCfg, Kafka: live, Sessionizer: scfg},
			log.With("service", "sessionizer"), app.Hooks{Ready: func(net.Addr) { close(ready[1]) }})
	})
	run(func() error {
		return app.RunSessionizer(ctx, app.SessionizerConfig{Listen: "127.0.0.1:0", Store: storeCfg, Kafka: imp, Sessionizer: icfg},
			log.With("service", "import-sessionizer"), app.Hooks{Ready: func(net.Addr) { close(ready[2]) }})
	})
	for _, r := range ready {
		select {
		case <-r:
		case err := <-errs:
			t.Fatalf("service failed to start: %v", err)
		case <-time.After(60 * time.Second):
			t.Fatal("services did not start within 60 s")
		}
	}
	t.Cleanup(func() { cancel(); wg.Wait() })

	return &importPipeline{collector: collectorURL, token: secret, ch: ch}
}

func TestHistoryImportBesideLiveTraffic(t *testing.T) {
	scfg := sessionizer.DefaultConfig()
	scfg.FlushInterval, scfg.CheckpointInterval = 200*time.Millisecond, time.Second
	p := startImportPipeline(t, scfg)
	collectorURL, secret, ch, db := p.collector, p.token, p.ch, historyDB
	verify := loadgen.VerifyConfig{Addr: ch.Addr(), Database: db, Timeout: 60 * time.Second}
	historyEnd := time.Now().Add(-time.Minute)
	var hrep *loadgen.HistoryReport
	var herr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		hrep, herr = loadgen.RunHistory(context.Background(), loadgen.HistoryConfig{Collector: collectorURL, Site: "shop",
			PageOrigin: "http://localhost", Token: secret, Span: 7 * 24 * time.Hour, End: historyEnd, Events: 20000,
			Visitors: 800, Batch: 1000, BotShare: 0.05, Seed: 7, Verify: verify}, testenv.Logger(t))
	}()
	lrep, err := loadgen.Run(context.Background(), loadgen.Config{Collector: collectorURL, Site: "shop", PageOrigin: "http://localhost",
		Visitors: 30, Duration: 3 * time.Second, Rate: 200, Concurrency: 4, Seed: 3, Verify: verify}, testenv.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	<-done
	if herr != nil {
		t.Fatal(herr)
	}
	var out strings.Builder
	hrep.Print(&out)
	lrep.Print(&out)
	t.Log("\n" + out.String())
	if err := hrep.Failure(); err != nil {
		t.Fatal(err)
	}
	if err := lrep.Failure(false); err != nil {
		t.Fatal(err)
	}
	c := hrep.Check
	if hrep.Accepted != 20000 || c == nil || !c.Match || c.WantSessions < 1000 {
		t.Fatalf("history: %d accepted, check %+v: want 20000 events in over 1000 exactly planned sessions", hrep.Accepted, c)
	}
	// Visitors came back: more sessions than visitors, each after a pause.
	if hrep.Sessions <= hrep.Visitors {
		t.Errorf("%d sessions of %d visitors: want returning visitors", hrep.Sessions, hrep.Visitors)
	}

	query := func(q string) string { return testenv.ClientQuery(t, ch, db, q) }
	since := fmt.Sprintf("first_ms >= %d", lrep.Started.UnixMilli())
	// Live: one session per browser (all visits within 30 min), every one a
	// first visit, nothing late or bridging: as without an import.
	if got, want := query("SELECT count(), countIf(start_reason = 'first_visit'), sum(late_events), sum(bridging_events) FROM sessions WHERE site_id = 'shop' AND "+since),
		fmt.Sprintf("%d\t%d\t0\t0", lrep.Visitors, lrep.Visitors); got != want {
		t.Errorf("live sessions (count, first visits, late, bridging): %s, want %s", got, want)
	}
	// History: nothing late, and returning visitors' sessions opened by inactivity.
	hist := fmt.Sprintf("first_ms <= %d", historyEnd.UnixMilli())
	if got := query("SELECT sum(late_events), sum(bridging_events), countIf(start_reason = 'inactivity') > 0 FROM sessions WHERE site_id = 'shop' AND " + hist); got != "0\t0\t1" {
		t.Errorf("history sessions (late, bridging, some by inactivity): %s", got)
	}
	// Each imported visitor's first session is a first visit, the later ones not.
	if got := query("SELECT countIf(start_reason = 'first_visit') = uniqExact(visitor_id), count() > uniqExact(visitor_id) FROM sessions WHERE site_id = 'shop' AND " + hist); got != "1\t1" {
		t.Errorf("history first visits (one per visitor, fewer than sessions): %s", got)
	}
	// Each group checkpointed its own topic.
	if got := query("SELECT groupUniqArray(consumer_group) FROM sessionizer_checkpoints WHERE topic = '" + importTopic + "'"); got != "['teller-import']" {
		t.Errorf("import topic checkpoints by %s", got)
	}

	t.Run("re-importing the same history counts nothing twice", func(t *testing.T) {
		again, err := loadgen.RunHistory(context.Background(), loadgen.HistoryConfig{Collector: collectorURL, Site: "shop",
			PageOrigin: "http://localhost", Token: secret, Span: 7 * 24 * time.Hour, End: historyEnd, Events: 20000,
			Visitors: 800, Batch: 1000, BotShare: 0.05, Seed: 7, Verify: verify}, testenv.Logger(t))
		if err != nil {
			t.Fatal(err)
		}
		if err := again.Failure(); err != nil {
			t.Fatal(err)
		}
	})
}
