// Package spool owns the collector's bounded on-disk queue: records are
// appended to numbered segment files, each record framed with its length and
// a CRC-32C checksum, read back in append order by one drainer, and
// acknowledged with a commit marker (the ack file) so a restart resumes after
// the last record the drainer confirmed. It knows nothing about Kafka or
// events: a record is opaque bytes.
//
// # Durability (the fsync policy)
//
// Append returns once the records are written to the segment file, that is
// in the operating system's page cache (copied into the segment's shared
// mapping on Linux, mmap_linux.go; one write() elsewhere): a crash of the
// process (kill -9) loses nothing in any policy. What a power loss or kernel crash can lose
// depends on the policy:
//   - FsyncAlways: Append returns only after an fsync covering its records
//     (group commit: one fsync serves every Append waiting at that moment).
//     Nothing acknowledged is lost.
//   - FsyncEvery(d): a background fsync every d; up to d of acknowledged
//     records can be lost.
//   - FsyncNever: the kernel writes back when it chooses (about 30 s on
//     Linux by default).
//
// The ack file is overwritten in place (one pwrite per Ack, checksummed) and
// never fsynced: losing or tearing it in a power loss re-sends records
// already delivered (duplicates, never losses).
//
// # Recovery
//
// Open scans every segment. A torn or corrupt record (short header, length
// out of bounds, checksum mismatch) ends its segment: the file is truncated
// there, so garbage is never replayed, and every complete record before it is
// kept. New records always go to a fresh segment.
//
// One process at a time: Open locks the directory (lock_unix.go) until
// Close or the end of the process.
package spool

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ErrFull is returned by Append when the records would take the spool past
// its MaxBytes.
var ErrFull = errors.New("spool: full")

// ErrClosed is returned after Close.
var ErrClosed = errors.New("spool: closed")

// MaxRecordBytes bounds one record; a larger length in a header is
// corruption.
const MaxRecordBytes = 1 << 20

// headerBytes is a record's frame: length (uint32 LE), then CRC-32C
// (Castagnoli) of the length bytes and the payload.
const headerBytes = 8

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Fsync is a durability policy; see the package comment.
type Fsync struct {
	// Interval between background fsyncs; 0 with Always false means never.
	Interval time.Duration
	Always   bool
}

// The policies.
var (
	FsyncAlways = Fsync{Always: true}
	FsyncNever  = Fsync{}
)

// FsyncEvery fsyncs in the background every d.
func FsyncEvery(d time.Duration) Fsync { return Fsync{Interval: d} }

// ParseFsync reads "always", "never" or a duration such as "100ms".
func ParseFsync(s string) (Fsync, error) {
	switch s {
	case "always":
		return FsyncAlways, nil
	case "never":
		return FsyncNever, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return Fsync{}, fmt.Errorf("fsync policy %q: want always, never or a positive duration such as 100ms", s)
	}
	return FsyncEvery(d), nil
}

// String is the form ParseFsync reads.
func (f Fsync) String() string {
	switch {
	case f.Always:
		return "always"
	case f.Interval > 0:
		return f.Interval.String()
	}
	return "never"
}

// Options configure a spool.
type Options struct {
	// Dir holds the segments and the ack file; created if missing.
	Dir string
	// MaxBytes bounds the segment files on disk together.
	MaxBytes int64
	// SegmentBytes is the size after which a new segment starts; default
	// MaxBytes/8, at most 64 MiB and at least 64 KiB.
	SegmentBytes int64
	// Fsync is the durability policy.
	Fsync Fsync
	// Logger; default slog.Default().
	Logger *slog.Logger
}

// Position is a place in the spool: a segment and a byte offset in it.
type Position struct {
	Segment uint64
	Offset  int64
}

// Spool is the queue. Append is safe for concurrent use; Read and Ack are for
// one drainer.
type Spool struct {
	opts Options
	log  *slog.Logger

	mu       sync.Mutex
	closed   bool
	err      error // sticky fsync failure: the file state is unknown
	segs     []*segment
	cur      *os.File // the segment being appended to (last of segs)
	curMap   []byte   // cur mapped (mmap_linux.go); nil: Append writes
	released int64    // cur's bytes below this are out of the page tables
	disk     int64    // bytes of all segments
	ack      Position
	read     Position
	written  int64 // bytes appended by this process, for group commit
	synced   int64
	sealed   []sealedSegment // rotated segments awaiting their last fsync
	syncDone chan struct{}
	kick     chan struct{}
	notify   chan struct{}
	stop     chan struct{}
	wg       sync.WaitGroup

	rf    *os.File // read handle on segs[read segment]
	rfSeg uint64
	af    *os.File // the ack marker, overwritten in place
	lock  *os.File // holds the directory's lock (lockDir)
}

