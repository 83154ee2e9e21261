// Package collectorbench runs the servers scripts/bench-collector.sh
// compares with an external load tool (wrk): the real collector (the engine
// and routes the service uses, the kafka-go producer, optionally the on-disk
// spool in front of it), a bare net/http handler answering 204 with a
// cookie, and kfake as the broker. Each runs in its own process, so each
// one's CPU is its own: the broker is not the collector's cost.
package collectorbench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/teller-analytics/teller/internal/kafkalocal"
	"github.com/teller-analytics/teller/pkg/app"
	"github.com/teller-analytics/teller/pkg/bus"
	"github.com/teller-analytics/teller/pkg/collector"
	"github.com/teller-analytics/teller/pkg/config"
	"github.com/teller-analytics/teller/pkg/identity"
	"github.com/teller-analytics/teller/pkg/service"
	"github.com/teller-analytics/teller/pkg/site"
	"github.com/teller-analytics/teller/pkg/snippet"
	"github.com/teller-analytics/teller/pkg/spool"
)

// Site, Key and Body are the request both servers get: a snippet page view
// on a registered site from a returning visitor.
const (
	SiteID = "bench"
	Key    = "collector-bench-key-0123456789"
	Body   = `{"site":"bench","kind":"pageview","url":"https://bench.example/pricing?utm_source=news","referrer":"https://www.google.com/","title":"Pricing","screen_width":1440,"screen_height":900}`
	// Origin is the page's origin, which the snippet's fetch sends.
	Origin = "https://bench.example"
	Topic  = "bench.events"
	// Partitions of the benchmark's topic: the product's default.
	Partitions = bus.DefaultPartitions
)

// Cookie is the returning visitor's signed cookie.
func Cookie() string {
	s, err := identity.NewSigner(Key)
	if err != nil {
		panic(err)
	}
	return identity.CookieName + "=" + s.Sign(identity.NewVisitorID())
}

type oneSite struct{ site.Site }

func (s oneSite) Lookup(id string) (site.Site, bool) { return s.Site, id == s.ID }
func (s oneSite) All() []site.Site                   { return []site.Site{s.Site} }

// Kafka serves the broker (internal/kafkalocal: one kfake broker, the
// benchmark's topic seeded) on 127.0.0.1:port (0: any free port) until ctx
// ends; ready receives its address.
func Kafka(ctx context.Context, port int, ready func(addr string)) error {
	addr, stop, err := kafkalocal.Start(ctx, net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), Partitions, Topic)
	if err != nil {
		return fmt.Errorf("collectorbench: %w", err)
	}
	defer stop()
	ready(addr)
	<-ctx.Done()
	return nil
}

// CollectorOptions choose what stands behind the collector.
type CollectorOptions struct {
	// Brokers is the Kafka to publish to; empty starts kfake in this
	// process (the set-up before the broker had a process of its own).
	Brokers []string
	// SpoolDir, if set, puts the on-disk spool in front of Kafka (the
	// collector's -spool-dir, with its default fsync policy).
	SpoolDir string
	// SpoolLinger is the drainer's pause after a short batch (0: the
	// product's default, collector.DefaultSpoolLinger).
	SpoolLinger time.Duration
	// SpoolFsync is the spool's fsync policy (empty: the product's
	// default, app.DefaultSpoolFsync).
	SpoolFsync string
}

// Collector serves the collector on l until ctx ends.
func Collector(ctx context.Context, l net.Listener, o CollectorOptions, log *slog.Logger) error {
	collector.TuneGC() // as app.RunCollector does
	brokers := o.Brokers
	if len(brokers) == 0 {
		cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(Partitions, Topic))
		if err != nil {
			return fmt.Errorf("collectorbench: start kfake: %w", err)
		}
		defer cluster.Close()
		brokers = cluster.ListenAddrs()
	}
	p := bus.NewProducer(bus.Config{Brokers: config.StringList(brokers), Topic: Topic}, log)
	defer p.Close()
	var pub collector.Publisher = p
	if o.SpoolDir != "" {
		policy := app.DefaultSpoolFsync
		if o.SpoolFsync != "" {
			policy = o.SpoolFsync
		}
		fsync, err := spool.ParseFsync(policy)
		if err != nil {
			return err
		}
		sp, err := spool.Open(spool.Options{Dir: o.SpoolDir, MaxBytes: app.DefaultSpoolMaxBytes, Fsync: fsync, Logger: log})
		if err != nil {
			return fmt.Errorf("collectorbench: %w", err)
		}
		defer sp.Close()
		spub := collector.NewSpoolPublisher(sp, p, collector.SpoolOptions{ReadyBytes: app.DefaultSpoolReadyBytes, Linger: o.SpoolLinger, Logger: log})
		dctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		done := make(chan struct{})
		go func() { spub.Run(dctx); close(done) }()
		defer func() { cancel(); <-done }()
		pub = spub
	}
	signer, _ := identity.NewSigner(Key)
	st := site.Site{ID: SiteID, Domains: []string{"bench.example"}}
	if err := st.Normalize(); err != nil {
		return err
	}
	// The product limits every client (-rate-client, -rate-browser); the
	// load tool is one client, so its buckets are as large as it needs,
	// but they are there and checked on every request.
	unlimited := collector.Rate{PerSecond: 1e9, Burst: 1e9}
	c, err := collector.New(collector.Options{Publisher: pub, Sites: oneSite{st}, Signer: signer, Snippet: snippet.Handler(), Logger: log,
		Limits: collector.Limits{Client: unlimited, ClientAgent: unlimited}, Registerer: prometheus.NewRegistry()})
	if err != nil {
		return err
	}
	r := service.NewEngine(log)
	c.Mount(r)
	return service.ServeListenerTimeouts(ctx, l, r, service.DefaultTimeouts, nil)
}

// Bare serves the bare handler on l until ctx ends: it reads the body and
// answers 204 with a cookie, the least a collector must do.
func Bare(ctx context.Context, l net.Listener) error {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		http.SetCookie(w, &http.Cookie{Name: identity.CookieName, Value: "v", Path: "/", MaxAge: 34128000, HttpOnly: true, SameSite: http.SameSiteLaxMode})
		w.WriteHeader(http.StatusNoContent)
	})
	return service.ServeListenerTimeouts(ctx, l, h, service.DefaultTimeouts, nil)
}
