package site

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/teller-analytics/teller/pkg/session"
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

func TestRegistryResolvesZonesWhenItLoads(t *testing.T) {
	l := &fakeLister{sites: []Site{
		{ID: "berlin", Timezone: "Europe/Berlin"},
		{ID: "also-berlin", Timezone: "Europe/Berlin"},
		{ID: "unset"},
		{ID: "tokyo", Timezone: "Asia/Tokyo"},
		{ID: "bad", Timezone: "Nowhere/Atlantis"}, // the store holds what this machine cannot load
	}}
	r := NewRegistry(l, time.Hour, nil)
	if err := r.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ id, zone string }{
		{"berlin", "Europe/Berlin"}, {"also-berlin", "Europe/Berlin"}, {"unset", "UTC"}, {"tokyo", "Asia/Tokyo"}, {"bad", "UTC"},
	} {
		loc, ok := r.Location(tt.id)
		if !ok || loc.String() != tt.zone {
			t.Errorf("Location(%q) = %v, %v; want %s", tt.id, loc, ok, tt.zone)
		}
	}
	// Resolved once per load: every lookup, and every site of a zone,
	// shares one *time.Location (time.LoadLocation makes a new one per call).
	a, _ := r.Location("berlin")
	b, _ := r.Location("berlin")
	c, _ := r.Location("also-berlin")
	if a != b || a != c {
		t.Error("the zone is loaded again per lookup or per site")
	}
	if loc, ok := r.Location("nosuch"); ok || loc != time.UTC {
		t.Errorf("unknown site: %v, %v", loc, ok)
	}

	// A zone changed in the store applies from the next load on.
	l.mu.Lock()
	l.sites[0].Timezone = "America/New_York"
	l.mu.Unlock()
	if loc, _ := r.Location("berlin"); loc.String() != "Europe/Berlin" {
		t.Fatalf("zone changed before the registry reloaded: %v", loc)
	}
	if err := r.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	if loc, _ := r.Location("berlin"); loc.String() != "America/New_York" {
		t.Fatalf("zone after reloading: %v, want America/New_York", loc)
	}
	if s, _ := r.Lookup("berlin"); s.Timezone != "America/New_York" {
		t.Fatalf("Lookup after reloading: %+v", s)
	}
}

func TestRegistryLocationReloadsOnMiss(t *testing.T) {
	l := &fakeLister{}
	r := NewRegistry(l, time.Hour, nil)
	if err := r.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	l.mu.Lock()
	l.sites = []Site{{ID: "new", Timezone: "Asia/Tokyo"}}
	l.mu.Unlock()
	if loc, ok := r.Location("new"); !ok || loc.String() != "Asia/Tokyo" {
		t.Fatalf("a site added after the last load: %v, %v", loc, ok)
	}
}

// The sessionizer's per-event view of a site: its zone and split options,
// resolved at a load; a change in the store applies from the next load on.
func TestRegistrySessionOptionsFollowLoads(t *testing.T) {
	l := &fakeLister{sites: []Site{
		{ID: "split", Timezone: "Europe/Berlin", Settings: Settings{MidnightSplit: SplitOn, CampaignSplit: SplitOff, SessionGap: time.Hour}},
		{ID: "plain"},
	}}
	r := NewRegistry(l, time.Hour, nil)
	if err := r.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	loc, opts, ok := r.Session("split")
	if !ok || loc.String() != "Europe/Berlin" || opts != (session.SiteOptions{Gap: time.Hour, SplitAtMidnight: session.On, SplitOnCampaign: session.Off}) {
		t.Fatalf("split: %v %+v %v", loc, opts, ok)
	}
	if _, opts, ok := r.Session("plain"); !ok || opts != (session.SiteOptions{}) {
		t.Fatalf("plain: %+v %v, want the partition's rules (Inherit)", opts, ok)
	}
	l.mu.Lock()
	l.sites[0].Settings.MidnightSplit = SplitDefault
	l.mu.Unlock()
	if _, opts, _ := r.Session("split"); opts.SplitAtMidnight != session.On {
		t.Fatal("a change in the store applied before the registry loaded it")
	}
	if err := r.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, opts, _ := r.Session("split"); opts.SplitAtMidnight != session.Inherit {
		t.Fatalf("after the load: %+v", opts)
	}
	if loc, _, ok := r.Session("nowhere"); ok || loc != time.UTC {
		t.Fatal("unknown site found")
	}
}