type segment struct {
	id   uint64
	size int64
}

// sealedSegment is a rotated segment file, its mapping and its records'
// size, closed once fsynced (closeSegment).
type sealedSegment struct {
	f    *os.File
	m    []byte
	size int64
}

// closeSegment unmaps f and cuts it to its records (a mapped segment is
// reserved whole up front), then closes it.
func closeSegment(g sealedSegment) error {
	var err error
	if g.m != nil {
		err = errors.Join(unmapSegment(g.m), g.f.Truncate(g.size))
	}
	return errors.Join(err, g.f.Close())
}

func segName(id uint64) string { return fmt.Sprintf("%020d.seg", id) }

const ackName = "ack"

// Open opens or creates the spool in o.Dir and recovers what a previous
// process left: torn tails are cut, and reading resumes after the last
// acknowledged record.
func Open(o Options) (*Spool, error) {
	if o.Dir == "" {
		return nil, errors.New("spool: no directory")
	}
	if o.MaxBytes <= 0 {
		return nil, fmt.Errorf("spool: max bytes %d: must be positive", o.MaxBytes)
	}
	if o.SegmentBytes <= 0 {
		o.SegmentBytes = min(max(o.MaxBytes/8, 64<<10), 64<<20)
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if err := os.MkdirAll(o.Dir, 0o750); err != nil {
		return nil, fmt.Errorf("spool: create %s: %w", o.Dir, err)
	}
	lock, err := lockDir(o.Dir)
	if err != nil {
		return nil, err
	}
	s := &Spool{opts: o, log: o.Logger, syncDone: make(chan struct{}), kick: make(chan struct{}, 1),
		notify: make(chan struct{}, 1), stop: make(chan struct{}), lock: lock}
	if err := s.open(); err != nil {
		s.release()
		return nil, err
	}
	if o.Fsync.Always || o.Fsync.Interval > 0 {
		s.wg.Add(1)
		go s.syncLoop()
	}
	return s, nil
}

// open recovers the directory and starts a segment and the ack marker.
func (s *Spool) open() error {
	if err := s.recover(); err != nil {
		return err
	}
	if err := s.rotate(0); err != nil {
		return err
	}
	af, err := openAck(s.opts.Dir, s.ack)
	if err != nil {
		return err
	}
	s.af = af
	return nil
}

// release closes what a failed Open had opened.
func (s *Spool) release() {
	if s.cur != nil {
		_ = closeSegment(sealedSegment{f: s.cur, m: s.curMap, size: s.segs[len(s.segs)-1].size})
	}
	if s.lock != nil {
		_ = s.lock.Close()
	}
}

// recover lists the segments, cuts each at its first bad record, and places
// the read cursor at the ack marker.
func (s *Spool) recover() error {
	entries, err := os.ReadDir(s.opts.Dir)
	if err != nil {
		return fmt.Errorf("spool: list %s: %w", s.opts.Dir, err)
	}
	var ids []uint64
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".seg")
		if !ok {
			continue
		}
		id, err := strconv.ParseUint(name, 10, 64)
		if err != nil {
			continue
		}
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	ack, ackOK := readAck(filepath.Join(s.opts.Dir, ackName))
	for _, id := range ids {
		path := filepath.Join(s.opts.Dir, segName(id))
		if ackOK && id < ack.Segment {
			if err := os.Remove(path); err != nil {
				return fmt.Errorf("spool: remove delivered segment: %w", err)
			}
			continue
		}
		good, total, err := scanSegment(path)
		if err != nil {
			return err
		}
		if good < total && !zeroTail(path, good, total) {
			s.log.Warn("spool: cut a torn or corrupt tail", "segment", path, "kept_bytes", good, "cut_bytes", total-good)
		}
		if good < total {
			if err := os.Truncate(path, good); err != nil {
				return fmt.Errorf("spool: truncate %s: %w", path, err)
			}
		}
		s.segs = append(s.segs, &segment{id: id, size: good})
		s.disk += good
	}
	if len(s.segs) > 0 {
		s.read = Position{Segment: s.segs[0].id}
		if ackOK && ack.Segment == s.segs[0].id && ack.Offset <= s.segs[0].size {
			s.read = ack
		}
	}
	s.ack = s.read
	return nil
}

