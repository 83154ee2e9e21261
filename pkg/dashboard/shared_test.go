package dashboard

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/teller-analytics/teller/pkg/report"
)

// TestShared: identical concurrent computations run once and all callers
// get the result and its SQL; different keys, and calls after the first
// ended, run on their own (nothing is kept); a caller whose shared
// computation failed because the first caller went away runs its own.
func TestShared(t *testing.T) {
	var fs flights
	var runs atomic.Int32
	release := make(chan struct{})
	slow := func(ctx context.Context) (int, error) {
		runs.Add(1)
		report.AddSQL(ctx, "SELECT 1")
		select {
		case <-release:
			return 42, nil
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}

	// Four identical calls at once: one run.
	var wg sync.WaitGroup
	logs := make([]report.SQLLog, 4)
	got := make([]int, 4)
	for i := range 4 {
		wg.Go(func() {
			v, err := shared(report.WithSQLLog(context.Background(), &logs[i]), &fs, "k", slow)
			if err != nil {
				t.Error(err)
			}
			got[i] = v
		})
	}
	waitFor(t, func() bool { return runs.Load() == 1 })
	time.Sleep(50 * time.Millisecond) // let the other three join
	close(release)
	wg.Wait()
	if runs.Load() != 1 {
		t.Errorf("%d runs for 4 identical calls, want 1", runs.Load())
	}
	for i := range 4 {
		if got[i] != 42 || len(logs[i].Statements()) != 1 {
			t.Errorf("caller %d got %d with SQL %q, want 42 and one statement", i, got[i], logs[i].Statements())
		}
	}

	// After it ended, the same key runs again; another key runs alone.
	for _, k := range []string{"k", "other"} {
		if v, err := shared(context.Background(), &fs, k, slow); v != 42 || err != nil {
			t.Errorf("%s: %d, %v", k, v, err)
		}
	}
	if runs.Load() != 3 {
		t.Errorf("%d runs, want 3: a finished computation must not be reused", runs.Load())
	}

	// The first caller goes away: the one that joined it runs its own.
	block := make(chan struct{})
	var blockedRuns atomic.Int32
	blocked := func(ctx context.Context) (int, error) {
		if blockedRuns.Add(1) == 1 {
			<-ctx.Done()
			return 0, ctx.Err()
		}
		<-block
		return 7, nil
	}
	first, cancel := context.WithCancel(context.Background())
	var firstErr error
	wg.Go(func() { _, firstErr = shared(first, &fs, "c", blocked) })
	waitFor(t, func() bool { return blockedRuns.Load() == 1 })
	var second int
	wg.Go(func() { second, _ = shared(context.Background(), &fs, "c", blocked) })
	time.Sleep(50 * time.Millisecond)
	cancel()
	close(block)
	wg.Wait()
	if !errors.Is(firstErr, context.Canceled) || second != 7 || blockedRuns.Load() != 2 {
		t.Errorf("first: %v, second: %d after %d runs; want canceled, 7 after 2", firstErr, second, blockedRuns.Load())
	}
	if len(fs.m) != 0 {
		t.Errorf("%d computations left running", len(fs.m))
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
	}
}

// Requests share a computation only when they would run the same
// statements: the FINAL streams are part of the key, though the figures
// do not depend on them.
func TestQueryKeyTellsStatementsApart(t *testing.T) {
	from := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	month := report.Query{Site: "s", From: from, To: from.AddDate(0, 1, 0)}
	tests := []struct {
		name string
		a, b report.Query
		same bool
	}{
		{"the same query", month, month, true},
		{"the default is two streams for a month", month, month.WithFinalStreams(2), true},
		{"one stream (the site page) against the default", month.WithFinalStreams(1), month, false},
		{"another range", month, report.Query{Site: "s", From: from, To: from.AddDate(0, 0, 7)}, false},
		{"bots kept", month, report.Query{Site: "s", From: month.From, To: month.To, IncludeBots: true}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if same := queryKey(tt.a, nil) == queryKey(tt.b, nil); same != tt.same {
				t.Errorf("keys equal = %t, want %t (%q, %q)", same, tt.same, queryKey(tt.a, nil), queryKey(tt.b, nil))
			}
		})
	}
}
