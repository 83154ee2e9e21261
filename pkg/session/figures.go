package session

import (
	"encoding/binary"
	"strings"

	"github.com/google/uuid"
)

// Figures of a session: the Partition keeps them for every open session as
// its events are assigned, and Changed hands out those of the sessions that
// changed since the last call, one session_versions row each
// (schema/0030_session_versions.sql).
//
// They are a function of the log alone: the figures after a session's k-th
// distinct event are the same whenever they are computed (a replay after a
// crash, a new owner after a rebalance, a retried flush), so Version k names
// one row. An event id the session already holds (a redelivery) changes
// nothing.

// Kind is what an event is, as far as the figures care.
type Kind uint8

const (
	KindOther      Kind = iota // not told (rules-only callers): counted as an event only
	KindPageview               // counted in pageviews and pages
	KindCustom                 // counted in custom events
	KindEngagement             // page hidden: its scroll depth counts
)

// MaxPages is how many distinct pages a session lists with their views;
// views of further pages are counted under OtherPages, so that a crawler
// cannot grow a session without bound.
const MaxPages = 64

// OtherPages is the page under which views beyond MaxPages distinct pages
// are counted.
const OtherPages = "(other)"

// Attrs are an event's attributes that a session takes from its entry (its
// earliest event) and, for Pathname, its exit (its latest event).
type Attrs struct {
	Hostname, Pathname, Referrer, ReferrerDomain, ReferrerSource, Channel string
	UTMSource, UTMMedium, UTMCampaign, UTMTerm, UTMContent, ClickIDType   string
	Browser, BrowserVersion, OS, Device                                   string
	ScreenWidth, ScreenHeight                                             uint16
	// Country is the ISO 3166-1 alpha-2 code of the client address, or
	// empty (the collector looks it up).
	Country string
}

// attrStrings is the number of strings in Attrs.
const attrStrings = 17

// strings of Attrs in their encoding order. A new one goes last: a
// checkpoint of an older version holds the ones before it (state.go).
func (a *Attrs) fields() [attrStrings]*string {
	return [attrStrings]*string{&a.Hostname, &a.Pathname, &a.Referrer, &a.ReferrerDomain, &a.ReferrerSource, &a.Channel,
		&a.UTMSource, &a.UTMMedium, &a.UTMCampaign, &a.UTMTerm, &a.UTMContent, &a.ClickIDType,
		&a.Browser, &a.BrowserVersion, &a.OS, &a.Device, &a.Country}
}

// Facts are what the figures need of an event (Input.Facts).
type Facts struct {
	Kind        Kind
	IsBot       bool
	ScrollDepth uint8
	Attrs       Attrs
}

// Figures are one version of a session: its state after Version distinct
// events.
type Figures struct {
	SessionID uuid.UUID
	Site      string
	Visitor   uuid.UUID
	// StartMs and Reason are the opening event's and never change.
	StartMs int64
	Reason  Reason
	// Version is the number of distinct events (= Events): the highest
	// version of a session is the whole session.
	Version                                         uint32
	FirstMs, LastMs                                 int64
	Events, Pageviews, CustomEvents, Late, Bridging uint32
	// IsBot is true when any event came from a bot.
	IsBot     bool
	MaxScroll uint8
	// Entry is the earliest event's (ties: the smaller event id).
	Entry Attrs
	// ExitPathname is the latest event's path (ties: the larger event id).
	ExitPathname string
	// Pages are the distinct pageview paths in order of first appearance in
	// the log (at most MaxPages, then OtherPages), PageViews their views.
	Pages     []string
	PageViews []uint32
}

// fingerprint is the record of an event id inside its session: its first 8
// bytes, big-endian, so that fingerprints order as the ids do (they differ
// there but for a 2^-64 chance) and ties between events are broken by id.
func fingerprint(id uuid.UUID) uint64 { return binary.BigEndian.Uint64(id[:8]) }

// The session's variable-size figures live in one byte slice, open.data:
//
//	fingerprints  8 bytes each, sorted, one per distinct event (events of them)
//	entry         the strings of Attrs (attrStrings), encoded, then uvarint screen width and height
//	exit          the exit path, encoded
//	pages         [4-byte views][encoded path] ...
//
// A string is encoded as a uvarint v: odd v is index v>>1 in the
// partition's interner, even v is an inline string of v>>1 bytes that
// follow. One slice keeps a session near one allocation; the interner keeps
// the repeated values (hosts, channels, sources, browsers, paths) once per
// partition.