// scanSegment returns the length of the prefix of complete, valid records
// and the file's size.
func scanSegment(path string) (good, total int64, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, fmt.Errorf("spool: open %s: %w", path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, 0, fmt.Errorf("spool: stat %s: %w", path, err)
	}
	total = st.Size()
	var buf []byte
	for good < total {
		rec, n, err := readRecord(f, good, total, buf)
		if err != nil {
			break
		}
		buf = rec[:0]
		good += n
	}
	return good, total, nil
}

// zeroTail reports whether the file holds only zeros from good to total:
// the unused part of a mapped segment's reservation, left by a process that
// ended without closing it (kill -9), rather than a torn record.
func zeroTail(path string, good, total int64) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	buf := make([]byte, 64<<10)
	for off := good; off < total; {
		n, err := f.ReadAt(buf[:min(int64(len(buf)), total-off)], off)
		for _, b := range buf[:n] {
			if b != 0 {
				return false
			}
		}
		off += int64(n)
		if err != nil {
			return off >= total
		}
	}
	return true
}

var errBadRecord = errors.New("spool: bad record")

// readRecord reads the record at off (the segment ends at end) into buf.
func readRecord(f *os.File, off, end int64, buf []byte) ([]byte, int64, error) {
	if end-off < headerBytes {
		return nil, 0, errBadRecord
	}
	var h [headerBytes]byte
	if _, err := f.ReadAt(h[:], off); err != nil {
		return nil, 0, fmt.Errorf("spool: read header: %w", err)
	}
	n := int64(binary.LittleEndian.Uint32(h[0:4]))
	if n == 0 || n > MaxRecordBytes || off+headerBytes+n > end {
		return nil, 0, errBadRecord
	}
	if int64(cap(buf)) < n {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	if _, err := f.ReadAt(buf, off+headerBytes); err != nil && !(errors.Is(err, io.EOF) && int64(len(buf)) == n) {
		return nil, 0, fmt.Errorf("spool: read record: %w", err)
	}
	sum := crc32.Update(crc32.Checksum(h[0:4], castagnoli), castagnoli, buf)
	if sum != binary.LittleEndian.Uint32(h[4:8]) {
		return nil, 0, errBadRecord
	}
	return buf, headerBytes + n, nil
}

func readAck(path string) (Position, bool) {
	b, err := os.ReadFile(path)
	if err != nil || len(b) != ackBytes {
		return Position{}, false
	}
	if crc32.Checksum(b[:16], castagnoli) != binary.LittleEndian.Uint32(b[16:]) {
		return Position{}, false
	}
	return Position{Segment: binary.LittleEndian.Uint64(b[0:8]), Offset: int64(binary.LittleEndian.Uint64(b[8:16]))}, true
}

// openAck opens the ack file for writeAck, creating it (holding p) if it is
// missing or malformed: from then on each Ack is one pwrite.
func openAck(dir string, p Position) (*os.File, error) {
	path := filepath.Join(dir, ackName)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o640)
	if err != nil {
		return nil, fmt.Errorf("spool: open ack marker: %w", err)
	}
	if err := writeAck(f, p); err != nil {
		_ = f.Close()
		return nil, err
	}
	if err := f.Truncate(ackBytes); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("spool: ack marker: %w", err)
	}
	return f, nil
}

// ackBytes is the ack marker's size: segment, offset, CRC-32C of both.
const ackBytes = 20

// writeAck overwrites the marker in place. A 20-byte pwrite at offset 0
// is never half done by a process crash; a power loss may tear it, which
// its checksum shows, and recovery then reads the first segment from its
// start (duplicates, never losses, as when the marker itself is lost).
func writeAck(f *os.File, p Position) error {
	var b [ackBytes]byte
	binary.LittleEndian.PutUint64(b[0:8], p.Segment)
	binary.LittleEndian.PutUint64(b[8:16], uint64(p.Offset))
	binary.LittleEndian.PutUint32(b[16:], crc32.Checksum(b[:16], castagnoli))
	if _, err := f.WriteAt(b[:], 0); err != nil {
		return fmt.Errorf("spool: write ack marker: %w", err)
	}
	return nil
}

