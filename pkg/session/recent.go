package session

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"time"
)

// RememberFor is how long, in log time, the event ids of a closed session
// stay in the partition's record (Rules.RememberIDs), so that a redelivery
// after its session closed counts once (sessions.md: "at least a day of
// log"). Log time is the latest Kafka record timestamp the partition has
// seen (Input.RecordMs), else its clock: a redelivery is a matter of when
// a message was sent again, not of when its event happened, so imported
// history sent twice within a day counts once however old its events are.
// A bound on the ids can shorten it.
const RememberFor = 24 * time.Hour

// The record is time-bucketed: ids closed within one bucketSpan of clock
// time share a bucket, and a bucket is dropped whole, once the next bucket
// started more than RememberFor ago, or early, oldest first, when the
// record holds more than Rules.RememberIDs. A bucket also ends when it
// holds a sixteenth of the bound, so that dropping one early forgets at
// most that much.
const bucketSpan = int64(10 * time.Minute / time.Millisecond)

// recent remembers the fingerprints (8 bytes, as in a session) of the
// events of closed sessions. One open-addressing table (linear probing)
// holds them all, each slot tagged with its bucket's id modulo 256; a slot
// whose bucket was dropped is stale: it matches nothing and is reused or
// removed by the next rebuild. Memory: 9 bytes a slot at a load between
// 3/8 and 3/4, so 12 to 24 bytes a remembered id.
type recent struct {
	slots   []uint64 // fingerprint, 0 for empty (a fingerprint of 0 is stored as 1)
	tags    []uint8  // bucket id of each slot, modulo 256
	used    int      // slots holding a fingerprint, live or stale
	live    int      // fingerprints in live buckets
	buckets []bucket // live buckets, oldest first
	nextID  uint64   // id of the next bucket
	alive   [256]bool
	present [256]int // slots per tag, live or stale
	// newestMs is the latest event time of the sessions in live buckets:
	// an event after it cannot be a remembered one, so an on-time event
	// (the clock closes a session 32 minutes after its latest event) skips
	// the table and its cache miss.
	newestMs int64

	// logMs is the latest record timestamp seen (Input.RecordMs), 0 when
	// the log gave none: the record's time, see now.
	logMs int64

	// forgotten counts ids dropped before RememberFor passed, because of
	// the bound; not part of the state (a metric).
	forgotten uint64
}

// now is the record's time: the log's (the latest record timestamp) when
// the log has timestamps, else the partition clock.
func (r *recent) now(clock int64) int64 {
	if r.logMs != 0 {
		return r.logMs
	}
	return clock
}

type bucket struct {
	id      uint64
	startMs int64 // the record's time (now) when the bucket was opened
	maxMs   int64 // latest event time of its sessions
	n       int
}

func recentKey(fp uint64) uint64 {
	if fp == 0 {
		return 1
	}
	return fp
}

func (r *recent) slot(fp uint64) int {
	return int((fp * 0x9E3779B97F4A7C15) >> (64 - bits.Len(uint(len(r.slots)-1))))
}

// has reports whether fp, of an event at t, is remembered. A redelivery
// carries its first delivery's time, which is at most its session's latest
// event time, so t past newestMs answers no without a look.
func (r *recent) has(fp uint64, t int64) bool {
	if r.live == 0 || t > r.newestMs {
		return false
	}
	fp = recentKey(fp)
	mask := len(r.slots) - 1
	for i := r.slot(fp); ; i = (i + 1) & mask {
		switch v := r.slots[i]; {
		case v == 0:
			return false
		case v == fp && r.alive[r.tags[i]]:
			return true
		}
	}
}

// add remembers the fingerprints fps (8 bytes each, big-endian, as a
// session holds them) of a session whose latest event is at lastMs, closed
// at clock, within limit ids.
func (r *recent) add(fps []byte, lastMs, clock int64, limit int) {
	n := len(fps) / 8
	if n == 0 || limit <= 0 {
		return
	}
	per := max(limit/16, 1)
	if len(r.buckets) == 0 || clock-r.buckets[len(r.buckets)-1].startMs >= bucketSpan || r.buckets[len(r.buckets)-1].n >= per {
		r.open(clock)
	}
	r.reserve(n)
	b := &r.buckets[len(r.buckets)-1]
	tag := uint8(b.id)
	for i := 0; i < n; i++ {
		r.insert(recentKey(binary.BigEndian.Uint64(fps[8*i:])), tag)
	}
	b.n += n
	b.maxMs = max(b.maxMs, lastMs)
	r.newestMs = max(r.newestMs, lastMs)
	r.live += n
	for r.live > limit && len(r.buckets) > 0 {
		r.forgotten += uint64(r.buckets[0].n)
		r.drop()
	}
}