const (
	flagBot    = 1 << iota
	flagDirty  // changed since the last Changed
	flagLegacy // restored from a version 1 checkpoint: its figures are incomplete and it writes no versions
)

// interner holds each short value once per partition. It only grows, up to
// maxInterned values; after that new values are stored inline, so memory
// stays bounded whatever a stranger sends.
type interner struct {
	idx  map[string]uint32
	vals []string
}

const (
	maxInterned  = 1 << 16
	maxInternLen = 96
)

func (in *interner) enc(dst []byte, s string) []byte {
	if i, ok := in.idx[s]; ok {
		return binary.AppendUvarint(dst, uint64(i)<<1|1)
	}
	if len(s) <= maxInternLen && len(in.vals) < maxInterned {
		if in.idx == nil {
			in.idx = map[string]uint32{}
		}
		s = strings.Clone(s)
		i := uint32(len(in.vals))
		in.vals = append(in.vals, s)
		in.idx[s] = i
		return binary.AppendUvarint(dst, uint64(i)<<1|1)
	}
	dst = binary.AppendUvarint(dst, uint64(len(s))<<1)
	return append(dst, s...)
}

func (in *interner) dec(b []byte) (string, []byte) {
	v, n := binary.Uvarint(b)
	b = b[n:]
	if v&1 == 1 {
		return in.vals[v>>1], b
	}
	l := int(v >> 1)
	return string(b[:l]), b[l:]
}

// skip returns b after one encoded string.
func skip(b []byte) []byte {
	v, n := binary.Uvarint(b)
	b = b[n:]
	if v&1 == 0 {
		b = b[v>>1:]
	}
	return b
}

// entrySize is the length of the entry section at the start of b.
func entrySize(b []byte) int {
	rest := b
	for range attrStrings {
		rest = skip(rest)
	}
	for range 2 {
		_, n := binary.Uvarint(rest)
		rest = rest[n:]
	}
	return len(b) - len(rest)
}

// sections returns where s's entry and exit sections start and end.
func (s *open) sections() (entryAt, exitAt, pagesAt int) {
	entryAt = 8 * int(s.events)
	if len(s.data) == entryAt {
		return entryAt, entryAt, entryAt // no entry yet
	}
	exitAt = entryAt + entrySize(s.data[entryAt:])
	pagesAt = len(s.data) - len(skip(s.data[exitAt:]))
	return entryAt, exitAt, pagesAt
}

// splice replaces b[off:off+oldLen] with repl, growing b with some room.
func splice(b []byte, off, oldLen int, repl []byte) []byte {
	delta := len(repl) - oldLen
	end := len(b)
	switch {
	case delta > 0:
		n := end + delta
		if n > cap(b) {
			// Up to the next 16 bytes, which is the allocator's size class
			// for small slices: a session grows by 8 to 20 bytes an event.
			nb := make([]byte, end, (n+15)&^15)
			copy(nb, b)
			b = nb
		}
		b = b[:n]
		copy(b[off+len(repl):], b[off+oldLen:end])
	case delta < 0:
		copy(b[off+len(repl):], b[off+oldLen:])
		b = b[:end+delta]
	}
	copy(b[off:], repl)
	return b
}

func (s *open) fps() []byte { return s.data[:8*int(s.events)] }

// has reports whether the session holds the event fingerprint fp.
func (s *open) has(fp uint64) bool {
	_, found := s.fpPos(fp)
	return found
}

func (s *open) fpPos(fp uint64) (int, bool) {
	fps := s.fps()
	lo, hi := 0, len(fps)/8
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		v := binary.BigEndian.Uint64(fps[8*m:])
		switch {
		case v == fp:
			return m, true
		case v < fp:
			lo = m + 1
		default:
			hi = m
		}
	}
	return lo, false
}

