package spool

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

func open(t *testing.T, dir string, maxBytes, segBytes int64, fsync Fsync) *Spool {
	t.Helper()
	s, err := Open(Options{Dir: dir, MaxBytes: maxBytes, SegmentBytes: segBytes, Fsync: fsync})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func rec(i int) []byte { return []byte(fmt.Sprintf("record-%04d", i)) }

// drain reads everything, acknowledging after every read.
func drain(t *testing.T, s *Spool, batch int) [][]byte {
	t.Helper()
	var all [][]byte
	for {
		recs, pos, err := s.Read(batch, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) == 0 {
			return all
		}
		all = append(all, recs...)
		if err := s.Ack(pos); err != nil {
			t.Fatal(err)
		}
	}
}

func TestAppendReadAckReopen(t *testing.T) {
	tests := []struct {
		name     string
		segBytes int64
		fsync    Fsync
		n, acked int // records appended, records acknowledged before reopening
		batch    int
	}{
		{"one segment, nothing acked", 1 << 20, FsyncNever, 10, 0, 3},
		{"one segment, some acked", 1 << 20, FsyncAlways, 10, 4, 2},
		{"many segments, some acked", 64, FsyncEvery(1e6), 50, 23, 5},
		{"many segments, all acked", 64, FsyncAlways, 50, 50, 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			s := open(t, dir, 1<<20, tt.segBytes, tt.fsync)
			for i := 0; i < tt.n; i++ {
				if err := s.Append(context.Background(), rec(i)); err != nil {
					t.Fatal(err)
				}
			}
			got := 0
			for got < tt.acked {
				recs, pos, err := s.Read(min(tt.batch, tt.acked-got), 1<<20)
				if err != nil {
					t.Fatal(err)
				}
				for j, r := range recs {
					if !bytes.Equal(r, rec(got+j)) {
						t.Fatalf("record %d = %q", got+j, r)
					}
				}
				got += len(recs)
				if err := s.Ack(pos); err != nil {
					t.Fatal(err)
				}
			}
			// Read past the ack without acknowledging: a restart re-reads it.
			_, _, _ = s.Read(3, 1<<20)
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			s2 := open(t, dir, 1<<20, tt.segBytes, tt.fsync)
			rest := drain(t, s2, tt.batch)
			if len(rest) != tt.n-tt.acked {
				t.Fatalf("after reopen %d records, want %d", len(rest), tt.n-tt.acked)
			}
			for j, r := range rest {
				if !bytes.Equal(r, rec(tt.acked+j)) {
					t.Fatalf("record %d after reopen = %q", tt.acked+j, r)
				}
			}
			if p := s2.Pending(); p != 0 {
				t.Errorf("pending after drain = %d", p)
			}
			if segs, _ := filepath.Glob(filepath.Join(dir, "*.seg")); len(segs) > 2 {
				t.Errorf("%d segments left after a full drain, want delivered ones deleted", len(segs))
			}
		})
	}
}

func TestFullRefusesAndAckFrees(t *testing.T) {
	s := open(t, t.TempDir(), 200, 64, FsyncNever)
	n := 0
	for ; ; n++ {
		err := s.Append(context.Background(), rec(n))
		if errors.Is(err, ErrFull) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if n == 0 || s.DiskBytes() > 200 {
		t.Fatalf("appended %d, disk %d", n, s.DiskBytes())
	}
	got := drain(t, s, 100)
	if len(got) != n {
		t.Fatalf("read %d of %d", len(got), n)
	}
	if err := s.Append(context.Background(), rec(n)); err != nil {
		t.Fatalf("after draining, append: %v", err)
	}
}

func TestRewindRereads(t *testing.T) {
	s := open(t, t.TempDir(), 1<<20, 0, FsyncNever)
	for i := 0; i < 5; i++ {
		_ = s.Append(context.Background(), rec(i))
	}
	a, _, _ := s.Read(3, 1<<20)
	s.Rewind()
	b, _, _ := s.Read(3, 1<<20)
	if len(a) != 3 || fmt.Sprint(a) != fmt.Sprint(b) {
		t.Fatalf("rewind: %q then %q", a, b)
	}
}

func TestParseFsync(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want string
		bad  bool
	}{{"always", "always", false}, {"never", "never", false}, {"100ms", "100ms", false}, {"0s", "", true}, {"sometimes", "", true}} {
		f, err := ParseFsync(tt.in)
		if (err != nil) != tt.bad || (!tt.bad && f.String() != tt.want) {
			t.Errorf("ParseFsync(%q) = %v, %v", tt.in, f, err)
		}
	}
}

