// Package identity owns the visitor id: a random UUID carried in a signed,
// first-party, HttpOnly cookie that the collector sets. It signs and verifies
// cookie values with HMAC-SHA256 and supports key rotation (the first key
// signs, every key verifies). It knows nothing of HTTP frameworks.
package identity

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"strings"
	"sync"

	"github.com/google/uuid"
)

// CookieName is the visitor cookie's name.
const CookieName = "teller_vid"

// macLen is the truncated MAC length: 128 bits is ample against forgery of a
// random id and keeps the cookie short (22 + 1 + 22 characters).
const macLen = 16

// Signer signs and verifies visitor ids.
type Signer struct {
	keys [][]byte
	// macs hold, per key, HMAC states to reuse: every event verifies a
	// cookie, and a fresh hmac.New costs two SHA-256 blocks of key set-up
	// and several allocations, Reset neither.
	macs []sync.Pool
}

// ErrNoKey means no signing key was configured.
var ErrNoKey = errors.New("identity: no cookie signing key")

// NewSigner takes one or more secret keys (at least 16 bytes each). The first
// signs; all verify, so a key can be rotated without resetting visitors.
func NewSigner(keys ...string) (*Signer, error) {
	if len(keys) == 0 {
		return nil, ErrNoKey
	}
	s := &Signer{}
	for i, k := range keys {
		if len(k) < 16 {
			return nil, fmt.Errorf("identity: cookie key %d is %d bytes; use at least 16 random bytes", i+1, len(k))
		}
		s.keys = append(s.keys, []byte(k))
	}
	s.macs = make([]sync.Pool, len(s.keys))
	for i, k := range s.keys {
		s.macs[i].New = func() any { return &macState{h: hmac.New(sha256.New, k)} }
	}
	return s, nil
}

// RandomKey returns a new random 32-byte key, base64url (the dev mode
// generates its secrets with it).
func RandomKey() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// macPrefix separates the visitor MAC from any other use of the keys.
const macPrefix = "teller-visitor-v1:"

// macState is one reusable HMAC with its buffers (which would escape to
// the heap through the hash.Hash interface if they lived on the stack).
type macState struct {
	h   hash.Hash
	in  [len(macPrefix) + 16]byte
	sum [sha256.Size]byte
}

// mac is the truncated HMAC-SHA256 of id under key i.
func (s *Signer) mac(i int, id uuid.UUID) (out [macLen]byte) {
	m := s.macs[i].Get().(*macState)
	m.h.Reset()
	copy(m.in[copy(m.in[:], macPrefix):], id[:])
	m.h.Write(m.in[:])
	copy(out[:], m.h.Sum(m.sum[:0]))
	s.macs[i].Put(m)
	return out
}

// Encoded lengths of a cookie value's two parts.
var (
	idChars  = base64.RawURLEncoding.EncodedLen(16)
	macChars = base64.RawURLEncoding.EncodedLen(macLen)
)

// Sign returns the cookie value for id.
func (s *Signer) Sign(id uuid.UUID) string {
	enc := base64.RawURLEncoding
	m := s.mac(0, id)
	b := make([]byte, idChars+1+macChars)
	enc.Encode(b, id[:])
	b[idChars] = '.'
	enc.Encode(b[idChars+1:], m[:])
	return string(b)
}

// Verify returns the id in a cookie value, or an error if it was not signed
// by one of the keys. Stale reports that an older key signed it, so the
// caller should re-sign it with the current key.
func (s *Signer) Verify(value string) (id uuid.UUID, stale bool, err error) {
	idPart, macPart, ok := strings.Cut(value, ".")
	if !ok {
		return uuid.Nil, false, errors.New("identity: cookie has no signature")
	}
	enc := base64.RawURLEncoding
	// Decoding into fixed arrays: a value of any other length is not one
	// Sign made, and nothing is allocated for the common, valid one.
	if len(idPart) != idChars {
		return uuid.Nil, false, errors.New("identity: cookie id is malformed")
	}
	if n, err := enc.Decode(id[:], []byte(idPart)); err != nil || n != 16 {
		return uuid.Nil, false, errors.New("identity: cookie id is malformed")
	}
	var got [macLen]byte
	if len(macPart) != macChars {
		return uuid.Nil, false, errors.New("identity: cookie signature is malformed")
	}
	if n, err := enc.Decode(got[:], []byte(macPart)); err != nil || n != macLen {
		return uuid.Nil, false, errors.New("identity: cookie signature is malformed")
	}
	for i := range s.keys {
		want := s.mac(i, id)
		if hmac.Equal(got[:], want[:]) {
			return id, i > 0, nil
		}
	}
	return uuid.Nil, false, errors.New("identity: cookie signature does not match any key")
}

// NewVisitorID makes a random visitor id.
func NewVisitorID() uuid.UUID { return uuid.New() }
