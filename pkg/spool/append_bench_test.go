package spool

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"
)

// BenchmarkAppendLatency appends 300-byte records from 64 goroutines, paced
// to 30,000 appends/s together (about the collector's rate), under each
// fsync policy and reports how long one Append took: the tail is where a
// background fsync shows (docs/benchmarks.md, "Spool first by default").
//
//	go test ./pkg/spool/ -run '^$' -bench AppendLatency -benchtime 300000x
func BenchmarkAppendLatency(b *testing.B) {
	for _, fsync := range []Fsync{FsyncNever, FsyncEvery(100 * time.Millisecond)} {
		b.Run(fsync.String(), func(b *testing.B) {
			s, err := Open(Options{Dir: b.TempDir(), MaxBytes: 1 << 30, Fsync: fsync})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			go func() { // a drainer, as the collector has
				for {
					recs, pos, err := s.Read(1000, 4<<20)
					if err != nil {
						return
					}
					if len(recs) == 0 {
						time.Sleep(10 * time.Millisecond)
						continue
					}
					if s.Ack(pos) != nil {
						return
					}
				}
			}()
			rec := make([]byte, 300)
			const workers = 64
			waits := make([][]time.Duration, workers)
			var wg sync.WaitGroup
			b.ResetTimer()
			for w := range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					tick := time.NewTicker(workers * time.Second / 30000)
					defer tick.Stop()
					for i := w; i < b.N; i += workers {
						<-tick.C
						t0 := time.Now()
						if err := s.Append(context.Background(), rec); err != nil {
							b.Error(err)
							return
						}
						waits[w] = append(waits[w], time.Since(t0))
					}
				}()
			}
			wg.Wait()
			b.StopTimer()
			all := slices.Concat(waits...)
			slices.Sort(all)
			if len(all) == 0 {
				return
			}
			b.ReportMetric(float64(all[len(all)*99/100].Microseconds()), "p99_us")
			b.ReportMetric(float64(all[len(all)*999/1000].Microseconds()), "p99.9_us")
			b.ReportMetric(float64(all[len(all)-1].Microseconds()), "max_us")
		})
	}
}