// TestTruncatedAtEveryOffset cuts a segment at every byte offset, as a crash
// in the middle of a write would: recovery keeps exactly the records that are
// complete and nothing else, and new appends after it read back intact.
func TestTruncatedAtEveryOffset(t *testing.T) {
	src := t.TempDir()
	s := open(t, src, 1<<20, 1<<20, FsyncNever)
	var ends []int64 // byte offset where each record ends
	off := int64(0)
	for i := 0; i < 12; i++ {
		r := bytes.Repeat(rec(i), i%3+1)
		if err := s.Append(context.Background(), r); err != nil {
			t.Fatal(err)
		}
		off += headerBytes + int64(len(r))
		ends = append(ends, off)
	}
	_ = s.Close()
	full, err := os.ReadFile(filepath.Join(src, segName(1)))
	if err != nil {
		t.Fatal(err)
	}
	for cut := 0; cut <= len(full); cut++ {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, segName(1)), full[:cut], 0o640); err != nil {
			t.Fatal(err)
		}
		want := 0
		for want < len(ends) && ends[want] <= int64(cut) {
			want++
		}
		s := open(t, dir, 1<<20, 1<<20, FsyncNever)
		if err := s.Append(context.Background(), []byte("after")); err != nil {
			t.Fatal(err)
		}
		got := drain(t, s, 5)
		if len(got) != want+1 || string(got[len(got)-1]) != "after" {
			t.Fatalf("cut at %d: %d records, want %d complete ones and the new one", cut, len(got), want)
		}
		for i := 0; i < want; i++ {
			if !bytes.Equal(got[i], bytes.Repeat(rec(i), i%3+1)) {
				t.Fatalf("cut at %d: record %d = %q", cut, i, got[i])
			}
		}
		_ = s.Close()
	}
}

// TestCorruptByteEndsSegment flips each byte in turn: the corrupt record and
// everything after it in its segment are dropped, the records before it kept.
func TestCorruptByteEndsSegment(t *testing.T) {
	src := t.TempDir()
	s := open(t, src, 1<<20, 1<<20, FsyncNever)
	var ends []int64
	off := int64(0)
	for i := 0; i < 6; i++ {
		_ = s.Append(context.Background(), rec(i))
		off += headerBytes + int64(len(rec(i)))
		ends = append(ends, off)
	}
	_ = s.Close()
	full, _ := os.ReadFile(filepath.Join(src, segName(1)))
	for at := range full {
		dir := t.TempDir()
		bad := bytes.Clone(full)
		bad[at] ^= 0x5a
		_ = os.WriteFile(filepath.Join(dir, segName(1)), bad, 0o640)
		want := 0
		for want < len(ends) && ends[want] <= int64(at) {
			want++
		}
		s := open(t, dir, 1<<20, 1<<20, FsyncNever)
		got := drain(t, s, 10)
		if len(got) != want {
			t.Fatalf("byte %d flipped: %d records, want %d", at, len(got), want)
		}
		_ = s.Close()
	}
}

// FuzzRecover: whatever bytes a segment holds, Open never fails or panics,
// and every record it returns was checksummed.
func FuzzRecover(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{5, 0, 0, 0, 1, 2, 3, 4, 'h', 'e', 'l', 'l', 'o'})
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		_ = os.WriteFile(filepath.Join(dir, segName(1)), data, 0o640)
		s, err := Open(Options{Dir: dir, MaxBytes: 1 << 22, Fsync: FsyncNever})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		for {
			recs, pos, err := s.Read(100, 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			if len(recs) == 0 {
				break
			}
			_ = s.Ack(pos)
		}
	})
}