// rotate starts a new segment with room for at least need bytes; s.mu is
// held (or s is not shared yet). The segment is reserved and mapped whole
// (mmap_linux.go) when the system allows it, else Append writes to it.
func (s *Spool) rotate(need int64) error {
	id := uint64(1)
	if len(s.segs) > 0 {
		id = s.segs[len(s.segs)-1].id + 1
	}
	f, err := os.OpenFile(filepath.Join(s.opts.Dir, segName(id)), os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o640)
	if err != nil {
		return fmt.Errorf("spool: create segment: %w", err)
	}
	m, merr := mapSegment(f, max(s.opts.SegmentBytes, need))
	if merr != nil {
		if !errors.Is(merr, errors.ErrUnsupported) {
			s.log.Debug("spool: segment not mapped; appending with write()", "err", merr)
		}
		_ = f.Truncate(0) // a reservation that could not be mapped
		m = nil
	}
	if s.cur != nil {
		old := sealedSegment{f: s.cur, m: s.curMap, size: s.segs[len(s.segs)-1].size}
		if s.opts.Fsync.Always || s.opts.Fsync.Interval > 0 {
			s.sealed = append(s.sealed, old) // the sync loop fsyncs and closes it
		} else if err := closeSegment(old); err != nil {
			s.log.Warn("spool: closing a full segment", "err", err)
		}
	}
	s.cur, s.curMap, s.released = f, m, 0
	s.segs = append(s.segs, &segment{id: id})
	if len(s.segs) == 1 {
		s.read, s.ack = Position{Segment: id}, Position{Segment: id}
	}
	return nil
}

// frame writes recs into dst (exactly their framed size): per record its
// length and checksum, then its bytes.
func frame(dst []byte, recs [][]byte) {
	for _, r := range recs {
		binary.LittleEndian.PutUint32(dst[0:4], uint32(len(r)))
		binary.LittleEndian.PutUint32(dst[4:8], crc32.Update(crc32.Checksum(dst[0:4], castagnoli), castagnoli, r))
		dst = dst[headerBytes+copy(dst[headerBytes:], r):]
	}
}

// releaseEvery is how much of a mapped segment is written between
// releaseMapped calls, which keep the resident memory of a 64 MiB segment
// small.
const releaseEvery = 4 << 20

// Append writes records in order, as one write (into the segment's mapping,
// or one write()). Under FsyncAlways it returns after they are fsynced. It
// returns ErrFull, writing nothing, when they do not fit. It keeps no
// reference to recs once it returns (callers reuse their buffers).
func (s *Spool) Append(ctx context.Context, recs ...[]byte) error {
	size := int64(0)
	for _, r := range recs {
		if len(r) == 0 || len(r) > MaxRecordBytes {
			return fmt.Errorf("spool: record of %d bytes: must be 1..%d", len(r), MaxRecordBytes)
		}
		size += headerBytes + int64(len(r))
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	if s.err != nil {
		err := s.err
		s.mu.Unlock()
		return err
	}
	if s.disk+size > s.opts.MaxBytes {
		s.mu.Unlock()
		return ErrFull
	}
	last := s.segs[len(s.segs)-1]
	full := last.size > 0 && last.size+size > s.opts.SegmentBytes
	if s.curMap != nil {
		full = last.size+size > int64(len(s.curMap))
	}
	if full {
		if err := s.rotate(size); err != nil {
			s.mu.Unlock()
			return err
		}
		last = s.segs[len(s.segs)-1]
	}
	if s.curMap != nil {
		frame(s.curMap[last.size:last.size+size], recs)
		if end := last.size + size; end-s.released >= releaseEvery {
			page := int64(os.Getpagesize())
			releaseMapped(s.curMap[s.released : end/page*page])
			s.released = end / page * page
		}
	} else {
		buf := make([]byte, size)
		frame(buf, recs)
		if _, err := s.cur.WriteAt(buf, last.size); err != nil {
			// A short write leaves a torn tail: start a new segment so the
			// next records are not appended after garbage (recovery cuts it).
			s.log.Error("spool: write failed", "err", err)
			if st, serr := s.cur.Stat(); serr == nil {
				s.disk += st.Size() - last.size
				last.size = st.Size()
			}
			_ = s.rotate(0)
			s.mu.Unlock()
			return fmt.Errorf("spool: append: %w", err)
		}
	}
	last.size += size
	s.disk += size
	s.written += size
	target := s.written
	select {
	case s.notify <- struct{}{}:
	default:
	}
	if !s.opts.Fsync.Always {
		s.mu.Unlock()
		return nil
	}
	for s.synced < target && s.err == nil {
		if s.closed {
			s.mu.Unlock()
			return ErrClosed // written, but Close came before its fsync
		}
		done := s.syncDone
		select {
		case s.kick <- struct{}{}:
		default:
		}
		s.mu.Unlock()
		select {
		case <-done:
		case <-ctx.Done():
			// Written but not yet known to be on disk: the caller must not
			// count it as accepted. It may still be delivered (a duplicate
			// of an event the client sends again).
			return fmt.Errorf("spool: waiting for fsync: %w", ctx.Err())
		}
		s.mu.Lock()
	}
	err := s.err
	s.mu.Unlock()
	return err
}

func (s *Spool) syncLoop() {
	defer s.wg.Done()
	var tick <-chan time.Time
	if s.opts.Fsync.Interval > 0 {
		t := time.NewTicker(s.opts.Fsync.Interval)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-s.stop:
			return
		case <-s.kick:
		case <-tick:
		}
		s.syncOnce()
	}
}

