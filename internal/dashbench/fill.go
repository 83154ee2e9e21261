package dashbench

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/teller-analytics/teller/pkg/app"
	"github.com/teller-analytics/teller/pkg/bus"
	"github.com/teller-analytics/teller/pkg/config"
	"github.com/teller-analytics/teller/pkg/event"
	"github.com/teller-analytics/teller/pkg/service"
	"github.com/teller-analytics/teller/pkg/store"
)

// FillOptions configure a Fill.
type FillOptions struct {
	// Traffic is the data set.
	Traffic Traffic
	// Store is the ClickHouse the sessionizer writes to. Its database must
	// hold no events yet: a data set is written once.
	Store store.Config
	// Partitions of the events topic; default 6.
	Partitions int
	// Backlog bounds the messages published but not yet written by the
	// sessionizer: publishing waits beyond it, and the broker drops what
	// the sessionizer has checkpointed, so memory stays bounded at any
	// size. Default 2,000,000.
	Backlog int
	// Logger receives progress; default discards.
	Logger *slog.Logger
	// Progress is the interval of progress lines; 0 for none.
	Progress time.Duration
}

// FillResult is what a Fill did.
type FillResult struct {
	// Events are the distinct events written; Messages the Kafka messages
	// (events plus duplicates).
	Events, Messages int
	// Published is how long publishing took, Elapsed the whole run from
	// the first message published to the last row written (they overlap).
	Published, Elapsed time.Duration
	// SessionizerJoin is how long the sessionizer took to join its group.
	SessionizerJoin time.Duration
}

// EventsPerSecond is the ingest rate: messages over the whole run.
func (r FillResult) EventsPerSecond() float64 { return float64(r.Messages) / r.Elapsed.Seconds() }

// topic is the events topic of a fill.
const topic = "teller.events"