// Concurrent appends under each policy (group commit for always): every
// record is read back once, each writer's in its own order, across segments.
func TestConcurrentAppends(t *testing.T) {
	for _, policy := range []Fsync{FsyncAlways, FsyncEvery(5e6), FsyncNever} {
		t.Run(policy.String(), func(t *testing.T) {
			s := open(t, t.TempDir(), 1<<24, 4<<10, policy)
			const writers, each = 16, 200
			var wg sync.WaitGroup
			for w := 0; w < writers; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; i < each; i++ {
						if err := s.Append(context.Background(), []byte(fmt.Sprintf("%02d-%04d", w, i))); err != nil {
							t.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			next := make([]int, writers)
			got := drain(t, s, 64)
			for _, r := range got {
				var w, i int
				if _, err := fmt.Sscanf(string(r), "%02d-%04d", &w, &i); err != nil || i != next[w] {
					t.Fatalf("record %q out of order (want %d for writer %d)", r, next[w], w)
				}
				next[w]++
			}
			if len(got) != writers*each {
				t.Fatalf("%d records, want %d", len(got), writers*each)
			}
		})
	}
}

// Read takes a segment's part in one read and splits it: whatever the byte
// bound (smaller than one record, cutting records in the middle, larger
// than everything) every record comes back once, whole, in order, across
// segment boundaries, and a restart after the last Ack reads nothing again.
func TestReadByteBounds(t *testing.T) {
	var want [][]byte
	for i := range 300 {
		want = append(want, bytes.Repeat([]byte{byte('a' + i%26)}, 1+i*7%500))
	}
	for _, maxBytes := range []int64{1, 8, 9, 100, 517, 4096, 1 << 20} {
		t.Run(fmt.Sprint(maxBytes), func(t *testing.T) {
			dir := t.TempDir()
			s := open(t, dir, 1<<20, 64<<10, FsyncNever)
			for i := 0; i < len(want); i += 3 {
				if err := s.Append(context.Background(), want[i:min(i+3, len(want))]...); err != nil {
					t.Fatal(err)
				}
			}
			var got [][]byte
			for {
				recs, pos, err := s.Read(50, maxBytes)
				if err != nil {
					t.Fatal(err)
				}
				if len(recs) == 0 {
					break
				}
				var size int64
				for _, r := range recs {
					size += headerBytes + int64(len(r))
				}
				if len(recs) > 1 && size-headerBytes-int64(len(recs[len(recs)-1])) >= maxBytes {
					t.Fatalf("read %d records of %d bytes with a bound of %d", len(recs), size, maxBytes)
				}
				got = append(got, recs...)
				if err := s.Ack(pos); err != nil {
					t.Fatal(err)
				}
			}
			if len(got) != len(want) {
				t.Fatalf("read %d records, appended %d", len(got), len(want))
			}
			for i := range want {
				if !bytes.Equal(got[i], want[i]) {
					t.Fatalf("record %d: %d bytes %.10q, want %d bytes %.10q", i, len(got[i]), got[i], len(want[i]), want[i])
				}
			}
			_ = s.Close()
			s2 := open(t, dir, 1<<20, 64<<10, FsyncNever)
			if recs, _, err := s2.Read(50, maxBytes); err != nil || len(recs) != 0 {
				t.Fatalf("after a restart: %d records again (err %v)", len(recs), err)
			}
		})
	}
}

// The collector skips its publish timeout's timer when WaitsForSync is
// false, so it must be true exactly when Append waits on its context.
func TestWaitsForSync(t *testing.T) {
	for _, tt := range []struct {
		fsync Fsync
		waits bool
	}{{FsyncAlways, true}, {FsyncEvery(100 * time.Millisecond), false}, {FsyncNever, false}} {
		s := open(t, t.TempDir(), 1<<20, 0, tt.fsync)
		if got := s.WaitsForSync(); got != tt.waits {
			t.Errorf("%v: WaitsForSync %v, want %v", tt.fsync, got, tt.waits)
		}
		// A context that has ended must not fail an Append that does not
		// wait (one that waits may or may not see the fsync first).
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := s.Append(ctx, rec(1)); !tt.waits && err != nil {
			t.Errorf("%v: Append with an ended context: %v", tt.fsync, err)
		}
	}
}

// A process that dies without Close (kill -9) leaves its mapped segment at
// its reserved size, records then zeros: the next Open keeps every record,
// cuts the zeros without taking them for a torn record, and reads on.
func TestUnclosedMappedSegmentRecovers(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(Options{Dir: dir, MaxBytes: 1 << 20, SegmentBytes: 64 << 10, Fsync: FsyncNever})
	if err != nil {
		t.Fatal(err)
	}
	var want [][]byte
	for i := range 10 {
		want = append(want, rec(i))
		if err := s.Append(context.Background(), rec(i)); err != nil {
			t.Fatal(err)
		}
	}
	// s is left open, as a killed process leaves it: its pages are in the
	// page cache, which the next Open reads. Its directory lock goes with
	// the process.
	_ = s.lock.Close()
	seg := filepath.Join(dir, segName(1))
	st, err := os.Stat(seg)
	if err != nil {
		t.Fatal(err)
	}
	var records int64
	for _, r := range want {
		records += headerBytes + int64(len(r))
	}
	if runtime.GOOS == "linux" && st.Size() != 64<<10 {
		t.Errorf("segment of %d bytes before recovery, want the 65536 reserved", st.Size())
	}
	var logs bytes.Buffer
	s2, err := Open(Options{Dir: dir, MaxBytes: 1 << 20, SegmentBytes: 64 << 10, Fsync: FsyncNever,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if st, err := os.Stat(seg); err != nil || st.Size() != records {
		t.Errorf("segment after recovery: %v, %v; want its %d bytes of records", st.Size(), err, records)
	}
	if strings.Contains(logs.String(), "torn") {
		t.Errorf("the reservation's zeros were taken for a torn record: %s", logs.String())
	}
	got := drain(t, s2, 4)
	if len(got) != len(want) {
		t.Fatalf("recovered %d records, want %d", len(got), len(want))
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("record %d: %q, want %q", i, got[i], want[i])
		}
	}
}

// A record larger than a segment gets a segment of its own, mapped at its
// size, and is read back whole, before and after a restart.
func TestRecordLargerThanASegment(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, 4<<20, 64<<10, FsyncEvery(10*time.Millisecond))
	big := bytes.Repeat([]byte("big record "), 20000) // 220 kB
	want := [][]byte{rec(1), big, rec(2), big, rec(3)}
	for _, r := range want {
		if err := s.Append(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	check := func(got [][]byte) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("%d records, want %d", len(got), len(want))
		}
		for i := range want {
			if !bytes.Equal(got[i], want[i]) {
				t.Fatalf("record %d: %d bytes, want %d", i, len(got[i]), len(want[i]))
			}
		}
	}
	recs, _, err := s.Read(10, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	check(recs)
	s.Rewind()
	_ = s.Close()
	check(drain(t, open(t, dir, 4<<20, 64<<10, FsyncNever), 2))
}

// One spool directory, one process: a second Open fails while the first
// holds it, and succeeds once it is closed.
func TestOpenLocksTheDirectory(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(Options{Dir: dir, MaxBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Append(context.Background(), rec(1)); err != nil {
		t.Fatal(err)
	}
	if s2, err := Open(Options{Dir: dir, MaxBytes: 1 << 20}); err == nil || !strings.Contains(err.Error(), "in use by another process") {
		if s2 != nil {
			_ = s2.Close()
		}
		t.Fatalf("second Open of a spool in use: %v, want it refused", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s3 := open(t, dir, 1<<20, 0, FsyncNever)
	if got := drain(t, s3, 10); len(got) != 1 || !bytes.Equal(got[0], rec(1)) {
		t.Fatalf("after the first closed: %q, want its record", got)
	}
}
