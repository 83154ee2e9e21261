package site

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/teller-analytics/teller/pkg/session"
)

// Lister loads every current site (pkg/store implements it).
type Lister interface {
	ListSites(ctx context.Context) ([]Site, error)
}

// DefaultReloadInterval is how often a Registry reloads the sites unless
// told otherwise.
const DefaultReloadInterval = 30 * time.Second

// Registry is an in-memory copy of the sites, refreshed in the background,
// so that looking up a known site never waits for ClickHouse. A miss reloads
// at once (at most once per second across all callers; the others see the
// miss), so a site added a moment ago is found on its first event.
//
// Each site's time zone and session options are resolved when the sites
// load, not per lookup (time.LoadLocation reads the zone database). A zone
// or an option changed in the store therefore takes effect at the next load,
// for the events looked up after it.
type Registry struct {
	lister     Lister
	log        *slog.Logger
	interval   time.Duration
	minRefresh time.Duration

	// sites is the loaded copy, replaced whole by Load and read without a
	// lock: every event looks its site up, and a read lock's shared counter
	// was a microsecond per event on two busy cores (the collector's
	// profile in the whole pipeline). nil until the first load succeeds.
	sites    atomic.Pointer[map[string]entry]
	reload   sync.Mutex // held by the one caller reloading on a miss
	missLoad time.Time  // last reload caused by a miss; guarded by reload
}

// entry is one loaded site with its resolved zone and session options.
type entry struct {
	site Site
	loc  *time.Location
	opts session.SiteOptions
}

// NewRegistry makes a registry that reloads every interval
// (DefaultReloadInterval if not positive).
func NewRegistry(lister Lister, interval time.Duration, log *slog.Logger) *Registry {
	if interval <= 0 {
		interval = DefaultReloadInterval
	}
	if log == nil {
		log = slog.Default()
	}
	return &Registry{lister: lister, log: log, interval: interval, minRefresh: time.Second}
}

// Load reads the sites now and resolves their time zones. A zone that does
// not load (the store holds a name this machine's zone database lacks) is
// UTC, as Site.Location has it, with a warning.
func (r *Registry) Load(ctx context.Context) error {
	list, err := r.lister.ListSites(ctx)
	if err != nil {
		return fmt.Errorf("site registry: %w", err)
	}
	m := make(map[string]entry, len(list))
	zones := map[string]*time.Location{} // many sites share a zone
	for _, s := range list {
		loc, ok := zones[s.Timezone]
		if !ok {
			if loc, err = time.LoadLocation(s.Timezone); err != nil {
				r.log.Warn("site time zone does not load; using UTC", "site", s.ID, "timezone", s.Timezone, "err", err)
				loc = time.UTC
			}
			zones[s.Timezone] = loc
		}
		m[s.ID] = entry{site: s, loc: loc, opts: s.Settings.SessionOptions()}
	}
	r.sites.Store(&m)
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
func (r *Registry) Loaded() bool { return r.sites.Load() != nil }

// lookup reads the loaded copy (none before the first load).
func (r *Registry) lookup(id string) (entry, bool) {
	m := r.sites.Load()
	if m == nil {
		return entry{}, false
	}
	e, ok := (*m)[id]
	return e, ok
}

// Lookup returns the site with id, reloading on a miss unless a miss
// already reloaded within the last second.
func (r *Registry) Lookup(id string) (Site, bool) {
	e, ok := r.get(id)
	return e.site, ok
}

// Location returns the time zone of the site with id as resolved when the
// sites were loaded, and whether the site exists. A miss reloads as Lookup's
// does.
func (r *Registry) Location(id string) (*time.Location, bool) {
	e, ok := r.get(id)
	if !ok {
		return time.UTC, false
	}
	return e.loc, true
}

// Session returns what the sessionizer applies to each of the site's
// events: its time zone and its split options (Settings.SessionOptions),
// both as resolved when the sites were loaded, and whether the site exists.
// A miss reloads as Lookup's does. Like the zone, options changed in the
// store take effect at the next load, for the events sessionized after it.
func (r *Registry) Session(id string) (*time.Location, session.SiteOptions, bool) {
	e, ok := r.get(id)
	if !ok {
		return time.UTC, session.SiteOptions{}, false
	}
	return e.loc, e.opts, true
}

func (r *Registry) get(id string) (entry, bool) {
	s, ok := r.lookup(id)
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
	return r.lookup(id)
}

// All returns the sites in no particular order.
func (r *Registry) All() []Site {
	m := r.sites.Load()
	if m == nil {
		return []Site{}
	}
	out := make([]Site, 0, len(*m))
	for _, e := range *m {
		out = append(out, e.site)
	}
	return out
}