// Fill registers the data set's sites, publishes its events to a kfake
// broker with pkg/bus's producer (as the collector does: key = visitor,
// hashing balancer, acks from all replicas) in per-partition time order, and
// runs the sessionizer as pkg/app wires it, with its flags' defaults, until
// it has written every message.
func Fill(ctx context.Context, o FillOptions) (FillResult, error) {
	var res FillResult
	if o.Partitions == 0 {
		o.Partitions = 6
	}
	if o.Backlog == 0 {
		o.Backlog = 2_000_000
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	log := o.Logger
	t, err := o.Traffic.withDefaults()
	if err != nil {
		return res, err
	}
	db, err := store.Open(ctx, o.Store, log)
	if err != nil {
		return res, err
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		return res, err
	}
	var existing uint64
	if err := db.Conn().QueryRow(ctx, "SELECT count() FROM events").Scan(&existing); err != nil {
		return res, fmt.Errorf("dashbench: count events: %w", err)
	}
	if existing > 0 {
		return res, fmt.Errorf("dashbench: database %s already holds %d events; fill another database (-database) or drop this one", o.Store.Database, existing)
	}
	sites, _ := t.SiteList()
	for _, s := range sites {
		if err := db.SaveSite(ctx, s); err != nil {
			return res, fmt.Errorf("dashbench: register site %s: %w", s.ID, err)
		}
	}

	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(int32(o.Partitions), topic))
	if err != nil {
		return res, fmt.Errorf("dashbench: start kfake: %w", err)
	}
	defer cluster.Close()
	kafkaCfg := bus.Config{Brokers: config.StringList(cluster.ListenAddrs()), Topic: topic}

	// The sessionizer exactly as cmd/sessionizer runs it, flags' defaults.
	var sc app.SessionizerConfig
	sc.RegisterFlags(flag.NewFlagSet("sessionizer", flag.ContinueOnError))
	sc.Listen = "127.0.0.1:0"
	sc.Store = o.Store
	sc.Kafka = kafkaCfg
	sc.Log = service.LogConfig{Level: "warn", Format: "text"}
	reg := service.NewRegistry()
	sctx, stopSessionizer := context.WithCancel(ctx)
	defer stopSessionizer()
	ready := make(chan struct{})
	var readyOnce sync.Once
	serr := make(chan error, 1)
	go func() {
		serr <- app.RunSessionizer(sctx, sc, log.With("service", "sessionizer"), app.Hooks{Registry: reg,
			Ready: func(net.Addr) { readyOnce.Do(func() { close(ready) }) }})
	}()
	select {
	case <-ready:
	case err := <-serr:
		return res, fmt.Errorf("dashbench: sessionizer stopped before serving: %w", err)
	case <-ctx.Done():
		return res, ctx.Err()
	}

	admin, err := kgo.NewClient(kgo.SeedBrokers(cluster.ListenAddrs()...))
	if err != nil {
		return res, fmt.Errorf("dashbench: kafka admin client: %w", err)
	}
	defer admin.Close()
	producer := bus.NewProducer(kafkaCfg, log)
	defer producer.Close()

	written := func() (int, error) { return sessionizerRows(reg) }
	waitBacklog := func(limit int) error {
		for {
			n, err := written()
			if err != nil {
				return err
			}
			if res.Messages-n <= limit {
				return nil
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case err := <-serr:
				return fmt.Errorf("dashbench: sessionizer stopped: %w", err)
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	start := time.Now()
	lastProgress := start
	const chunk = 20_000
	res.Events, err = t.Generate(func(day time.Time, events []event.Event) error {
		msgs := make([]bus.Message, 0, chunk)
		for i := range events {
			value, err := event.Marshal(&events[i])
			if err != nil {
				return err
			}
			msgs = append(msgs, bus.Message{Key: events[i].Visitor[:], Value: value})
			if len(msgs) == chunk || i == len(events)-1 {
				// One call at a time: the writer keeps each partition's
				// messages in the order given, so partitions stay in time order.
				if err := producer.Publish(ctx, msgs...); err != nil {
					return err
				}
				res.Messages += len(msgs)
				msgs = msgs[:0]
				if err := waitBacklog(o.Backlog); err != nil {
					return err
				}
			}
		}
		if err := trim(ctx, admin, db, sc.Sessionizer.Group, o.Partitions); err != nil {
			return err
		}
		if o.Progress > 0 && time.Since(lastProgress) >= o.Progress {
			lastProgress = time.Now()
			n, _ := written()
			log.Info("filling", "day", day.Format(time.DateOnly), "published", res.Messages, "written", n,
				"events_per_s", int(float64(n)/time.Since(start).Seconds()))
		}
		return nil
	})
	if err != nil {
		return res, fmt.Errorf("dashbench: publish: %w", err)
	}
	res.Published = time.Since(start)
	if err := waitBacklog(0); err != nil {
		return res, err
	}
	res.Elapsed = time.Since(start)
	// A clean stop flushes and checkpoints every partition.
	stopSessionizer()
	if err := <-serr; err != nil {
		return res, fmt.Errorf("dashbench: sessionizer: %w", err)
	}
	var distinct uint64
	if err := db.Conn().QueryRow(ctx, "SELECT uniqExact(event_id) FROM events").Scan(&distinct); err != nil {
		return res, fmt.Errorf("dashbench: count events: %w", err)
	}
	if int(distinct) != res.Events {
		return res, fmt.Errorf("dashbench: ClickHouse holds %d distinct events, %d were published", distinct, res.Events)
	}
	return res, nil
}

func sessionizerRows(reg *prometheus.Registry) (int, error) {
	families, err := reg.Gather()
	if err != nil {
		return 0, err
	}
	var n float64
	found := false
	for _, f := range families {
		switch f.GetName() {
		// Every message ends as a written row, a rejection, or a redelivery
		// its open session already held (not written again).
		case "teller_sessionizer_rows_written_total", "teller_sessionizer_messages_rejected_total",
			"teller_sessionizer_duplicate_events_total":
			found = true
			for _, m := range f.GetMetric() {
				n += m.GetCounter().GetValue()
			}
		}
	}
	if !found {
		return 0, errors.New("dashbench: the sessionizer's teller_sessionizer_rows_written_total metric is missing")
	}
	return int(n), nil
}

// trim deletes the records every partition's checkpoint has passed: the
// sessionizer never reads before its checkpoint again.
func trim(ctx context.Context, admin *kgo.Client, db *store.DB, group string, partitions int) error {
	req := kmsg.NewPtrDeleteRecordsRequest()
	req.TimeoutMillis = 10_000
	rt := kmsg.NewDeleteRecordsRequestTopic()
	rt.Topic = topic
	for p := range partitions {
		cp, ok, err := db.LoadCheckpoint(ctx, group, topic, int32(p))
		if err != nil {
			return err
		}
		if !ok || cp.NextOffset <= 0 {
			continue
		}
		rp := kmsg.NewDeleteRecordsRequestTopicPartition()
		rp.Partition, rp.Offset = int32(p), cp.NextOffset
		rt.Partitions = append(rt.Partitions, rp)
	}
	if len(rt.Partitions) == 0 {
		return nil
	}
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, admin)
	if err != nil {
		return fmt.Errorf("dashbench: delete consumed records: %w", err)
	}
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
				return fmt.Errorf("dashbench: delete consumed records of partition %s: %w", strconv.Itoa(int(p.Partition)), err)
			}
		}
	}
	return nil
}
