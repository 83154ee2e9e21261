// Package collectorbench runs the two servers scripts/bench-collector.sh
// compares with an external load tool (wrk): the real collector (the engine
// and routes the service uses, kafka-go producer, kfake as the broker in the
// same process) and a bare net/http handler answering 204 with a cookie. Each
// runs in its own process, so each one's CPU is its own.
package collectorbench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/teller-analytics/teller/pkg/bus"
	"github.com/teller-analytics/teller/pkg/collector"
	"github.com/teller-analytics/teller/pkg/config"
	"github.com/teller-analytics/teller/pkg/identity"
	"github.com/teller-analytics/teller/pkg/service"
	"github.com/teller-analytics/teller/pkg/site"
	"github.com/teller-analytics/teller/pkg/snippet"
)

// Site, Key and Body are the request both servers get: a snippet page view
// on a registered site from a returning visitor.
const (
	SiteID = "bench"
	Key    = "collector-bench-key-0123456789"
	Body   = `{"site":"bench","kind":"pageview","url":"https://bench.example/pricing?utm_source=news","referrer":"https://www.google.com/","title":"Pricing","screen_width":1440,"screen_height":900}`
	Topic  = "bench.events"
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

// Collector serves the collector on l until ctx ends, with kfake (6
// partitions) as its broker.
func Collector(ctx context.Context, l net.Listener, log *slog.Logger) error {
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(6, Topic))
	if err != nil {
		return fmt.Errorf("collectorbench: start kfake: %w", err)
	}
	defer cluster.Close()
	p := bus.NewProducer(bus.Config{Brokers: config.StringList(cluster.ListenAddrs()), Topic: Topic}, log)
	defer p.Close()
	signer, _ := identity.NewSigner(Key)
	st := site.Site{ID: SiteID, Domains: []string{"bench.example"}}
	if err := st.Normalize(); err != nil {
		return err
	}
	c, err := collector.New(collector.Options{Publisher: p, Sites: oneSite{st}, Signer: signer, Snippet: snippet.Handler(), Logger: log})
	if err != nil {
		return err
	}
	r := service.NewEngine(log)
	c.Mount(r)
	return service.ServeListenerTimeouts(ctx, l, r, service.Timeouts{Read: 10e9, Write: 10e9, Idle: 60e9}, nil)
}

// Bare serves the bare handler on l until ctx ends: it reads the body and
// answers 204 with a cookie, the least a collector must do.
func Bare(ctx context.Context, l net.Listener) error {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		http.SetCookie(w, &http.Cookie{Name: identity.CookieName, Value: "v", Path: "/", MaxAge: 34128000, HttpOnly: true, SameSite: http.SameSiteLaxMode})
		w.WriteHeader(http.StatusNoContent)
	})
	return service.ServeListenerTimeouts(ctx, l, h, service.Timeouts{Read: 10e9, Write: 10e9, Idle: 60e9}, nil)
}
