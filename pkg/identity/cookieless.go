package identity

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"sync"
	"time"

	"github.com/google/uuid"
)

// Cookieless derives visitor ids without a cookie, for sites that ask for it:
// id = HMAC-SHA256(daily salt, site, IP, user agent), truncated to a UUID.
// The IP is used here and for the country, then dropped: the id cannot be
// turned back into it.
//
// The salt of a UTC day is HMAC(key, "salt", day), so collectors sharing the
// cookie key agree on it without talking to each other, and a restart keeps
// the day's visitors. Whoever holds the key can recompute old salts: rotate
// the key (-cookie-secret) to make past ids unlinkable.
//
// Across midnight: a visit that started yesterday must stay one visitor. The
// hasher remembers which ids it issued on the previous and the current day
// (bounded sets). When the id under yesterday's salt was issued yesterday or
// already today, that id is kept for the rest of today; otherwise today's id
// is issued. So a visitor seen at 23:50 keeps their id at 00:10, and the
// link ends after at most two days.
type Cookieless struct {
	key     []byte
	maxSeen int

	mu       sync.Mutex
	day      int64              // UTC day number of today
	today    map[uuid.UUID]bool // ids issued today
	previous map[uuid.UUID]bool // ids issued yesterday
}

// DefaultMaxSeen bounds each day's set of issued ids (about 16 MB per day at
// the cap); visitors beyond it get today's id and may split at midnight.
const DefaultMaxSeen = 1 << 20

// NewCookieless makes a hasher keyed by the signer's signing key.
func (s *Signer) NewCookieless(maxSeen int) *Cookieless {
	if maxSeen <= 0 {
		maxSeen = DefaultMaxSeen
	}
	return &Cookieless{key: s.keys[0], maxSeen: maxSeen, today: map[uuid.UUID]bool{}, previous: map[uuid.UUID]bool{}}
}

func (c *Cookieless) hash(day int64, site, ip, ua string) uuid.UUID {
	var d [8]byte
	binary.BigEndian.PutUint64(d[:], uint64(day))
	salt := hmac.New(sha256.New, c.key)
	salt.Write([]byte("teller-cookieless-salt-v1:"))
	salt.Write(d[:])
	h := hmac.New(sha256.New, salt.Sum(nil))
	for _, part := range []string{site, ip, ua} {
		binary.BigEndian.PutUint32(d[:4], uint32(len(part)))
		h.Write(d[:4])
		h.Write([]byte(part))
	}
	var id uuid.UUID
	copy(id[:], h.Sum(nil))
	id[6] = id[6]&0x0f | 0x80 // version 8: custom
	id[8] = id[8]&0x3f | 0x80 // RFC 4122 variant
	return id
}

// Visitor returns the visitor id at now and whether it is new (not issued
// today or yesterday).
func (c *Cookieless) Visitor(now time.Time, site, ip, ua string) (uuid.UUID, bool) {
	day := now.UTC().Unix() / 86400
	todayID := c.hash(day, site, ip, ua)
	yesterdayID := c.hash(day-1, site, ip, ua)
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case day == c.day+1:
		c.previous, c.today = c.today, map[uuid.UUID]bool{}
	case day != c.day:
		c.previous, c.today = map[uuid.UUID]bool{}, map[uuid.UUID]bool{}
	}
	c.day = day
	if c.today[yesterdayID] || c.previous[yesterdayID] {
		c.remember(yesterdayID)
		return yesterdayID, false
	}
	isNew := !c.today[todayID]
	c.remember(todayID)
	return todayID, isNew
}

func (c *Cookieless) remember(id uuid.UUID) {
	if len(c.today) < c.maxSeen {
		c.today[id] = true
	}
}
