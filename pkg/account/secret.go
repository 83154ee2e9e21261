package account

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
)

// MinKeyLen is the shortest Options.Key accepted.
const MinKeyLen = 16

// deriveKey gives each use of the login key its own key, so that a value
// signed for one purpose is never valid for another.
func deriveKey(key []byte, purpose string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(purpose))
	return m.Sum(nil)
}

// RandomID is 32 random bytes (256 bits), base64url: login ids, API
// tokens, pre-login cookies.
func RandomID() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("account: read random bytes: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// hashSecret is what is stored of a login id or an API token: SHA-256, hex.
// The secrets are 256 random bits, so a fast hash is enough: nothing is
// left to guess, and a leaked table cannot be replayed as cookies.
func hashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// CSRF makes and checks form tokens: HMAC(key, kind, binding), where the
// binding is the login's Handle, or before login the pre-login cookie.
type CSRF struct{ key []byte }

// CSRF token kinds: one for the sign-in and setup forms (bound to the
// pre-login cookie), one for forms of a signed-in user (bound to the login).
const (
	CSRFPreLogin = "prelogin"
	CSRFLogin    = "login"
)

func newCSRF(key []byte) CSRF { return CSRF{key: deriveKey(key, "teller/dashboard/csrf/v1")} }

// Token is the form token of kind for binding.
func (c CSRF) Token(kind, binding string) string {
	m := hmac.New(sha256.New, c.key)
	m.Write([]byte(kind + "\x00" + binding))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// Valid reports, in constant time, whether token is binding's token of kind.
func (c CSRF) Valid(kind, binding, token string) bool {
	if binding == "" || token == "" {
		return false
	}
	return hmac.Equal([]byte(token), []byte(c.Token(kind, binding)))
}