// syncOnce fsyncs everything written so far and wakes the waiters.
func (s *Spool) syncOnce() {
	s.mu.Lock()
	target, cur, sealed := s.written, s.cur, s.sealed
	s.sealed = nil
	if target == s.synced && len(sealed) == 0 {
		s.mu.Unlock()
		return
	}
	s.mu.Unlock()
	var err error
	for _, g := range sealed {
		err = errors.Join(err, g.f.Sync(), closeSegment(g))
	}
	if cur != nil {
		err = errors.Join(err, cur.Sync())
	}
	s.mu.Lock()
	if err != nil && s.err == nil && !s.closed {
		s.err = fmt.Errorf("spool: fsync: %w", err)
		s.log.Error("spool: fsync failed; refusing new records", "err", err)
	}
	if target > s.synced {
		s.synced = target
	}
	close(s.syncDone)
	s.syncDone = make(chan struct{})
	s.mu.Unlock()
}

// WaitsForSync is true when Append waits for an fsync (FsyncAlways), the
// only wait its context bounds.
func (s *Spool) WaitsForSync() bool { return s.opts.Fsync.Always }

// Notify receives a value after records were appended (coalesced), so the
// drainer can sleep while the spool is empty.
func (s *Spool) Notify() <-chan struct{} { return s.notify }

// Read returns up to maxRecords records, together at most about maxBytes,
// from the read cursor on, and the position after them (to pass to Ack). The
// records are copies. An empty result means the spool is drained.
//
// Each segment's part is read with one ReadAt and split into records in
// memory (the records share that buffer): a drainer batch of a thousand
// records is one read, not two per record.
func (s *Spool) Read(maxRecords int, maxBytes int64) ([][]byte, Position, error) {
	var out [][]byte
	var total int64
	for len(out) < maxRecords && total < maxBytes {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return nil, Position{}, ErrClosed
		}
		idx := s.segIndex(s.read.Segment)
		if idx < 0 {
			s.mu.Unlock()
			break
		}
		seg := s.segs[idx]
		end := seg.size
		if s.read.Offset >= end {
			if idx == len(s.segs)-1 {
				s.mu.Unlock()
				break // drained
			}
			s.read = Position{Segment: s.segs[idx+1].id}
			s.mu.Unlock()
			continue
		}
		pos := s.read
		s.mu.Unlock()
		f, err := s.readHandle(pos.Segment)
		if err != nil {
			return out, pos, err
		}
		// At least one whole record: its header says how long it is.
		chunk := min(end-pos.Offset, max(maxBytes-total, headerBytes))
		buf := make([]byte, chunk)
		if _, err := f.ReadAt(buf, pos.Offset); err != nil && !(errors.Is(err, io.EOF) && len(buf) == int(chunk)) {
			return out, pos, fmt.Errorf("spool: read segment %d offset %d: %w", pos.Segment, pos.Offset, err)
		}
		var off int64
		for len(out) < maxRecords && total < maxBytes {
			rec, n, err := splitRecord(buf[off:])
			if errors.Is(err, errShortRecord) {
				if off > 0 {
					break // the rest is the next chunk's
				}
				// One record larger than what was left of maxBytes.
				if rec, n, err = readRecord(f, pos.Offset, end, nil); err == nil {
					out, total, off = append(out, rec), total+n, n
				}
				if err != nil {
					return out, pos, fmt.Errorf("spool: segment %d offset %d: %w", pos.Segment, pos.Offset, err)
				}
				break
			}
			if err != nil {
				s.mu.Lock()
				s.read.Offset = pos.Offset + off
				s.mu.Unlock()
				return out, Position{Segment: pos.Segment, Offset: pos.Offset + off},
					fmt.Errorf("spool: segment %d offset %d: %w", pos.Segment, pos.Offset+off, err)
			}
			out = append(out, rec)
			total += n
			off += n
			if off == int64(len(buf)) {
				break
			}
		}
		s.mu.Lock()
		s.read.Offset = pos.Offset + off
		s.mu.Unlock()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return out, s.read, nil
}

