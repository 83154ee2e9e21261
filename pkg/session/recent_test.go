package session

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
)

// closeOne opens a session of visitor v with one event id at ms and
// returns the id.
func closeOne(p *Partition, v string, label string, ms int64) uuid.UUID {
	id := eventID(label)
	p.Assign(Input{EventID: id, Site: "site", Visitor: visitorID(v), TimeMs: ms})
	return id
}

// The record remembers a closed session's ids for RememberFor after it
// closed, and forgets them once that has passed.
func TestRecentRemembersADay(t *testing.T) {
	t0 := day0.UnixMilli()
	minute := int64(60_000)
	tests := []struct {
		name  string
		after int64 // clock when the redelivery comes, after t0
		dup   bool
	}{
		// Closed at 32 minutes (gap + disorder), evicted into the record at
		// the next sweep mark.
		{name: "just after closing", after: 32*minute + maxSweepEvery, dup: true},
		{name: "a day after closing", after: 32*minute + maxSweepEvery + RememberFor.Milliseconds(), dup: true},
		{name: "a day and two buckets after closing", after: 32*minute + maxSweepEvery + RememberFor.Milliseconds() + 2*bucketSpan + minute, dup: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPartition(t, DefaultRules())
			id := closeOne(p, "v", "a", t0)
			// Another visitor's events move the clock, one a minute so that
			// sweeps run, up to tt.after.
			for ms := t0 + minute; ms <= t0+tt.after; ms += 10 * minute {
				p.Assign(Input{EventID: uuid.New(), Site: "site", Visitor: visitorID(fmt.Sprint("w", ms/(20*minute))), TimeMs: ms})
			}
			p.Assign(Input{EventID: uuid.New(), Site: "site", Visitor: visitorID("x"), TimeMs: t0 + tt.after})
			a := p.Assign(Input{EventID: id, Site: "site", Visitor: visitorID("v"), TimeMs: t0})
			if a.Duplicate != tt.dup {
				t.Fatalf("redelivery %s after: duplicate %v, want %v (record holds %d ids, reaches back %s)",
					time.Duration(tt.after)*time.Millisecond, a.Duplicate, tt.dup, p.RecentIDs(), p.RecentHorizon())
			}
			if tt.dup && a.SessionID != (uuid.UUID{}) {
				t.Fatal("the session is still in memory: the record is not what was tested")
			}
		})
	}
}

// Past Rules.RememberIDs the oldest ids are forgotten first, and counted.
func TestRecentBound(t *testing.T) {
	p := newPartition(t, rulesWith(func(r *Rules) { r.RememberIDs = 64 }))
	t0 := day0.UnixMilli()
	var ids []uuid.UUID
	for i := range 200 { // one closed session every 40 s of clock
		ids = append(ids, closeOne(p, fmt.Sprint("v", i), fmt.Sprint("e", i), t0+int64(i)*40_000))
	}
	p.Assign(Input{EventID: uuid.New(), Site: "site", Visitor: visitorID("late"), TimeMs: t0 + 200*40_000 + 40*60_000})
	if n := p.RecentIDs(); n > 64 || n < 64-64/16 {
		t.Fatalf("record holds %d ids, bound 64", n)
	}
	if p.ForgottenIDs() == 0 {
		t.Fatal("ids were forgotten early but not counted")
	}
	if h := p.RecentHorizon(); h >= RememberFor {
		t.Fatalf("horizon %s although the bound cut it", h)
	}
	if a := p.Assign(Input{EventID: ids[0], Site: "site", Visitor: visitorID("v0"), TimeMs: t0}); a.Duplicate {
		t.Error("the oldest id is still remembered past the bound")
	}
	if a := p.Assign(Input{EventID: ids[len(ids)-1], Site: "site", Visitor: visitorID("v199"), TimeMs: t0 + 199*40_000}); !a.Duplicate {
		t.Error("the newest id was forgotten")
	}
}

