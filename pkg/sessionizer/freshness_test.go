package sessionizer

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/teller-analytics/teller/internal/testenv"
	"github.com/teller-analytics/teller/pkg/bus"
	"github.com/teller-analytics/teller/pkg/config"
	"github.com/teller-analytics/teller/pkg/event"
)

// Every event row written is observed once in the freshness histogram, with
// the time since the collector received it: events received 1.5 s before
// they were published land at or above 1.5 s, and within a minute.
func TestEventFreshnessObservedPerWrittenRow(t *testing.T) {
	srv := testenv.ClickHouse(t)
	brokers := testenv.Kafka(t, topic, 2)
	db := testenv.OpenStore(t, srv, "freshness")
	sites := siteRegistry(t, db)
	p := bus.NewProducer(bus.Config{Brokers: config.StringList(brokers), Topic: topic}, testenv.Logger(t))
	defer p.Close()
	const n = 30
	received := time.Now().Add(-1500 * time.Millisecond).UnixMilli()
	var msgs []bus.Message
	for i := 0; i < n; i++ {
		v := uuid.New()
		ev := event.Event{V: 1, ID: uuid.New(), Site: "s", Visitor: v, NewVisitor: true, ReceivedMs: received,
			Kind: event.KindPageview, Name: "pageview", URL: fmt.Sprintf("https://s.example/p%d", i)}
		b, err := event.Marshal(&ev)
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, bus.Message{Key: v[:], Value: b})
	}
	// A duplicate is not written again, so it is not observed either.
	msgs = append(msgs, msgs[0])
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
	testenv.Eventually(t, 60*time.Second, "every row written", func() bool {
		return testenv.ClientQuery(t, srv, "freshness", "SELECT count() FROM events") == fmt.Sprint(n)
	})
	cancel()
	<-done

	var h *dto.Histogram
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == "teller_sessionizer_event_freshness_seconds" {
			h = f.GetMetric()[0].GetHistogram()
		}
	}
	if h == nil {
		t.Fatal("teller_sessionizer_event_freshness_seconds not registered")
	}
	if h.GetSampleCount() != n {
		t.Errorf("%d observations, want one per written row (%d)", h.GetSampleCount(), n)
	}
	for _, b := range h.GetBucket() {
		if b.GetUpperBound() < 1.5 && b.GetCumulativeCount() != 0 {
			t.Errorf("%d rows fresher than %v s, but every event was received 1.5 s before it was published", b.GetCumulativeCount(), b.GetUpperBound())
		}
	}
	if mean := h.GetSampleSum() / float64(h.GetSampleCount()); mean < 1.5 || mean > 60 {
		t.Errorf("mean freshness %.3f s, want between 1.5 s and a minute", mean)
	}
}
