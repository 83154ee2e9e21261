package site

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

type fakeLister struct {
	mu    sync.Mutex
	sites []Site
	calls int
	err   error
}

func (f *fakeLister) ListSites(context.Context) ([]Site, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	return append([]Site(nil), f.sites...), f.err
}

func TestRegistryReloadsOnMissAtMostOncePerSecond(t *testing.T) {
	l := &fakeLister{sites: []Site{{ID: "a"}}}
	r := NewRegistry(l, time.Hour, nil)
	if err := r.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	l.sites = append(l.sites, Site{ID: "b"}) // added after the load
	if _, ok := r.Lookup("b"); !ok {
		t.Fatal("a site added after the last load is not found on its first lookup")
	}
	calls := l.calls
	for i := 0; i < 100; i++ {
		r.Lookup("unknown")
	}
	if l.calls != calls {
		t.Fatalf("misses reloaded %d times within a second", l.calls-calls)
	}
	r.missLoad = time.Now().Add(-2 * time.Second)
	l.err = errors.New("ClickHouse down")
	if _, ok := r.Lookup("a"); !ok {
		t.Fatal("a known site must be served from memory whatever ClickHouse does")
	}
	if _, ok := r.Lookup("c"); ok {
		t.Fatal("unknown site found")
	}
}
