package report

import (
	"container/list"
	"sync"
)

// previousMark is a mark of the session rows a kept figure was computed
// from (markOf): their count and a hash sum.
type previousMark struct{ rows, hash uint64 }

// marked is the store behind PreviousCache and ClosedCache: values kept
// under a key with the mark of the rows they came from, returned only
// while the mark is the same, the least recently used dropped first once
// their costs pass max; a value costing more than largest is not kept. It
// is safe for concurrent use.
type marked[V any] struct {
	mu      sync.Mutex
	max     int64
	largest int64
	cost    func(key string, v V) int64
	total   int64
	order   *list.List // of *markedEntry[V], most recent first
	entries map[string]*list.Element
	hits    uint64
	misses  uint64
}

type markedEntry[V any] struct {
	key  string
	mark previousMark
	val  V
	cost int64
}

func newMarked[V any](max, largest int64, cost func(key string, v V) int64) *marked[V] {
	return &marked[V]{max: max, largest: largest, cost: cost, order: list.New(), entries: map[string]*list.Element{}}
}

// stats is how many gets found a value with the same mark (hits), how
// many did not (misses), and the costs kept.
func (c *marked[V]) stats() (hits, misses uint64, total int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.hits, c.misses, c.total
}

func (c *marked[V]) get(key string, m previousMark) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.entries[key]
	if !ok || el.Value.(*markedEntry[V]).mark != m {
		c.misses++
		var zero V
		return zero, false
	}
	c.hits++
	c.order.MoveToFront(el)
	return el.Value.(*markedEntry[V]).val, true
}

// put keeps v under key and m, and reports false when v costs more than
// largest (it is not kept).
func (c *marked[V]) put(key string, m previousMark, v V) bool {
	cost := c.cost(key, v)
	c.mu.Lock()
	defer c.mu.Unlock()
	if cost > c.largest {
		return false
	}
	if el, ok := c.entries[key]; ok {
		c.total -= el.Value.(*markedEntry[V]).cost
		c.order.Remove(el)
		delete(c.entries, key)
	}
	c.entries[key] = c.order.PushFront(&markedEntry[V]{key: key, mark: m, val: v, cost: cost})
	c.total += cost
	for c.total > c.max {
		last := c.order.Back()
		e := last.Value.(*markedEntry[V])
		c.order.Remove(last)
		delete(c.entries, e.key)
		c.total -= e.cost
	}
	return true
}
