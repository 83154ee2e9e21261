package session

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"sort"

	"github.com/google/uuid"
)

// CampaignKey identifies a set of explicit campaign parameters for the
// campaign rule; 0 when all are empty (internal navigation never splits).
func CampaignKey(params ...string) uint64 {
	empty := true
	h := fnv.New64a()
	for _, p := range params {
		if p != "" {
			empty = false
		}
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	if empty {
		return 0
	}
	if k := h.Sum64(); k != 0 {
		return k
	}
	return 1
}

// stateVersion is the checkpoint encoding this build writes. Version 2
// adds every session's figures (counts, fingerprints of its event ids,
// entry, exit, pages) after the version 1 fields; the strings are written
// out, so a checkpoint does not depend on a process's interner.
//
// A version 1 checkpoint (written before the figures existed) still
// restores: its open sessions keep their ids, spans and rules, but their
// figures before the restore are unknown, so they are marked legacy and
// write no session_versions rows (their events still go to events). Their
// figures are what schema/0030's backfill took from sessions_agg when the
// migration ran; the events they take after the restore are missing from
// session_versions until the history is re-sessionized (0060 dropped
// sessions_agg, so the backfill cannot run again). Only sessions open
// across the upgrade are affected.
//
// Version 3 adds the entry's Country after the other entry strings; a
// version 2 checkpoint restores with an empty country for its open
// sessions (their entry events carried none that was kept).
const stateVersion = 3

// MarshalBinary encodes the partition's clock and open sessions for a
// checkpoint. The encoding is sorted, so equal states give equal bytes.
// Call it after Changed (the sessionizer checkpoints after its flush): the
// "changed since" marks are not part of a checkpoint.
func (p *Partition) MarshalBinary() ([]byte, error) {
	keys := make([]visitorKey, 0, len(p.visitors))
	for k := range p.visitors {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if si, sj := p.siteNames[keys[i].site], p.siteNames[keys[j].site]; si != sj {
			return si < sj
		}
		return string(keys[i].visitor[:]) < string(keys[j].visitor[:])
	})
	buf := make([]byte, 0, 32+len(keys)*80)
	buf = append(buf, stateVersion)
	buf = binary.AppendVarint(buf, p.clock)
	buf = binary.AppendVarint(buf, p.lastSweep)
	buf = binary.AppendUvarint(buf, uint64(len(keys)))
	for _, k := range keys {
		site := p.siteNames[k.site]
		buf = binary.AppendUvarint(buf, uint64(len(site)))
		buf = append(buf, site...)
		buf = append(buf, k.visitor[:]...)
		list := p.visitors[k].list()
		buf = binary.AppendUvarint(buf, uint64(len(list)))
		for _, s := range list {
			buf = append(buf, s.id[:]...)
			buf = binary.AppendVarint(buf, s.startMs)
			buf = binary.AppendVarint(buf, s.firstMs)
			buf = binary.AppendVarint(buf, s.lastMs)
			buf = binary.AppendUvarint(buf, s.campaign)
			buf = append(buf, byte(s.reason))
			buf = p.appendFigures(buf, k, &s)
		}
	}
	// Trailing sections, each a tag and its own version, so the sessions'
	// encoding above is unchanged; a checkpoint without them (version 1, or
	// version 2 before the record) restores with an empty record.
	if p.recent.live > 0 || p.recent.nextID > 0 || p.recent.logMs != 0 {
		buf = p.recent.appendTo(buf)
	}
	return buf, nil
}

var errCorrupt = errors.New("session: corrupt state")

// UnmarshalBinary replaces the partition's state with a checkpoint's.
func (p *Partition) UnmarshalBinary(b []byte) error {
	d := decoder{b: b}
	version := d.byte()
	if version < 1 || version > stateVersion {
		return fmt.Errorf("session: state version %d, this build reads 1 to %d", version, stateVersion)
	}
	// Restored figures are encoded for a fresh interner: a failed restore
	// leaves p as it was.
	q := &Partition{}
	clock, lastSweep := d.varint(), d.varint()
	n := d.uvarint()
	visitors := make(map[visitorKey]sessions, min(n, 1<<20))
	q.sites = map[string]uint32{}
	nOpen := 0
	for i := uint64(0); i < n && d.err == nil; i++ {
		var k visitorKey
		k.site = q.intern(string(d.bytes(int(d.uvarint()))))
		copy(k.visitor[:], d.bytes(16))
		m := d.uvarint()
		list := make([]open, 0, min(m, 64))
		for j := uint64(0); j < m && d.err == nil; j++ {
			var s open
			s.id = uuid.UUID(d.bytes(16))
			s.startMs, s.firstMs, s.lastMs = d.varint(), d.varint(), d.varint()
			s.campaign = d.uvarint()
			s.reason = Reason(d.byte())
			if version == 1 {
				s.flags = flagLegacy
			} else {
				q.readFigures(&d, &s, version)
			}
			list = append(list, s)
		}
		nOpen += len(list)
		visitors[k] = pack(list)
	}
	if d.err != nil {
		return d.err
	}
	for len(d.b) != 0 && d.err == nil && version >= 2 {
		switch tag := d.byte(); tag {
		case recentSection:
			if q.recent.nextID != 0 {
				return fmt.Errorf("%w: two id records", errCorrupt)
			}
			q.recent.readFrom(&d)
		default:
			return fmt.Errorf("%w: unknown section %q", errCorrupt, tag)
		}
	}
	if d.err != nil {
		return d.err
	}
	if len(d.b) != 0 {
		return fmt.Errorf("%w: %d trailing bytes", errCorrupt, len(d.b))
	}
	p.clock, p.lastSweep, p.visitors, p.sites, p.siteNames, p.nOpen = clock, lastSweep, visitors, q.sites, q.siteNames, nOpen
	p.strs, p.dirty, p.closed = q.strs, nil, nil
	p.recent, p.closedEarly = q.recent, 0
	return nil
}