// expire drops the buckets every id of which closed more than RememberFor
// before clock: those whose successor started that long ago.
func (r *recent) expire(clock int64) {
	horizon := clock - RememberFor.Milliseconds()
	for len(r.buckets) > 1 && r.buckets[1].startMs < horizon {
		r.drop()
	}
	if len(r.buckets) == 1 && r.buckets[0].startMs+bucketSpan < horizon {
		r.drop()
	}
	if r.used-r.live > max(r.live, 1024) {
		r.rebuild(tableSize(r.live))
	}
}

func (r *recent) drop() {
	b := r.buckets[0]
	r.alive[uint8(b.id)] = false
	r.live -= b.n
	r.buckets = append(r.buckets[:0], r.buckets[1:]...)
	r.newestMs = math.MinInt64
	for _, b := range r.buckets {
		r.newestMs = max(r.newestMs, b.maxMs)
	}
}

func (r *recent) open(clock int64) {
	tag := uint8(r.nextID)
	// Live buckets span at most a day of 10-minute buckets plus 17 cut by
	// count, well under 256; should the bucket 256 ids ago still live, it
	// goes first, so that a tag never names two buckets.
	for r.alive[tag] {
		r.forgotten += uint64(r.buckets[0].n)
		r.drop()
	}
	if r.present[tag] > 0 {
		// Stale slots of the bucket 256 ids ago would come alive again.
		r.rebuild(len(r.slots))
	}
	r.buckets = append(r.buckets, bucket{id: r.nextID, startMs: clock, maxMs: math.MinInt64})
	r.alive[tag] = true
	r.nextID++
}

// reserve makes room for n more fingerprints at a load of at most 3/4.
func (r *recent) reserve(n int) {
	if 4*(r.used+n) <= 3*len(r.slots) {
		return
	}
	r.rebuild(tableSize(r.live + n))
}

// tableSize is the smallest table at most half full with n fingerprints,
// so it fills to 3/4 before it grows again.
func tableSize(n int) int {
	size := 1024
	for size < 2*n {
		size *= 2
	}
	return size
}

// rebuild copies the live fingerprints into a table of size slots.
func (r *recent) rebuild(size int) {
	old, oldTags := r.slots, r.tags
	r.slots, r.tags, r.used, r.present = make([]uint64, size), make([]uint8, size), 0, [256]int{}
	for i, v := range old {
		if v != 0 && r.alive[oldTags[i]] {
			r.insert(v, oldTags[i])
		}
	}
}

func (r *recent) insert(fp uint64, tag uint8) {
	mask := len(r.slots) - 1
	for i := r.slot(fp); ; i = (i + 1) & mask {
		v := r.slots[i]
		if v == 0 {
			r.slots[i], r.tags[i] = fp, tag
			r.used++
			r.present[tag]++
			return
		}
		if !r.alive[r.tags[i]] { // reuse a stale slot
			r.present[r.tags[i]]--
			r.slots[i], r.tags[i] = fp, tag
			r.present[tag]++
			return
		}
	}
}

// The record's section of a checkpoint, after the sessions: a tag, its own
// version, the log time (version 2), then the live buckets oldest first,
// each with its fingerprints sorted, so equal records give equal bytes.
// Version 1 (the record in partition clock time) restores with no log time.
const (
	recentSection = 'r'
	recentVersion = 2
)