var errShortRecord = errors.New("spool: record continues past the buffer")

// splitRecord checks the record at the start of b, which holds whole records
// of a segment's valid part and possibly a partial last one
// (errShortRecord).
func splitRecord(b []byte) ([]byte, int64, error) {
	if len(b) < headerBytes {
		return nil, 0, errShortRecord
	}
	n := int64(binary.LittleEndian.Uint32(b[0:4]))
	if n == 0 || n > MaxRecordBytes {
		return nil, 0, errBadRecord
	}
	if headerBytes+n > int64(len(b)) {
		return nil, 0, errShortRecord
	}
	rec := b[headerBytes : headerBytes+n : headerBytes+n]
	sum := crc32.Update(crc32.Checksum(b[0:4], castagnoli), castagnoli, rec)
	if sum != binary.LittleEndian.Uint32(b[4:8]) {
		return nil, 0, errBadRecord
	}
	return rec, headerBytes + n, nil
}

// Rewind moves the read cursor back to the ack marker, so records read but
// not acknowledged are read again.
func (s *Spool) Rewind() {
	s.mu.Lock()
	s.read = s.ack
	s.mu.Unlock()
}

func (s *Spool) segIndex(id uint64) int {
	for i, g := range s.segs {
		if g.id == id {
			return i
		}
	}
	return -1
}

func (s *Spool) readHandle(id uint64) (*os.File, error) {
	if s.rf != nil && s.rfSeg == id {
		return s.rf, nil
	}
	if s.rf != nil {
		_ = s.rf.Close()
		s.rf = nil
	}
	f, err := os.Open(filepath.Join(s.opts.Dir, segName(id)))
	if err != nil {
		return nil, fmt.Errorf("spool: open segment for reading: %w", err)
	}
	s.rf, s.rfSeg = f, id
	return f, nil
}

// Ack records that everything before p was delivered: the ack file is
// replaced and fully delivered segments are deleted.
func (s *Spool) Ack(p Position) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if err := writeAck(s.af, p); err != nil {
		return err
	}
	s.ack = p
	for len(s.segs) > 1 && s.segs[0].id < p.Segment {
		g := s.segs[0]
		if s.rf != nil && s.rfSeg == g.id {
			_ = s.rf.Close()
			s.rf = nil
		}
		if err := os.Remove(filepath.Join(s.opts.Dir, segName(g.id))); err != nil {
			return fmt.Errorf("spool: remove delivered segment: %w", err)
		}
		s.disk -= g.size
		s.segs = s.segs[1:]
	}
	return nil
}

// Pending is the number of bytes not yet acknowledged.
func (s *Spool) Pending() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.disk
	if len(s.segs) > 0 && s.segs[0].id == s.ack.Segment {
		p -= s.ack.Offset
	}
	return p
}

// DiskBytes is the size of the segment files, the figure MaxBytes bounds.
func (s *Spool) DiskBytes() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.disk
}

// Close fsyncs (unless the policy is never) and closes the files.
func (s *Spool) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.mu.Unlock()
	close(s.stop)
	s.wg.Wait()
	if s.opts.Fsync.Always || s.opts.Fsync.Interval > 0 {
		s.syncOnce()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	var err error
	if s.cur != nil {
		err = closeSegment(sealedSegment{f: s.cur, m: s.curMap, size: s.segs[len(s.segs)-1].size})
		s.cur, s.curMap = nil, nil
	}
	for _, g := range s.sealed {
		_ = closeSegment(g)
	}
	if s.rf != nil {
		_ = s.rf.Close()
	}
	_ = s.af.Close()
	if s.lock != nil {
		_ = s.lock.Close()
	}
	close(s.syncDone)
	return err
}
