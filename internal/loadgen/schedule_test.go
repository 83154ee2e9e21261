package loadgen

import (
	"context"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

// The schedule hands out browsers in the order they are due, each once,
// and wakes waiting workers when a browser becomes due.
func TestScheduleHandsOutInDueOrder(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := newSchedule(ctx)
	r := rand.New(rand.NewPCG(1, 2))
	past := time.Now().Add(-time.Hour)
	for i := 0; i < 500; i++ {
		s.put(&browser{index: i}, past.Add(time.Duration(r.IntN(1_000_000))*time.Microsecond))
	}
	want := append(dueHeap(nil), s.due...)
	last := int64(-1 << 63)
	for i := 0; i < 500; i++ {
		s.mu.Lock()
		at := s.due[0].at
		s.mu.Unlock()
		b, ok := s.next()
		if !ok || at < last {
			t.Fatalf("browser %d: due %d after %d (%v)", i, at, last, ok)
		}
		last = at
		_ = b
	}
	if len(s.due) != 0 || len(want) != 500 {
		t.Fatalf("%d browsers left", len(s.due))
	}

	// Workers waiting on an empty schedule each get the browser put for
	// them, when it is due; the end of the context releases the rest.
	var wg sync.WaitGroup
	got := make(chan int, 8)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				b, ok := s.next()
				if !ok {
					return
				}
				got <- b.index
			}
		}()
	}
	start := time.Now()
	due := func(i int) time.Time { return start.Add(time.Duration(20*(i+1)) * time.Millisecond) }
	for i := 0; i < 4; i++ {
		s.put(&browser{index: i}, due(i))
	}
	for i := 0; i < 4; i++ {
		select {
		case idx := <-got:
			if idx != i || time.Now().Before(due(i)) {
				t.Fatalf("browser %d handed out as number %d, %s before it was due", idx, i, time.Until(due(i)))
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("browser %d due but not handed out", i)
		}
	}
	cancel()
	wg.Wait()
}
