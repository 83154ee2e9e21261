package dashboard

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Login session lifetimes.
const (
	// AbsoluteTTL is how long a login session lasts at most.
	AbsoluteTTL = 7 * 24 * time.Hour
	// IdleTTL ends a login session that was not used for this long.
	IdleTTL = 12 * time.Hour
	// RenewAfter is how old a session's last use may get before a request
	// renews it (so that not every request sets a cookie).
	RenewAfter = time.Minute
)

// ErrNoSession means a token is unknown, forged or expired.
var ErrNoSession = errors.New("no valid login session")

// LoginSession is one signed-in user's session.
type LoginSession struct {
	// ID is random and stays the same for the session's life; CSRF tokens
	// are bound to it.
	ID string
	// User is the account's user name.
	User string
	// Token is the cookie value. It changes when the store renews the
	// session, and the cookie must then be replaced.
	Token string
	// IssuedAt is when the user signed in; LastSeen when the session was
	// last renewed.
	IssuedAt, LastSeen time.Time
	// Expires is the absolute expiry, IssuedAt + AbsoluteTTL.
	Expires time.Time
}

// SessionStore keeps login sessions. NewCookieSessions (HMAC-signed cookies,
// nothing stored) is the first implementation; server-side sessions in
// ClickHouse replace it behind the same interface.
type SessionStore interface {
	// Start opens a session for user.
	Start(ctx context.Context, user string, now time.Time) (LoginSession, error)
	// Resume checks a token from a cookie. It returns ErrNoSession when the
	// token is unknown, forged or expired (absolute or idle). It renews
	// the idle expiry when the last renewal is RenewAfter old or more, and
	// then returns a new Token.
	Resume(ctx context.Context, token string, now time.Time) (LoginSession, error)
	// End ends the session of token. With signed cookies, where nothing is
	// stored, it is a no-op: the handler deletes the cookie.
	End(ctx context.Context, token string) error
}

// cookieSessions keeps each session in its own cookie, signed with
// HMAC-SHA256: "v1.<base64url JSON>.<base64url MAC>".
type cookieSessions struct {
	key []byte
}

// NewCookieSessions returns a SessionStore whose tokens carry the session
// themselves, signed with a key derived from key (at least 16 bytes).
// Sessions cannot be revoked before they expire, except by changing the key.
func NewCookieSessions(key []byte) (SessionStore, error) {
	if len(key) < minKeyLen {
		return nil, fmt.Errorf("dashboard: session key has %d bytes, need at least %d", len(key), minKeyLen)
	}
	return &cookieSessions{key: deriveKey(key, "teller/dashboard/session/v1")}, nil
}

type cookiePayload struct {
	ID       string `json:"sid"`
	User     string `json:"u"`
	IssuedAt int64  `json:"iat"`
	LastSeen int64  `json:"seen"`
}

const tokenPrefix = "v1."

func (s *cookieSessions) Start(_ context.Context, user string, now time.Time) (LoginSession, error) {
	id, err := randomToken()
	if err != nil {
		return LoginSession{}, err
	}
	p := cookiePayload{ID: id, User: user, IssuedAt: now.Unix(), LastSeen: now.Unix()}
	return s.session(p)
}

func (s *cookieSessions) Resume(_ context.Context, token string, now time.Time) (LoginSession, error) {
	body, ok := strings.CutPrefix(token, tokenPrefix)
	if !ok {
		return LoginSession{}, ErrNoSession
	}
	data, sig, ok := strings.Cut(body, ".")
	if !ok {
		return LoginSession{}, ErrNoSession
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, s.mac(data)) {
		return LoginSession{}, ErrNoSession
	}
	raw, err := base64.RawURLEncoding.DecodeString(data)
	if err != nil {
		return LoginSession{}, ErrNoSession
	}
	var p cookiePayload
	if err := json.Unmarshal(raw, &p); err != nil || p.ID == "" || p.User == "" {
		return LoginSession{}, ErrNoSession
	}
	issued, seen := time.Unix(p.IssuedAt, 0), time.Unix(p.LastSeen, 0)
	if !now.Before(issued.Add(AbsoluteTTL)) || !now.Before(seen.Add(IdleTTL)) {
		return LoginSession{}, ErrNoSession
	}
	if now.Sub(seen) < RenewAfter {
		sess, err := s.session(p)
		sess.Token = token
		return sess, err
	}
	p.LastSeen = now.Unix()
	return s.session(p)
}

func (s *cookieSessions) End(context.Context, string) error { return nil }

func (s *cookieSessions) session(p cookiePayload) (LoginSession, error) {
	raw, err := json.Marshal(p)
	if err != nil {
		return LoginSession{}, fmt.Errorf("dashboard: encode session: %w", err)
	}
	data := base64.RawURLEncoding.EncodeToString(raw)
	issued := time.Unix(p.IssuedAt, 0)
	return LoginSession{
		ID: p.ID, User: p.User,
		Token:    tokenPrefix + data + "." + base64.RawURLEncoding.EncodeToString(s.mac(data)),
		IssuedAt: issued, LastSeen: time.Unix(p.LastSeen, 0), Expires: issued.Add(AbsoluteTTL),
	}, nil
}

func (s *cookieSessions) mac(data string) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(tokenPrefix + data))
	return m.Sum(nil)
}

// minKeyLen is the shortest Options.SessionKey accepted.
const minKeyLen = 16

// deriveKey gives each use of the session key its own key, so that a value
// signed for one purpose is never valid for another.
func deriveKey(key []byte, purpose string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(purpose))
	return m.Sum(nil)
}

// randomToken is 32 random bytes, base64url.
func randomToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("dashboard: read random bytes: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// csrf makes and checks form tokens: HMAC(key, binding), where the binding
// is the login session's ID, or before login the pre-login cookie.
type csrf struct{ key []byte }

func newCSRF(key []byte) csrf { return csrf{key: deriveKey(key, "teller/dashboard/csrf/v1")} }

func (c csrf) token(kind, binding string) string {
	m := hmac.New(sha256.New, c.key)
	m.Write([]byte(kind + "\x00" + binding))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (c csrf) valid(kind, binding, token string) bool {
	if binding == "" || token == "" {
		return false
	}
	return hmac.Equal([]byte(token), []byte(c.token(kind, binding)))
}
