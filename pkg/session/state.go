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

const stateVersion = 1

// MarshalBinary encodes the partition's clock and open sessions for a
// checkpoint. The encoding is sorted, so equal states give equal bytes.
func (p *Partition) MarshalBinary() ([]byte, error) {
	keys := make([]visitorKey, 0, len(p.visitors))
	for k := range p.visitors {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].site != keys[j].site {
			return keys[i].site < keys[j].site
		}
		return string(keys[i].visitor[:]) < string(keys[j].visitor[:])
	})
	buf := make([]byte, 0, 32+len(keys)*80)
	buf = append(buf, stateVersion)
	buf = binary.AppendVarint(buf, p.clock)
	buf = binary.AppendVarint(buf, p.lastSweep)
	buf = binary.AppendUvarint(buf, uint64(len(keys)))
	for _, k := range keys {
		buf = binary.AppendUvarint(buf, uint64(len(k.site)))
		buf = append(buf, k.site...)
		buf = append(buf, k.visitor[:]...)
		list := p.visitors[k]
		buf = binary.AppendUvarint(buf, uint64(len(list)))
		for _, s := range list {
			buf = append(buf, s.id[:]...)
			buf = binary.AppendVarint(buf, s.startMs)
			buf = binary.AppendVarint(buf, s.firstMs)
			buf = binary.AppendVarint(buf, s.lastMs)
			buf = binary.AppendUvarint(buf, s.campaign)
			buf = append(buf, byte(s.reason))
		}
	}
	return buf, nil
}

var errCorrupt = errors.New("session: corrupt state")

// UnmarshalBinary replaces the partition's state with a checkpoint's.
func (p *Partition) UnmarshalBinary(b []byte) error {
	d := decoder{b: b}
	if v := d.byte(); v != stateVersion {
		return fmt.Errorf("session: state version %d, this build reads %d", v, stateVersion)
	}
	clock, lastSweep := d.varint(), d.varint()
	n := d.uvarint()
	visitors := make(map[visitorKey][]open, min(n, 1<<20))
	sites := map[string]string{}
	nOpen := 0
	for i := uint64(0); i < n && d.err == nil; i++ {
		site := string(d.bytes(int(d.uvarint())))
		if s, ok := sites[site]; ok {
			site = s
		} else {
			sites[site] = site
		}
		var k visitorKey
		k.site = site
		copy(k.visitor[:], d.bytes(16))
		m := d.uvarint()
		list := make([]open, 0, min(m, 64))
		for j := uint64(0); j < m && d.err == nil; j++ {
			var s open
			s.id = uuid.UUID(d.bytes(16))
			s.startMs, s.firstMs, s.lastMs = d.varint(), d.varint(), d.varint()
			s.campaign = d.uvarint()
			s.reason = Reason(d.byte())
			list = append(list, s)
		}
		nOpen += len(list)
		visitors[k] = list
	}
	if d.err != nil {
		return d.err
	}
	if len(d.b) != 0 {
		return fmt.Errorf("%w: %d trailing bytes", errCorrupt, len(d.b))
	}
	p.clock, p.lastSweep, p.visitors, p.sites, p.nOpen = clock, lastSweep, visitors, sites, nOpen
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