// observe adds a new distinct event to s's figures. It runs before the
// rules update s.firstMs and s.lastMs, so it sees the span without the event.
func (p *Partition) observe(key visitorKey, s *open, fp uint64, in *Input, late, bridging bool) {
	var none Facts
	f := in.Facts
	if f == nil {
		f = &none
	}
	t := in.TimeMs
	first := s.events == 0
	_, exitAt0, pagesAt0 := s.sections()
	entryLen, exitLen := exitAt0-8*int(s.events), pagesAt0-exitAt0
	pos, _ := s.fpPos(fp)
	var fb [8]byte
	binary.BigEndian.PutUint64(fb[:], fp)
	s.data = splice(s.data, 8*pos, 0, fb[:])
	s.events++
	if late {
		s.late++
	}
	if bridging {
		s.bridging++
	}
	switch f.Kind {
	case KindPageview:
		s.pageviews++
	case KindCustom:
		s.custom++
	}
	if f.IsBot {
		s.flags |= flagBot
	}
	s.maxScroll = max(s.maxScroll, f.ScrollDepth)
	entryAt := 8 * int(s.events)
	if first || t < s.firstMs || t == s.firstMs && fp < s.entryFP {
		enc := p.scratch[:0]
		for _, v := range f.Attrs.fields() {
			enc = p.strs.enc(enc, *v)
		}
		enc = binary.AppendUvarint(enc, uint64(f.Attrs.ScreenWidth))
		enc = binary.AppendUvarint(enc, uint64(f.Attrs.ScreenHeight))
		s.data = splice(s.data, entryAt, entryLen, enc)
		entryLen = len(enc)
		s.entryFP = fp
		p.scratch = enc
	}
	exitAt := entryAt + entryLen
	path := p.strs.enc(p.scratch[:0], f.Attrs.Pathname)
	if first || t > s.lastMs || t == s.lastMs && fp > s.exitFP {
		s.data = splice(s.data, exitAt, exitLen, path)
		exitLen = len(path)
		s.exitFP = fp
	}
	if f.Kind == KindPageview {
		p.addPageview(s, exitAt+exitLen, path)
	}
	p.scratch = path
	if s.flags&(flagDirty|flagLegacy) == 0 {
		s.flags |= flagDirty
		p.dirty = append(p.dirty, key)
	}
}

// addPageview counts one view of the encoded path in the pages section,
// which starts at off.
func (p *Partition) addPageview(s *open, off int, path []byte) {
	b := s.data[off:]
	n := 0
	for len(b) > 0 {
		rest := skip(b[4:])
		enc := b[4 : len(b)-len(rest)]
		if string(enc) == string(path) {
			binary.LittleEndian.PutUint32(b, binary.LittleEndian.Uint32(b)+1)
			return
		}
		n++
		b = rest
	}
	if n >= MaxPages {
		other := p.strs.enc(nil, OtherPages)
		if string(path) != string(other) {
			p.addPageview(s, off, other)
			return
		}
	}
	entry := binary.LittleEndian.AppendUint32(make([]byte, 0, 4+len(path)), 1)
	entry = append(entry, path...)
	s.data = splice(s.data, len(s.data), 0, entry)
}

// figures decodes s.
func (p *Partition) figures(key visitorKey, s *open) Figures {
	f := Figures{SessionID: s.id, Site: p.siteNames[key.site], Visitor: key.visitor, StartMs: s.startMs, Reason: s.reason,
		Version: s.events, FirstMs: s.firstMs, LastMs: s.lastMs, Events: s.events, Pageviews: s.pageviews,
		CustomEvents: s.custom, Late: s.late, Bridging: s.bridging, IsBot: s.flags&flagBot != 0, MaxScroll: s.maxScroll}
	b := s.data[8*int(s.events):]
	for _, v := range f.Entry.fields() {
		*v, b = p.strs.dec(b)
	}
	w, n := binary.Uvarint(b)
	b = b[n:]
	h, n := binary.Uvarint(b)
	b = b[n:]
	f.Entry.ScreenWidth, f.Entry.ScreenHeight = uint16(w), uint16(h)
	f.ExitPathname, b = p.strs.dec(b)
	for len(b) > 0 {
		views := binary.LittleEndian.Uint32(b)
		var path string
		path, b = p.strs.dec(b[4:])
		f.Pages = append(f.Pages, path)
		f.PageViews = append(f.PageViews, views)
	}
	return f
}

// Changed appends to dst the figures of every session changed since the
// last call (closed ones included) and marks them unchanged. Call it when
// the rows are about to be written: a session's version rows are then in
// the same write as its events.
func (p *Partition) Changed(dst []Figures) []Figures {
	dst = append(dst, p.closed...)
	clear(p.closed)
	p.closed = p.closed[:0]
	for _, k := range p.dirty {
		list := p.visitors[k].list()
		for i := range list {
			if s := &list[i]; s.flags&flagDirty != 0 {
				s.flags &^= flagDirty
				dst = append(dst, p.figures(k, s))
			}
		}
	}
	clear(p.dirty)
	p.dirty = p.dirty[:0]
	if cap(p.dirty) > 1<<14 {
		p.dirty = nil // a burst's list is not kept for good
	}
	return dst
}