// The record is part of the checkpoint: restored, it answers as before,
// and encodes to the same bytes.
func TestRecentInCheckpoint(t *testing.T) {
	p := newPartition(t, DefaultRules())
	t0 := day0.UnixMilli()
	var ids []uuid.UUID
	for i := range 3000 {
		ids = append(ids, closeOne(p, fmt.Sprint("v", i%500), fmt.Sprint("e", i), t0+int64(i)*5_000))
	}
	if p.RecentIDs() == 0 {
		t.Fatal("no session closed")
	}
	state, err := p.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	q := newPartition(t, DefaultRules())
	if err := q.UnmarshalBinary(state); err != nil {
		t.Fatal(err)
	}
	if again, _ := q.MarshalBinary(); !bytes.Equal(state, again) {
		t.Fatal("state with the record does not round-trip")
	}
	if q.RecentIDs() != p.RecentIDs() {
		t.Fatalf("restored record holds %d ids, want %d", q.RecentIDs(), p.RecentIDs())
	}
	for i, id := range ids {
		in := Input{EventID: id, Site: "site", Visitor: visitorID(fmt.Sprint("v", i%500)), TimeMs: t0 + int64(i)*5_000}
		if a, b := p.Assign(in), q.Assign(in); a != b || !a.Duplicate {
			t.Fatalf("event %d after restoring: %+v, want %+v (a duplicate)", i, b, a)
		}
	}
	for _, bad := range [][]byte{append(append([]byte{}, state...), recentSection, recentVersion+1), state[:len(state)-4]} {
		if err := newPartition(t, DefaultRules()).UnmarshalBinary(bad); err == nil {
			t.Error("corrupt id record accepted")
		}
	}
}

// randomFingerprints are n event ids' fingerprints (their first 8 bytes),
// one after another, as a session holds them.
func randomFingerprints(n int) []byte {
	fps := make([]byte, 8*n)
	for i := range n {
		id := uuid.New()
		copy(fps[8*i:], id[:8])
	}
	return fps
}

// closeInFives adds fps to r as sessions of 5 events, closed 1 ms apart.
func closeInFives(r *recent, fps []byte, limit int) {
	for i := 0; 8*(i+5) <= len(fps); i += 5 {
		r.add(fps[8*i:8*(i+5)], int64(i), int64(i), limit)
	}
}

// BenchmarkRecentBytesPerID reports the heap and checkpoint bytes per id
// the record of closed sessions' ids costs, filled with a million.
func BenchmarkRecentBytesPerID(b *testing.B) {
	const n = 1_000_000
	fps := randomFingerprints(n)
	for b.Loop() {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		var r recent
		closeInFives(&r, fps, 2*n)
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(r.live), "heapB/id")
		b.ReportMetric(float64(len(r.appendTo(nil)))/float64(r.live), "checkpointB/id")
		runtime.KeepAlive(&r)
	}
}

// BenchmarkAssignWithRecord is BenchmarkAssign with the id record empty
// and holding DefaultRememberIDs ids, of sessions older than every event
// (as the clock closes them: on-time events skip the table) and newer
// (as the cap closes them: every event looks the table up).
func BenchmarkAssignWithRecord(b *testing.B) {
	type fill struct {
		ids    int
		lastMs int64 // latest event time of the remembered sessions
	}
	for _, f := range []fill{{0, 0}, {DefaultRememberIDs, -1}, {DefaultRememberIDs, 1 << 40}} {
		filled, lastMs := f.ids, f.lastMs
		b.Run(fmt.Sprintf("ids=%d/newest=%d", filled, lastMs), func(b *testing.B) {
			p := newPartition(b, DefaultRules())
			fps := randomFingerprints(filled)
			for i := 0; i < filled; i += 5 {
				p.recent.add(fps[8*i:8*(i+5)], lastMs, 0, DefaultRememberIDs)
			}
			visitors := make([]uuid.UUID, 100_000)
			for i := range visitors {
				visitors[i] = uuid.New()
			}
			ids := make([]uuid.UUID, 1<<16)
			for i := range ids {
				ids[i] = uuid.New()
			}
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				p.Assign(Input{EventID: ids[i%len(ids)], Site: "site", Visitor: visitors[i%len(visitors)], TimeMs: int64(i)})
			}
		})
	}
}

