package app_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/teller-analytics/teller/internal/testenv"
	"github.com/teller-analytics/teller/pkg/app"
	"github.com/teller-analytics/teller/pkg/bus"
	"github.com/teller-analytics/teller/pkg/config"
	"github.com/teller-analytics/teller/pkg/event"
	"github.com/teller-analytics/teller/pkg/site"
)

// The collector as RunCollector wires it with -spool-dir: it creates the
// events and dead-letter topics, accepts an event through the spool, keeps a
// refused one as a dead letter, reports the spool in /readyz, and on a
// graceful stop flushes the spool to Kafka before returning.
func TestCollectorWithSpool(t *testing.T) {
	ch := testenv.ClickHouse(t)
	db := testenv.OpenStore(t, ch, "spool")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := db.SaveSite(ctx, site.Site{ID: "shop", Domains: []string{"shop.example"}, Timezone: "UTC"}); err != nil {
		t.Fatal(err)
	}
	brokers := testenv.Kafka(t, "unrelated", 1)
	kcfg := bus.Config{Brokers: config.StringList(brokers), Topic: "ev", DeadLetterTopic: "ev.invalid", Partitions: 1, ReplicationFactor: 1}
	cfg := app.CollectorConfig{Listen: "127.0.0.1:0", Store: testenv.StoreConfig(ch, "spool"), Kafka: kcfg,
		CookieSecrets: config.StringList{"app-spool-test-cookie-secret-0123"}, CreateTopic: true,
		Spool: app.SpoolConfig{Dir: t.TempDir(), MaxBytes: 8 << 20, ReadyBytes: 1 << 20, Fsync: "always"}}
	ready := make(chan string, 1)
	errc := make(chan error, 1)
	go func() {
		errc <- app.RunCollector(ctx, cfg, testenv.Logger(t), app.Hooks{Ready: func(a net.Addr) { ready <- "http://" + a.String() }})
	}()
	var base string
	select {
	case base = <-ready:
	case err := <-errc:
		t.Fatal(err)
	case <-time.After(60 * time.Second):
		t.Fatal("collector did not start")
	}
	for body, want := range map[string]int{
		`{"site":"shop","kind":"pageview","url":"https://shop.example/"}`: http.StatusAccepted,
		`{"site":"shop","kind":"pageview","url":"nope"}`:                  http.StatusBadRequest,
	} {
		resp, err := http.Post(base+"/api/event", "text/plain", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("%s: %d %s", body, resp.StatusCode, b)
		}
	}
	resp, err := http.Get(base + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("readyz %d", resp.StatusCode)
	}
	cancel()
	if err := <-errc; err != nil {
		t.Fatalf("graceful stop: %v", err)
	}
	read := func(topic string) []byte {
		r := kafka.NewReader(kafka.ReaderConfig{Brokers: brokers, Topic: topic, Partition: 0, MaxWait: 100 * time.Millisecond})
		defer r.Close()
		rctx, rcancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer rcancel()
		m, err := r.ReadMessage(rctx)
		if err != nil {
			t.Fatalf("topic %s: %v", topic, err)
		}
		return m.Value
	}
	if ev, err := event.Unmarshal(read("ev")); err != nil || ev.Site != "shop" {
		t.Fatalf("event: %+v %v", ev, err)
	}
	var d bus.DeadLetter
	if err := json.Unmarshal(read("ev.invalid"), &d); err != nil || d.Reason != "url" || d.Site != "shop" {
		t.Fatalf("dead letter: %+v %v", d, err)
	}
}