func (r *recent) appendTo(buf []byte) []byte {
	buf = append(buf, recentSection, recentVersion)
	buf = binary.AppendVarint(buf, r.logMs)
	buf = binary.AppendUvarint(buf, r.nextID)
	buf = binary.AppendUvarint(buf, uint64(len(r.buckets)))
	// The live fingerprints, bucket after bucket in the buckets' order,
	// placed in one pass over the table: a live bucket's slots are its n
	// (add and readFrom count every insert, and only drop removes any). A
	// full record (DefaultRememberIDs) is written at every checkpoint, in
	// the partition's loop: grouping through a map and sorting by
	// comparison took 240 ms of it per partition, a stall of every
	// partition's events each checkpoint interval (docs/benchmarks.md,
	// issue 5).
	var start, end [256]int
	total, longest := 0, 0
	for _, b := range r.buckets {
		t := uint8(b.id)
		start[t], end[t] = total, total
		total += b.n
		longest = max(longest, b.n)
	}
	fps := make([]uint64, total)
	for i, v := range r.slots {
		if t := r.tags[i]; v != 0 && r.alive[t] {
			fps[end[t]] = v
			end[t]++
		}
	}
	buf = slices.Grow(buf, 8*total+32*len(r.buckets))
	scratch := make([]uint64, longest)
	for _, b := range r.buckets {
		t := uint8(b.id)
		bucket := fps[start[t]:end[t]]
		sortFingerprints(bucket, scratch[:len(bucket)])
		buf = binary.AppendUvarint(buf, b.id)
		buf = binary.AppendVarint(buf, b.startMs)
		buf = binary.AppendVarint(buf, b.maxMs)
		buf = binary.AppendUvarint(buf, uint64(len(bucket)))
		for _, fp := range bucket {
			buf = binary.BigEndian.AppendUint64(buf, fp)
		}
	}
	return buf
}

// sortFingerprints sorts fps ascending: a least-significant-digit radix
// sort by bytes, using scratch (as long as fps), that skips the bytes all
// fingerprints share. It orders as slices.Sort does, in under a third of
// its time on a bucket of the record (BenchmarkSortFingerprints).
func sortFingerprints(fps, scratch []uint64) {
	if len(fps) < 256 {
		slices.Sort(fps)
		return
	}
	var counts [8][256]int
	for _, v := range fps {
		for d := range 8 {
			counts[d][byte(v>>(8*d))]++
		}
	}
	src, dst := fps, scratch
	for d := range 8 {
		c := &counts[d]
		if c[byte(src[0]>>(8*d))] == len(src) {
			continue // every fingerprint has this byte: the pass would not move one
		}
		pos := 0
		for i := range c {
			c[i], pos = pos, pos+c[i]
		}
		shift := 8 * d
		for _, v := range src {
			k := byte(v >> shift)
			dst[c[k]] = v
			c[k]++
		}
		src, dst = dst, src
	}
	if &src[0] != &fps[0] {
		copy(fps, src)
	}
}

// readFrom reads what appendTo wrote, after its section tag.
func (r *recent) readFrom(d *decoder) {
	v := d.byte()
	if v != 1 && v != recentVersion {
		if d.err == nil {
			d.err = fmt.Errorf("%w: id record version %d, this build reads 1 and %d", errCorrupt, v, recentVersion)
		}
		return
	}
	if v >= 2 {
		r.logMs = d.varint()
	}
	r.nextID = d.uvarint()
	r.newestMs = math.MinInt64
	nb := d.uvarint()
	if nb > 256 {
		d.fail()
		return
	}
	for range nb {
		b := bucket{id: d.uvarint(), startMs: d.varint(), maxMs: d.varint()}
		n := d.uvarint()
		if d.err != nil || n*8 > uint64(len(d.b)) || b.id >= r.nextID || r.alive[uint8(b.id)] {
			d.fail()
			return
		}
		fps := d.bytes(8 * int(n))
		r.buckets = append(r.buckets, b)
		r.alive[uint8(b.id)] = true
		r.reserve(int(n))
		for i := range int(n) {
			r.insert(recentKey(binary.BigEndian.Uint64(fps[8*i:])), uint8(b.id))
		}
		r.buckets[len(r.buckets)-1].n = int(n)
		r.live += int(n)
		r.newestMs = max(r.newestMs, b.maxMs)
	}
}

// RecentIDs is the number of event ids of closed sessions the partition
// remembers, to catch their redelivery.
func (p *Partition) RecentIDs() int { return p.recent.live }

// RecentHorizon is how far back in log time the record reaches: every
// id whose session closed within it is remembered. It is RememberFor
// once the record has run that long, unless Rules.RememberIDs cut it
// shorter (then ForgottenIDs grows).
func (p *Partition) RecentHorizon() time.Duration {
	if len(p.recent.buckets) == 0 {
		return 0
	}
	return time.Duration(p.recent.now(p.clock)-p.recent.buckets[0].startMs) * time.Millisecond
}

// ForgottenIDs counts, since the Partition was made or restored, the ids
// dropped from the record before RememberFor passed because it held
// Rules.RememberIDs: a redelivery of one of them would count again.
func (p *Partition) ForgottenIDs() uint64 { return p.recent.forgotten }