// Over days the record's bucket ids wrap their 256 tags: the ids of the
// last day are still found, older ones not, and stale slots are reused.
func TestRecentOverDays(t *testing.T) {
	p := newPartition(t, DefaultRules())
	t0 := day0.UnixMilli()
	const step = 5 * 60_000 // a one-event session every 5 minutes, 4 days
	var ids []uuid.UUID
	for i := range 4 * 24 * 12 {
		ids = append(ids, closeOne(p, fmt.Sprint("v", i), fmt.Sprint("e", i), t0+int64(i)*step))
	}
	if p.recent.nextID <= 256 {
		t.Fatalf("only %d buckets: the tags did not wrap", p.recent.nextID)
	}
	if n := p.RecentIDs(); n > 24*12+2*12 {
		t.Fatalf("record holds %d ids, more than a day and two buckets of them", n)
	}
	if len(p.recent.slots) > 4096 {
		t.Fatalf("table of %d slots for %d ids: stale slots are not reclaimed", len(p.recent.slots), p.RecentIDs())
	}
	last := len(ids) - 1
	for _, tc := range []struct {
		i   int
		dup bool
	}{{last - 12, true}, {last - 24*12 + 12, true}, {last - 2*24*12, false}, {0, false}} {
		a := p.Assign(Input{EventID: ids[tc.i], Site: "site", Visitor: visitorID(fmt.Sprint("v", tc.i)), TimeMs: t0 + int64(tc.i)*step})
		if a.Duplicate != tc.dup {
			t.Errorf("redelivery of the event %s before the last: duplicate %v, want %v",
				time.Duration(last-tc.i)*step*time.Millisecond, a.Duplicate, tc.dup)
		}
	}
}

// The record keeps log time where the log has timestamps: history whose
// events span a week, sent twice within minutes (an import run again),
// counts once, although its first days' sessions closed days before the
// partition clock; sent again more than a day of log later, it is no
// longer remembered.
func TestRecentKeepsLogTime(t *testing.T) {
	t0 := day0.UnixMilli()
	hour := int64(3_600_000)
	// A week of history: a visitor each hour, two events 5 minutes apart.
	var history []Input
	for h := int64(0); h < 7*24; h++ {
		for i := int64(0); i < 2; i++ {
			history = append(history, Input{EventID: eventID(fmt.Sprint("h", h, "e", i)), Site: "site",
				Visitor: visitorID(fmt.Sprint("v", h)), TimeMs: t0 + h*hour + i*300_000})
		}
	}
	send := func(p *Partition, sentMs int64) (dups int) {
		for i, in := range history {
			in.RecordMs = sentMs + int64(i)
			if p.Assign(in).Duplicate {
				dups++
			}
		}
		return dups
	}
	importedAt := t0 + 8*24*hour
	tests := []struct {
		name  string
		again int64 // when the history is sent again, after the first sending
		dups  int
	}{
		{name: "ten minutes later", again: 10 * 60_000, dups: len(history)},
		{name: "two days later", again: 2 * 24 * hour, dups: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPartition(t, DefaultRules())
			if n := send(p, importedAt); n != 0 {
				t.Fatalf("first sending: %d duplicates", n)
			}
			// Live traffic of the partition moves the log on to the second sending.
			for ms := importedAt + 60_000; ms < importedAt+tt.again; ms += 10 * 60_000 {
				p.Assign(Input{EventID: uuid.New(), Site: "site", Visitor: visitorID(fmt.Sprint("live", ms/3_600_000)), TimeMs: ms, RecordMs: ms})
			}
			if got := send(p, importedAt+tt.again); got != tt.dups {
				t.Fatalf("second sending %s later: %d of %d counted as duplicates, want %d", time.Duration(tt.again)*time.Millisecond, got, len(history), tt.dups)
			}
		})
	}
}

