package loadgen

import (
	"container/heap"
	"context"
	"sync"
	"time"
)

// Time compression. A live run lasts minutes, but the session rules work in
// half hours: a browser that comes back 40 minutes later starts a new
// session, one that clicks on after two minutes does not. With a session
// gap G (the sessionizer's -session-gap, shortened for the run) the
// generator keeps the proportions of a real visit to a 30-minute gap:
// think times between a visit's requests of G/60..G/6 (30 s..5 min) and a
// return after G*4/3..G*3 (40 min..90 min). Every pause is far from G, so
// request latency cannot move an event across the boundary, and the
// generator knows which requests must form one session.
const (
	thinkMin, thinkMax = 1.0 / 60, 1.0 / 6
	pauseMin, pauseMax = 4.0 / 3, 3.0
)

// between draws a duration in [lo*gap, hi*gap).
func (b *browser) between(gap time.Duration, lo, hi float64) time.Duration {
	return time.Duration((lo + (hi-lo)*b.rand.Float64()) * float64(gap))
}

// schedule hands browsers to workers when they are due: a browser is held
// by one worker at a time (its requests are sequential, as a person's are),
// and the one due first goes first.
type schedule struct {
	mu     sync.Mutex
	wake   *sync.Cond
	timer  *time.Timer
	due    dueHeap
	closed bool
}

type dueBrowser struct {
	b  *browser
	at time.Time
}

type dueHeap []dueBrowser

func (h dueHeap) Len() int           { return len(h) }
func (h dueHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h dueHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *dueHeap) Push(x any)        { *h = append(*h, x.(dueBrowser)) }
func (h *dueHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// newSchedule returns a schedule that stops handing out browsers when ctx ends.
func newSchedule(ctx context.Context) *schedule {
	s := &schedule{}
	s.wake = sync.NewCond(&s.mu)
	s.timer = time.AfterFunc(time.Hour, s.broadcast)
	s.timer.Stop()
	context.AfterFunc(ctx, func() {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		s.wake.Broadcast()
	})
	return s
}

func (s *schedule) broadcast() {
	s.mu.Lock()
	s.wake.Broadcast()
	s.mu.Unlock()
}

// put makes b due at at.
func (s *schedule) put(b *browser, at time.Time) {
	s.mu.Lock()
	heap.Push(&s.due, dueBrowser{b, at})
	s.mu.Unlock()
	s.wake.Broadcast() // it may be due before what the waiters wait for
}

// next waits for the browser due first and takes it; false once the
// schedule's context has ended.
func (s *schedule) next() (*browser, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for !s.closed {
		if len(s.due) > 0 {
			wait := time.Until(s.due[0].at)
			if wait <= 0 {
				return heap.Pop(&s.due).(dueBrowser).b, true
			}
			s.timer.Reset(wait)
		}
		s.wake.Wait()
	}
	return nil, false
}

// drain returns every browser not held by a worker; call after the workers ended.
func (s *schedule) drain() []*browser {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*browser, 0, len(s.due))
	for _, d := range s.due {
		out = append(out, d.b)
	}
	s.due = nil
	return out
}