type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail() {
	if d.err == nil {
		d.err = fmt.Errorf("%w: truncated", errCorrupt)
	}
	d.b = nil
}

func (d *decoder) byte() byte {
	if len(d.b) < 1 {
		d.fail()
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

func (d *decoder) bytes(n int) []byte {
	if n < 0 || len(d.b) < n {
		d.fail()
		return make([]byte, max(n, 0))
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func appendString(buf []byte, s string) []byte {
	buf = binary.AppendUvarint(buf, uint64(len(s)))
	return append(buf, s...)
}

// appendFigures writes s's figures (version 3).
func (p *Partition) appendFigures(buf []byte, k visitorKey, s *open) []byte {
	for _, n := range []uint32{s.events, s.pageviews, s.custom, s.late, s.bridging} {
		buf = binary.AppendUvarint(buf, uint64(n))
	}
	buf = binary.BigEndian.AppendUint64(buf, s.entryFP)
	buf = binary.BigEndian.AppendUint64(buf, s.exitFP)
	buf = append(buf, s.maxScroll, s.flags&(flagBot|flagLegacy))
	buf = append(buf, s.fps()...)
	if s.events == 0 {
		return buf // legacy, no event since the restore: no entry yet
	}
	f := p.figures(k, s)
	for _, v := range f.Entry.fields() {
		buf = appendString(buf, *v)
	}
	buf = binary.AppendUvarint(buf, uint64(f.Entry.ScreenWidth))
	buf = binary.AppendUvarint(buf, uint64(f.Entry.ScreenHeight))
	buf = appendString(buf, f.ExitPathname)
	buf = binary.AppendUvarint(buf, uint64(len(f.Pages)))
	for i, page := range f.Pages {
		buf = appendString(buf, page)
		buf = binary.AppendUvarint(buf, uint64(f.PageViews[i]))
	}
	return buf
}

// readFigures reads what appendFigures wrote into s, encoding its strings
// with q's interner. A version 2 state has the entry strings before
// Country.
func (q *Partition) readFigures(d *decoder, s *open, version byte) {
	var n [5]uint32
	for i := range n {
		n[i] = uint32(d.uvarint())
	}
	s.events, s.pageviews, s.custom, s.late, s.bridging = n[0], n[1], n[2], n[3], n[4]
	s.entryFP = binary.BigEndian.Uint64(d.bytes(8))
	s.exitFP = binary.BigEndian.Uint64(d.bytes(8))
	s.maxScroll = d.byte()
	s.flags = d.byte() & (flagBot | flagLegacy)
	if uint64(s.events)*8 > uint64(len(d.b)) {
		d.fail()
		return
	}
	data := append([]byte(nil), d.bytes(8*int(s.events))...)
	if s.events == 0 {
		s.data = data
		return
	}
	str := func() string { return string(d.bytes(int(d.uvarint()))) }
	stored := attrStrings
	if version == 2 {
		stored = 16
	}
	for i := range attrStrings {
		v := ""
		if i < stored {
			v = str()
		}
		data = q.strs.enc(data, v)
	}
	data = binary.AppendUvarint(data, uint64(uint16(d.uvarint())))
	data = binary.AppendUvarint(data, uint64(uint16(d.uvarint())))
	data = q.strs.enc(data, str())
	pages := d.uvarint()
	if pages > MaxPages+1 {
		d.fail()
		return
	}
	for range pages {
		page := str()
		data = binary.LittleEndian.AppendUint32(data, uint32(d.uvarint()))
		data = q.strs.enc(data, page)
	}
	s.data = data
}
