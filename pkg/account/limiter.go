package account

import (
	"net"
	"strings"
	"sync"
	"time"
)

// Sign-in throttling: LoginFailureLimit failures from one client address,
// or UserFailureLimit for one user name from anywhere, within the window
// refuse further attempts until the oldest failure leaves it. The user
// limit is the higher one: it stops guessing spread over many addresses,
// while a mistyping user behind a shared address meets the address limit
// first.
const (
	LoginFailureLimit  = 10
	UserFailureLimit   = 50
	LoginFailureWindow = 15 * time.Minute
)

// maxLimiterKeys bounds the limiter's memory: user names are whatever a
// stranger types. Past it, expired entries are dropped first; if every entry
// is still live, new keys are refused (counted as blocked) rather than
// letting the map grow.
const maxLimiterKeys = 100_000

// Limiter counts failed sign-ins per key (an address, a user name) in a
// sliding window. An attempt reserves a slot before its password is
// checked, so that concurrent attempts cannot pass the limit: with a limit
// of 10, at most 10 checks of one key are ever in flight or failed within
// the window. The counts live in this process; with several dashboard
// instances an attacker gets the limit once per instance.
type Limiter struct {
	max    func(key string) int
	window time.Duration

	mu   sync.Mutex
	keys map[string]*limitEntry
}

type limitEntry struct {
	fails   []time.Time // oldest first, at most max kept
	pending int         // reserved, not yet settled
}

// NewLimiter allows max(key) failures per key within window.
func NewLimiter(max func(key string) int, window time.Duration) *Limiter {
	return &Limiter{max: max, window: window, keys: map[string]*limitEntry{}}
}

// signInLimit is the limit of a sign-in key.
func signInLimit(key string) int {
	if strings.HasPrefix(key, "user:") {
		return UserFailureLimit
	}
	return LoginFailureLimit
}

// Check is one key of an attempt and whether the limit applies to it.
type Check struct {
	Key string
	// Exempt attempts are counted when they fail but are not refused (a
	// correct password from a known device passes its user's limit).
	Exempt bool
}

// Reservation holds one slot on each key of an attempt. Settle it exactly
// once: Fail after a wrong password, Succeed after a right one.
type Reservation struct {
	l    *Limiter
	keys []string
	done bool
}

// Reserve takes a slot on every key at once, or none. When a non-exempt
// key already has max failures and reservations, it returns a nil
// Reservation, the first such key and the wait until it frees a slot.
func (l *Limiter) Reserve(now time.Time, checks ...Check) (r *Reservation, blockedKey string, wait time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range checks {
		e := l.entry(c.Key, now)
		switch {
		case c.Exempt:
		case e == nil:
			if len(l.keys) >= maxLimiterKeys {
				return nil, c.Key, l.window
			}
		case len(e.fails)+e.pending >= l.max(c.Key):
			max := l.max(c.Key)
			w := l.window // every slot is pending: say a whole window
			if e.pending < max {
				w = e.fails[len(e.fails)+e.pending-max].Add(l.window).Sub(now)
			}
			return nil, c.Key, w
		}
	}
	r = &Reservation{l: l}
	for _, c := range checks {
		e := l.keys[c.Key]
		if e == nil {
			e = &limitEntry{}
			l.keys[c.Key] = e
		}
		e.pending++
		r.keys = append(r.keys, c.Key)
	}
	return r, "", 0
}

// Fail records a failed attempt on every key of r.
func (r *Reservation) Fail(now time.Time) {
	r.settle(func(key string, e *limitEntry) {
		e.fails = append(e.fails, now)
		if max := r.l.max(key); len(e.fails) > max {
			e.fails = e.fails[len(e.fails)-max:]
		}
	})
}

// Succeed releases r's slots and forgets the keys' failures: the right
// password was given.
func (r *Reservation) Succeed() { r.settle(func(_ string, e *limitEntry) { e.fails = nil }) }

// Release gives r's slots back without counting a failure (the check could
// not run, e.g. ClickHouse failed).
func (r *Reservation) Release() { r.settle(func(string, *limitEntry) {}) }

func (r *Reservation) settle(f func(key string, e *limitEntry)) {
	if r == nil || r.done {
		return
	}
	r.done = true
	r.l.mu.Lock()
	defer r.l.mu.Unlock()
	for _, k := range r.keys {
		e := r.l.keys[k]
		if e == nil {
			continue
		}
		e.pending--
		f(k, e)
		if len(e.fails) == 0 && e.pending == 0 {
			delete(r.l.keys, k)
		}
	}
}

// entry prunes key's expired failures and returns its entry, nil when it
// has none. When the map is full it first drops every expired entry.
func (l *Limiter) entry(key string, now time.Time) *limitEntry {
	if len(l.keys) >= maxLimiterKeys {
		for k := range l.keys {
			l.prune(k, now)
		}
	}
	return l.prune(key, now)
}

func (l *Limiter) prune(key string, now time.Time) *limitEntry {
	e := l.keys[key]
	if e == nil {
		return nil
	}
	i := 0
	for i < len(e.fails) && !now.Before(e.fails[i].Add(l.window)) {
		i++
	}
	e.fails = e.fails[i:]
	if len(e.fails) == 0 && e.pending == 0 {
		delete(l.keys, key)
		return nil
	}
	return e
}

// AddressKey is the key a client address is counted under: the IP, or for
// IPv6 its /64, since one host commonly holds a whole /64.
func AddressKey(ip string) string {
	p := net.ParseIP(ip)
	if p == nil {
		return "addr:" + ip
	}
	if v4 := p.To4(); v4 != nil {
		return "addr:" + v4.String()
	}
	return "addr:" + p.Mask(net.CIDRMask(64, 128)).String() + "/64"
}

// UserKey is the key a user name is counted under, known or not (so that a
// limit says nothing about which names exist). A name longer than any user
// may have is kept as its hash, so a key stays small whatever was typed.
func UserKey(name string) string {
	if len(name) > maxUserName {
		name = hashSecret(name)
	}
	return "user:" + name
}
