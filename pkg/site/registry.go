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
// so that looking up a site on the hot path never waits for ClickHouse.
// A miss triggers an early refresh (at most once per MinRefresh), so a site
// added a moment ago is found within a second.
type Registry struct {
	lister     Lister
	log        *slog.Logger
	interval   time.Duration
	minRefresh time.Duration

	mu       sync.RWMutex
	sites    map[string]Site
	loaded   bool
	lastLoad time.Time
	kick     chan struct{}
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
		sites: map[string]Site{}, kick: make(chan struct{}, 1)}
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
		case <-r.kick:
			r.mu.RLock()
			wait := r.minRefresh - time.Since(r.lastLoad)
			r.mu.RUnlock()
			if wait > 0 {
				select {
				case <-ctx.Done():
					return
				case <-time.After(wait):
				}
			}
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

// Lookup returns the site with id. On a miss it asks for an early reload.
func (r *Registry) Lookup(id string) (Site, bool) {
	r.mu.RLock()
	s, ok := r.sites[id]
	r.mu.RUnlock()
	if !ok {
		select {
		case r.kick <- struct{}{}:
		default:
		}
	}
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