// sortFingerprints orders as slices.Sort does, whatever bytes the
// fingerprints share (event ids of one millisecond share their first six,
// UUIDv7) and whatever the length (the radix passes start at 256).
func TestSortFingerprintsMatchesSlicesSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	random := func(n int, mask, fixed uint64) []uint64 {
		v := make([]uint64, n)
		for i := range v {
			v[i] = rng.Uint64()&mask | fixed
		}
		return v
	}
	ascending := make([]uint64, 1000)
	for i := range ascending {
		ascending[i] = uint64(i) << 20
	}
	descending := slices.Clone(ascending)
	slices.Reverse(descending)
	for _, tt := range []struct {
		name string
		fps  []uint64
	}{
		{"empty", nil},
		{"one", []uint64{7}},
		{"short", random(255, ^uint64(0), 0)},
		{"at the radix bound", random(256, ^uint64(0), 0)},
		{"random", random(100_000, ^uint64(0), 0)},
		{"top six bytes shared", random(5000, 0xffff, 0x0123_4567_89ab_0000)},
		{"low bytes shared", random(5000, 0xffff_0000_0000_0000, 0x42)},
		{"only one byte varies", random(5000, 0xff00, 1<<63)},
		{"duplicates", append(random(300, 0xf, 0), random(300, 0xf, 0)...)},
		{"all equal", random(1000, 0, 99)},
		{"ascending", ascending},
		{"descending", descending},
	} {
		t.Run(tt.name, func(t *testing.T) {
			want := slices.Clone(tt.fps)
			slices.Sort(want)
			got := slices.Clone(tt.fps)
			sortFingerprints(got, make([]uint64, len(got)))
			if !slices.Equal(got, want) {
				t.Fatalf("sortFingerprints ordered %d fingerprints differently from slices.Sort", len(got))
			}
		})
	}
}

// BenchmarkSortFingerprints sorts a record's bucket (a sixteenth of
// DefaultRememberIDs) by radix and, as the encoding did before, by
// comparison.
func BenchmarkSortFingerprints(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 4))
	fps := make([]uint64, DefaultRememberIDs/16)
	for i := range fps {
		fps[i] = rng.Uint64()
	}
	work, scratch := make([]uint64, len(fps)), make([]uint64, len(fps))
	b.Run("radix", func(b *testing.B) {
		for b.Loop() {
			copy(work, fps)
			sortFingerprints(work, scratch)
		}
	})
	b.Run("slices.Sort", func(b *testing.B) {
		for b.Loop() {
			copy(work, fps)
			slices.Sort(work)
		}
	})
}

// BenchmarkMarshalFullRecord encodes a partition's checkpoint with the
// record of closed sessions' ids full (DefaultRememberIDs) and 7,500 open
// sessions, as pipebench's partitions hold at 30,000 browsers: the work
// each partition's loop does at every checkpoint.
func BenchmarkMarshalFullRecord(b *testing.B) {
	p := newPartition(b, DefaultRules())
	closeInFives(&p.recent, randomFingerprints(DefaultRememberIDs), DefaultRememberIDs)
	for range 7500 {
		p.Assign(Input{EventID: uuid.New(), Site: "site", Visitor: uuid.New(), TimeMs: int64(DefaultRememberIDs)})
	}
	var size int
	for b.Loop() {
		state, err := p.MarshalBinary()
		if err != nil {
			b.Fatal(err)
		}
		size = len(state)
	}
	b.ReportMetric(float64(size)/(1<<20), "MiB")
}
