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
	"strings"

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

func mac(key []byte, id uuid.UUID) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte("teller-visitor-v1:"))
	h.Write(id[:])
	return h.Sum(nil)[:macLen]
}

// Sign returns the cookie value for id.
func (s *Signer) Sign(id uuid.UUID) string {
	enc := base64.RawURLEncoding
	return enc.EncodeToString(id[:]) + "." + enc.EncodeToString(mac(s.keys[0], id))
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
	raw, err := enc.DecodeString(idPart)
	if err != nil || len(raw) != 16 {
		return uuid.Nil, false, errors.New("identity: cookie id is malformed")
	}
	got, err := enc.DecodeString(macPart)
	if err != nil || len(got) != macLen {
		return uuid.Nil, false, errors.New("identity: cookie signature is malformed")
	}
	id = uuid.UUID(raw)
	for i, k := range s.keys {
		if hmac.Equal(got, mac(k, id)) {
			return id, i > 0, nil
		}
	}
	return uuid.Nil, false, errors.New("identity: cookie signature does not match any key")
}

// NewVisitorID makes a random visitor id.
func NewVisitorID() uuid.UUID { return uuid.New() }
