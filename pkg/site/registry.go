package site

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// Lister loads every current site (pkg/store implements it).
type Lister interface {
	ListSites(ctx context.Context) ([]Site, error)
}

// Registry is an in-memory copy of the sites, refreshed in the background,
// so that looking up a known site never waits for ClickHouse. A miss reloads
// at once (at most once per second across all callers; the others see the
// miss), so a site added a moment ago is found on its first event.
type Registry struct {
	lister     Lister
	log        *slog.Logger
	interval   time.Duration
	minRefresh time.Duration

	mu       sync.RWMutex
	sites    map[string]Site
	loaded   bool
	lastLoad time.Time
	reload   sync.Mutex // held by the one caller reloading on a miss
	missLoad time.Time  // last reload caused by a miss; guarded by reload
}

// NewRegistry makes a registry that reloads every interval (default 30 s).
func NewRegistry(lister Lister, interval time.Duration, log *slog.Logger) *Registry {
	if interval <= 0 {
		interval = 30 * time.Second
	}
	if log == nil {
		log = slog.Default()
	}
	return &Registry{lister: lister, log: log, interval: interval, minRefresh: time.Second,
		sites: map[string]Site{}}
}

// Load reads the sites now.
func (r *Registry) Load(ctx context.Context) error {
	list, err := r.lister.ListSites(ctx)
	if err != nil {
		return fmt.Errorf("site registry: %w", err)
	}
	m := make(map[string]Site, len(list))
	for _, s := range list {
		m[s.ID] = s
	}
	r.mu.Lock()
	r.sites, r.loaded, r.lastLoad = m, true, time.Now()
	r.mu.Unlock()
	return nil
}

// Run reloads until ctx ends. Errors are logged; the last good copy stays.
func (r *Registry) Run(ctx context.Context) {
	t := time.NewTicker(r.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := r.Load(ctx); err != nil && ctx.Err() == nil {
			r.log.Warn("reloading sites failed; keeping the previous list", "err", err)
		}
	}
}

// Loaded reports whether at least one load succeeded (readiness).
func (r *Registry) Loaded() bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.loaded
}

// Lookup returns the site with id, reloading on a miss unless a miss
// already reloaded within the last second.
func (r *Registry) Lookup(id string) (Site, bool) {
	r.mu.RLock()
	s, ok := r.sites[id]
	r.mu.RUnlock()
	if ok || !r.reload.TryLock() {
		return s, ok
	}
	defer r.reload.Unlock()
	if time.Since(r.missLoad) < r.minRefresh {
		return s, false
	}
	r.missLoad = time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := r.Load(ctx); err != nil {
		r.log.Warn("reloading sites after a miss failed", "site", id, "err", err)
		return s, false
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	s, ok = r.sites[id]
	return s, ok
}

// All returns the sites in no particular order.
func (r *Registry) All() []Site {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]Site, 0, len(r.sites))
	for _, s := range r.sites {
		out = append(out, s)
	}
	return out
}
