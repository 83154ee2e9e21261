package collector

import (
	"fmt"
	"hash/maphash"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Rate is a token bucket's refill rate and size. A zero PerSecond means no
// limit.
type Rate struct {
	// PerSecond is the sustained rate, events (requests) per second.
	PerSecond float64
	// Burst is how many may come at once above it (at least 1 when limited).
	Burst int
}

// limiter holds token buckets by key in a fixed number of shards, each capped
// at maxPerShard buckets, so the memory a stranger can make it use is
// bounded: when a shard is full, buckets idle long enough to have refilled
// are dropped first, else an arbitrary one (a client evicted that way starts
// again with a full bucket, which errs on accepting).
type limiter struct {
	seed        maphash.Seed
	maxPerShard int
	shards      [limiterShards]limiterShard
}

const limiterShards = 64

type limiterShard struct {
	mu      sync.Mutex
	buckets map[uint64]bucket
}

type bucket struct {
	tokens float64
	at     int64 // unix nanoseconds of the last update
}

func newLimiter(maxBuckets int) *limiter {
	l := &limiter{seed: maphash.MakeSeed(), maxPerShard: max(1, maxBuckets/limiterShards)}
	for i := range l.shards {
		l.shards[i].buckets = make(map[uint64]bucket)
	}
	return l
}

// key hashes the parts of a bucket's identity.
func (l *limiter) key(kind byte, parts ...string) uint64 {
	var h maphash.Hash
	h.SetSeed(l.seed)
	h.WriteByte(kind)
	for _, p := range parts {
		h.WriteString(p)
		h.WriteByte(0)
	}
	return h.Sum64()
}

// allow takes one token from the bucket under key at now. When none is left
// it returns false and how long until one is.
func (l *limiter) allow(key uint64, r Rate, now time.Time) (bool, time.Duration) {
	if r.PerSecond <= 0 {
		return true, 0
	}
	burst := float64(max(1, r.Burst))
	sh := &l.shards[key%limiterShards]
	ns := now.UnixNano()
	sh.mu.Lock()
	defer sh.mu.Unlock()
	b, ok := sh.buckets[key]
	if !ok {
		if len(sh.buckets) >= l.maxPerShard {
			sh.evict(ns, r, burst)
		}
		b = bucket{tokens: burst, at: ns}
	} else {
		b.tokens = math.Min(burst, b.tokens+float64(ns-b.at)/1e9*r.PerSecond)
		b.at = ns
	}
	if b.tokens < 1 {
		sh.buckets[key] = b
		wait := time.Duration((1 - b.tokens) / r.PerSecond * 1e9)
		return false, wait
	}
	b.tokens--
	sh.buckets[key] = b
	return true, 0
}

// evictScan bounds the work of making room, so a flood of new keys costs
// constant time per request.
const evictScan = 8

// evict makes room for one bucket. Among a few buckets (map order is random),
// those that have refilled by now are as good as absent and go; if none has,
// the first seen goes.
func (sh *limiterShard) evict(ns int64, r Rate, burst float64) {
	full := int64(burst / r.PerSecond * 1e9)
	var first uint64
	removed, seen := false, 0
	for k, b := range sh.buckets {
		if seen == 0 {
			first = k
		}
		if ns-b.at >= full {
			delete(sh.buckets, k)
			removed = true
		}
		if seen++; seen == evictScan {
			break
		}
	}
	if !removed && seen > 0 {
		delete(sh.buckets, first)
	}
}

// size is the number of buckets held (tests check the bound).
func (l *limiter) size() int {
	n := 0
	for i := range l.shards {
		l.shards[i].mu.Lock()
		n += len(l.shards[i].buckets)
		l.shards[i].mu.Unlock()
	}
	return n
}

// String is the flag form of r: "PER_SECOND,BURST", "0" for no limit.
func (r *Rate) String() string {
	if r == nil || r.PerSecond <= 0 {
		return "0"
	}
	return strconv.FormatFloat(r.PerSecond, 'g', -1, 64) + "," + strconv.Itoa(r.Burst)
}

// Set parses "PER_SECOND[,BURST]" (burst default: twice the rate, at least
// 1); "0" is no limit.
func (r *Rate) Set(s string) error {
	rate, burst, hasBurst := strings.Cut(strings.TrimSpace(s), ",")
	per, err := strconv.ParseFloat(strings.TrimSpace(rate), 64)
	if err != nil || per < 0 || math.IsInf(per, 0) || math.IsNaN(per) {
		return fmt.Errorf("rate %q: want events per second, optionally with a burst: 20,200 (0 for no limit)", s)
	}
	b := max(1, int(2*per))
	if hasBurst {
		if b, err = strconv.Atoi(strings.TrimSpace(burst)); err != nil || b < 1 {
			return fmt.Errorf("rate %q: burst must be a whole number of at least 1", s)
		}
	}
	if per == 0 {
		b = 0
	}
	*r = Rate{PerSecond: per, Burst: b}
	return nil
}
