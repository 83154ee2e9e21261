package loadgen

import (
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
//
// Idle workers wait on one condition, and each event wakes one of them,
// never all: a browser given back that becomes the first due, the timer of
// the first due browser, or a worker taking a browser while another is due
// too. (Waking every idle worker on every put cost more CPU than the
// requests themselves when 128 workers waited.)
type schedule struct {
	mu      sync.Mutex
	wake    *sync.Cond
	timer   *time.Timer
	timerAt int64 // UnixNano the timer is set for; 0: not set
	due     dueHeap
	closed  bool
}

type dueBrowser struct {
	b  *browser
	at int64 // UnixNano
}

// dueHeap is a min-heap by due time (typed: container/heap's interface
// boxed every browser put and taken).
type dueHeap []dueBrowser

func (h *dueHeap) push(d dueBrowser) {
	*h = append(*h, d)
	q := *h
	for i := len(q) - 1; i > 0; {
		parent := (i - 1) / 2
		if q[parent].at <= q[i].at {
			break
		}
		q[parent], q[i] = q[i], q[parent]
		i = parent
	}
}

func (h *dueHeap) pop() dueBrowser {
	q := *h
	top := q[0]
	n := len(q) - 1
	q[0] = q[n]
	q[n] = dueBrowser{}
	q = q[:n]
	for i := 0; ; {
		least := i
		if l := 2*i + 1; l < n && q[l].at < q[least].at {
			least = l
		}
		if r := 2*i + 2; r < n && q[r].at < q[least].at {
			least = r
		}
		if least == i {
			break
		}
		q[i], q[least] = q[least], q[i]
		i = least
	}
	*h = q
	return top
}

// newSchedule returns a schedule that stops handing out browsers when ctx ends.
func newSchedule(ctx context.Context) *schedule {
	s := &schedule{}
	s.wake = sync.NewCond(&s.mu)
	s.timer = time.AfterFunc(time.Hour, s.fired)
	s.timer.Stop()
	context.AfterFunc(ctx, func() {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		s.wake.Broadcast()
	})
	return s
}

// fired: the first due browser is due; one waiting worker takes it.
func (s *schedule) fired() {
	s.mu.Lock()
	s.timerAt = 0
	s.wake.Signal()
	s.mu.Unlock()
}

// put makes b due at at.
func (s *schedule) put(b *browser, at time.Time) {
	s.mu.Lock()
	s.due.push(dueBrowser{b, at.UnixNano()})
	first := s.due[0].b == b
	s.mu.Unlock()
	if first {
		s.wake.Signal() // due before what the waiters wait for: one looks again
	}
}

// next waits for the browser due first and takes it; false once the
// schedule's context has ended.
func (s *schedule) next() (*browser, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for !s.closed {
		if len(s.due) > 0 {
			now := time.Now().UnixNano()
			if s.due[0].at <= now {
				b := s.due.pop().b
				if len(s.due) > 0 {
					if s.due[0].at <= now {
						s.wake.Signal() // another is due: a waiting worker takes it
					} else {
						s.arm(s.due[0].at, now)
					}
				}
				return b, true
			}
			s.arm(s.due[0].at, now)
		}
		s.wake.Wait()
	}
	return nil, false
}

// arm sets the timer for the first due browser at at, unless it is set
// for that time or earlier already.
func (s *schedule) arm(at, now int64) {
	if s.timerAt != 0 && s.timerAt <= at {
		return
	}
	s.timerAt = at
	s.timer.Reset(time.Duration(at - now))
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
