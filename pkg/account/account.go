package account

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// Login lifetimes: defaults of -login-idle-timeout and -login-lifetime.
const (
	// DefaultLifetime is how long a login lasts at most.
	DefaultLifetime = 7 * 24 * time.Hour
	// DefaultIdleTimeout ends a login that was not used for this long.
	DefaultIdleTimeout = 12 * time.Hour
	// TouchEvery bounds the writes of a login's last use: at most one per
	// login per TouchEvery, so idle expiry is exact to within it.
	TouchEvery = time.Minute
)

// Errors callers tell apart.
var (
	// ErrNoLogin means a login id is unknown, ended or expired.
	ErrNoLogin = errors.New("no valid login")
	// ErrCredentials means a wrong user name or password.
	ErrCredentials = errors.New("wrong user name or password")
	// ErrInvalid wraps input that cannot be used, with the reason.
	ErrInvalid = errors.New("invalid")
	// ErrExists means a user of that name exists already.
	ErrExists = errors.New("exists already")
	// ErrNotFound means no such user, login or token.
	ErrNotFound = errors.New("not found")
)

// ThrottledError refuses a sign-in attempt before its password is checked.
type ThrottledError struct {
	// ByAddress is true when the client address is blocked, false when
	// the user name is.
	ByAddress bool
	// Wait is how long until one more attempt is allowed.
	Wait time.Duration
}

func (e *ThrottledError) Error() string {
	if e.ByAddress {
		return fmt.Sprintf("too many failed sign-ins from this address; retry in %s", e.Wait)
	}
	return fmt.Sprintf("too many failed sign-ins for this user; retry in %s", e.Wait)
}

// Options configure Accounts.
type Options struct {
	// Conn reaches the account tables (schema/0010_accounts.sql).
	// Required.
	Conn Conn
	// Key signs CSRF tokens and known-device cookies: at least MinKeyLen
	// random bytes, the same on every instance (-login-secret). Required.
	Key []byte
	// IdleTimeout ends a login unused for this long; default
	// DefaultIdleTimeout.
	IdleTimeout time.Duration
	// Lifetime ends a login this long after sign-in, used or not; default
	// DefaultLifetime.
	Lifetime time.Duration
	// AdminUser, with AdminPassword (plain) or AdminPasswordHash (argon2id,
	// HashPassword), is the admin Bootstrap creates when there is no user
	// yet. Without them Bootstrap offers a one-time setup link.
	AdminUser         string
	AdminPassword     string
	AdminPasswordHash string
	// Logger receives notes; default slog.Default().
	Logger *slog.Logger
}

// Accounts is the account service: users, grants, logins, API tokens and
// the limits on sign-in attempts. It is safe for concurrent use; every
// instance sharing the tables sees every change at once (nothing about a
// login or a user is cached).
type Accounts struct {
	st       tables
	csrf     CSRF
	device   []byte
	idle     time.Duration
	lifetime time.Duration
	admin    string
	// adminHash is the configured admin's password hash, checked in New.
	adminHash string
	hasAdmin  bool
	log       *slog.Logger
	limiter   *Limiter
	// hashing bounds concurrent argon2id runs: each takes 19 MiB.
	hashing chan struct{}

	setupMu   sync.Mutex
	setupHash string // SHA-256 of the one-time setup token, "" when none
	// changes serialises this instance's read-modify-writes of users.
	changes sync.Mutex
}

// New checks o and builds Accounts. It does no I/O; call Bootstrap once the
// tables exist.
func New(o Options) (*Accounts, error) {
	switch {
	case o.Conn == nil:
		return nil, errors.New("account: Options.Conn is required")
	case len(o.Key) < MinKeyLen:
		return nil, fmt.Errorf("account: Options.Key has %d bytes, need at least %d random bytes", len(o.Key), MinKeyLen)
	case o.AdminPassword != "" && o.AdminPasswordHash != "":
		return nil, errors.New("account: give Options.AdminPasswordHash or AdminPassword, not both")
	case o.AdminUser == "" && (o.AdminPassword != "" || o.AdminPasswordHash != ""):
		return nil, errors.New("account: Options.AdminUser is required with an admin password")
	case o.AdminUser != "" && o.AdminPassword == "" && o.AdminPasswordHash == "":
		return nil, errors.New("account: give Options.AdminPasswordHash (or AdminPassword) for Options.AdminUser")
	case o.IdleTimeout < 0 || o.Lifetime < 0:
		return nil, errors.New("account: Options.IdleTimeout and Lifetime must not be negative")
	}
	if o.IdleTimeout == 0 {
		o.IdleTimeout = DefaultIdleTimeout
	}
	if o.Lifetime == 0 {
		o.Lifetime = DefaultLifetime
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	a := &Accounts{st: tables{conn: o.Conn}, csrf: newCSRF(o.Key), device: deriveKey(o.Key, "teller/dashboard/device/v1"),
		idle: o.IdleTimeout, lifetime: o.Lifetime, admin: o.AdminUser, log: o.Logger,
		limiter: NewLimiter(signInLimit, LoginFailureWindow), hashing: make(chan struct{}, 4)}
	if o.AdminUser != "" {
		if err := checkUserName(o.AdminUser); err != nil {
			return nil, err
		}
		encoded := o.AdminPasswordHash
		if o.AdminPassword != "" {
			var err error
			if encoded, err = HashPassword(o.AdminPassword); err != nil {
				return nil, err
			}
		}
		if _, err := parseHash(encoded); err != nil {
			return nil, err
		}
		a.adminHash, a.hasAdmin = encoded, true
	}
	return a, nil
}

// CSRF makes and checks the dashboard's form tokens.
func (a *Accounts) CSRF() CSRF { return a.csrf }

// Lifetime is the absolute lifetime of a login.
func (a *Accounts) Lifetime() time.Duration { return a.lifetime }

// IdleTimeout is how long an unused login lasts.
func (a *Accounts) IdleTimeout() time.Duration { return a.idle }

// Bootstrap makes sure someone can sign in. With users in the table it does
// nothing. Without, it creates the admin of Options, or else returns a
// one-time setup token for /setup (valid until any admin exists).
func (a *Accounts) Bootstrap(ctx context.Context) (setupToken string, err error) {
	users, err := a.st.users(ctx, "")
	if err != nil {
		return "", err
	}
	if len(users) > 0 {
		if a.hasAdmin {
			a.log.Debug("dashboard users exist; the configured admin is not created again", "admin", a.admin)
		}
		return "", nil
	}
	if a.hasAdmin {
		a.log.Info("no dashboard user yet: creating the configured admin", "admin", a.admin)
		return "", a.createUser(ctx, a.admin, a.adminHash, true)
	}
	token, err := RandomID()
	if err != nil {
		return "", err
	}
	a.setupMu.Lock()
	a.setupHash = hashSecret(token)
	a.setupMu.Unlock()
	return token, nil
}

// SetupOpen reports whether a setup token is waiting to be used.
func (a *Accounts) SetupOpen() bool {
	a.setupMu.Lock()
	defer a.setupMu.Unlock()
	return a.setupHash != ""
}

// ValidSetupToken reports, in constant time, whether token is the setup
// token.
func (a *Accounts) ValidSetupToken(token string) bool {
	a.setupMu.Lock()
	defer a.setupMu.Unlock()
	return a.setupHash != "" && subtle.ConstantTimeCompare([]byte(hashSecret(token)), []byte(a.setupHash)) == 1
}

// Setup creates the first admin with the setup token, which then expires.
func (a *Accounts) Setup(ctx context.Context, token, name, password string) error {
	a.setupMu.Lock()
	defer a.setupMu.Unlock()
	if a.setupHash == "" || subtle.ConstantTimeCompare([]byte(hashSecret(token)), []byte(a.setupHash)) != 1 {
		return fmt.Errorf("%w: the setup link is not valid (any more)", ErrInvalid)
	}
	users, err := a.st.users(ctx, "")
	if err != nil {
		return err
	}
	if len(users) > 0 {
		a.setupHash = ""
		return fmt.Errorf("%w: an admin exists already; sign in instead", ErrInvalid)
	}
	if err := a.AddUser(ctx, name, password, true); err != nil {
		return err
	}
	a.setupHash = ""
	return nil
}

// maxUserName is the longest user name, in bytes.
const maxUserName = 64

// checkUserName bounds what is stored as a name.
func checkUserName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: the user name is empty", ErrInvalid)
	case len(name) > maxUserName:
		return fmt.Errorf("%w: a user name may have at most %d bytes", ErrInvalid, maxUserName)
	case strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }) || strings.TrimSpace(name) != name:
		return fmt.Errorf("%w: a user name may not contain control characters or begin or end with a space", ErrInvalid)
	}
	return nil
}

// AddUser creates a user. Admins manage users and see every site; others
// see the sites granted to them (SetRole).
func (a *Accounts) AddUser(ctx context.Context, name, password string, admin bool) error {
	if err := checkUserName(name); err != nil {
		return err
	}
	if err := checkNewPassword(password); err != nil {
		return err
	}
	hash, err := a.hash(ctx, password)
	if err != nil {
		return err
	}
	return a.createUser(ctx, name, hash, admin)
}

func (a *Accounts) createUser(ctx context.Context, name, hash string, admin bool) error {
	a.changes.Lock()
	defer a.changes.Unlock()
	if _, ok, err := a.st.user(ctx, name); err != nil {
		return err
	} else if ok {
		return fmt.Errorf("user %q: %w", name, ErrExists)
	}
	gen, err := a.st.lastGeneration(ctx, name)
	if err != nil {
		return err
	}
	return a.st.saveUser(ctx, User{Name: name, Admin: admin, Generation: gen + 1, CreatedAt: time.Now(), hash: hash}, false)
}

// RemoveUser removes a user: their logins end at once, their grants are
// revoked. API tokens they created stay (they belong to a site).
func (a *Accounts) RemoveUser(ctx context.Context, name string) error {
	a.changes.Lock()
	defer a.changes.Unlock()
	u, ok, err := a.st.user(ctx, name)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("user %q: %w", name, ErrNotFound)
	}
	grants, err := a.st.grants(ctx, name)
	if err != nil {
		return err
	}
	u.Generation++
	if err := a.st.saveUser(ctx, u, true); err != nil {
		return err
	}
	for site := range grants {
		grants[site] = RoleNone
	}
	return a.st.saveGrants(ctx, name, grants)
}

// Users lists the users by name.
func (a *Accounts) Users(ctx context.Context) ([]User, error) { return a.st.users(ctx, "") }

// User returns the named user.
func (a *Accounts) User(ctx context.Context, name string) (User, bool, error) {
	return a.st.user(ctx, name)
}

// hash runs argon2id under the concurrency bound.
func (a *Accounts) hash(ctx context.Context, password string) (string, error) {
	if err := a.acquire(ctx); err != nil {
		return "", err
	}
	defer a.release()
	return HashPassword(password)
}

func (a *Accounts) acquire(ctx context.Context) error {
	select {
	case a.hashing <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (a *Accounts) release() { <-a.hashing }

// authenticate checks name and password, hashing a dummy for an unknown
// user so that the answer takes as long either way.
// limitedAuthenticate checks a password under the attempt limits: a slot is
// reserved on every check before the (slow) password hash runs, so
// concurrent attempts cannot pass the limit; a wrong password counts as a
// failure, a failure of ClickHouse does not. It returns a *ThrottledError or
// ErrCredentials on refusal.
func (a *Accounts) limitedAuthenticate(ctx context.Context, name, password string, now time.Time, checks ...Check) (User, error) {
	res, blocked, wait := a.limiter.Reserve(now, checks...)
	if res == nil {
		return User{}, &ThrottledError{ByAddress: strings.HasPrefix(blocked, "addr:"), Wait: wait}
	}
	u, ok, err := a.authenticate(ctx, name, password)
	if err != nil {
		res.Release()
		return User{}, err
	}
	if !ok {
		res.Fail(now)
		return User{}, ErrCredentials
	}
	res.Succeed()
	return u, nil
}

func (a *Accounts) authenticate(ctx context.Context, name, password string) (User, bool, error) {
	u, ok, err := a.st.user(ctx, name)
	if err != nil {
		return User{}, false, err
	}
	h := dummyHash
	if ok {
		if h, err = parseHash(u.hash); err != nil {
			a.log.Error("stored password hash is not valid; the user cannot sign in", "user", name, "err", err)
			h, ok = dummyHash, false
		}
	}
	if len(password) > MaxPasswordLen {
		password = password[:MaxPasswordLen] // still hashed: same time, never a match below
		ok = false
	}
	if err := a.acquire(ctx); err != nil {
		return User{}, false, err
	}
	match := h.matches(password)
	a.release()
	return u, ok && match, nil
}

// SignIn is one sign-in attempt.
type SignIn struct {
	User, Password string
	// Address is the client's address (limited per AddressKey); UserAgent
	// its User-Agent header, kept with the login.
	Address, UserAgent string
	// Device is the browser's DeviceCookie value, "" if none.
	Device string
	// Previous is the login id the browser still had, ended by a new
	// sign-in.
	Previous string
}

// SignedIn is a successful sign-in.
type SignedIn struct {
	// ID is the new login's id, the cookie's value: 256 random bits.
	ID    string
	Login Login
	User  User
	// Device is the known-device cookie value to set.
	Device string
}

// SignIn checks an attempt against the limits, then the credentials, and
// starts a new login with a new id (a fixed or stolen pre-login value
// never becomes a login). A slot is reserved on the address and the user
// name before the password is checked, so concurrent attempts cannot pass
// LoginFailureLimit; a browser that signed in as this user before passes
// the user's limit (never the address limit), so strangers failing on
// purpose cannot lock a user out. It returns a *ThrottledError or
// ErrCredentials on refusal.
func (a *Accounts) SignIn(ctx context.Context, in SignIn, now time.Time) (SignedIn, error) {
	known := a.knownDevice(in.Device, in.User)
	u, err := a.limitedAuthenticate(ctx, in.User, in.Password, now,
		Check{Key: AddressKey(in.Address)}, Check{Key: UserKey(in.User), Exempt: known})
	if err != nil {
		return SignedIn{}, err
	}
	if in.Previous != "" {
		if old, ok, err := a.st.login(ctx, hashSecret(in.Previous)); err == nil && ok && !old.Ended {
			if err := a.end(ctx, old); err != nil {
				return SignedIn{}, err
			}
		}
	}
	id, l, err := a.StartLogin(ctx, u, in.UserAgent, in.Address, now)
	if err != nil {
		return SignedIn{}, err
	}
	device := in.Device
	if !known {
		if device, err = a.newDevice(in.User); err != nil {
			return SignedIn{}, err
		}
	}
	return SignedIn{ID: id, Login: l, User: u, Device: device}, nil
}

// maxUserAgent bounds the stored user agent.
const maxUserAgent = 256

// StartLogin opens a login for u and returns its id.
func (a *Accounts) StartLogin(ctx context.Context, u User, userAgent, address string, now time.Time) (string, Login, error) {
	id, err := RandomID()
	if err != nil {
		return "", Login{}, err
	}
	if len(userAgent) > maxUserAgent {
		userAgent = strings.ToValidUTF8(userAgent[:maxUserAgent], "")
	}
	now = now.UTC().Truncate(time.Second)
	l := Login{Hash: hashSecret(id), User: u.Name, Generation: u.Generation, Created: now, Expires: now.Add(a.lifetime),
		LastUsed: now, UserAgent: userAgent, Address: strings.TrimPrefix(AddressKey(address), "addr:")}
	if err := a.st.writeLogin(ctx, "start login of "+u.Name, l); err != nil {
		return "", Login{}, err
	}
	return id, l, nil
}

// Resume checks a login id from a cookie: it returns ErrNoLogin when the
// id is unknown, the login ended, expired (idle or absolute), or its user
// was removed or changed their password since. Every call reads ClickHouse
// (the login's rows and the user's), nothing is cached: an end written by
// any dashboard instance refuses the very next request on every other. It
// records the use when the last one is TouchEvery old or more.
func (a *Accounts) Resume(ctx context.Context, id string, now time.Time) (Login, User, error) {
	if len(id) != 43 { // base64url of 32 bytes
		return Login{}, User{}, ErrNoLogin
	}
	l, ok, err := a.st.login(ctx, hashSecret(id))
	if err != nil {
		return Login{}, User{}, err
	}
	if !ok || !a.live(l, now) {
		return Login{}, User{}, ErrNoLogin
	}
	u, ok, err := a.st.user(ctx, l.User)
	if err != nil {
		return Login{}, User{}, err
	}
	if !ok || u.Generation != l.Generation {
		return Login{}, User{}, ErrNoLogin
	}
	if now.Sub(l.LastUsed) >= TouchEvery {
		l.LastUsed = now.UTC().Truncate(time.Second)
		if err := a.st.writeLogin(ctx, "record use of a login", l); err != nil {
			return Login{}, User{}, err
		}
	}
	return l, u, nil
}

func (a *Accounts) live(l Login, now time.Time) bool {
	return !l.Ended && now.Before(l.Expires) && now.Before(l.LastUsed.Add(a.idle))
}

// EndLogin ends l (sign-out).
func (a *Accounts) EndLogin(ctx context.Context, l Login) error { return a.end(ctx, l) }

func (a *Accounts) end(ctx context.Context, l Login) error {
	l.Ended = true
	return a.st.writeLogin(ctx, "end login of "+l.User, l)
}

// ActiveLogins are user's live logins, most recently used first.
func (a *Accounts) ActiveLogins(ctx context.Context, u User, now time.Time) ([]Login, error) {
	all, err := a.st.logins(ctx, "user_name = ?", u.Name)
	if err != nil {
		return nil, err
	}
	var out []Login
	for _, l := range all {
		if a.live(l, now) && l.Generation == u.Generation {
			out = append(out, l)
		}
	}
	return out, nil
}

// EndLoginByHandle ends one of u's live logins, named by its Handle.
func (a *Accounts) EndLoginByHandle(ctx context.Context, u User, handle string, now time.Time) error {
	list, err := a.ActiveLogins(ctx, u, now)
	if err != nil {
		return err
	}
	for _, l := range list {
		if subtle.ConstantTimeCompare([]byte(l.Handle()), []byte(handle)) == 1 {
			return a.end(ctx, l)
		}
	}
	return fmt.Errorf("login %q: %w", handle, ErrNotFound)
}

// ChangePassword sets u's new password after checking the current one
// (under the same limits as a sign-in). Every login of u ends, on every
// instance; the caller starts a new one for the browser that asked.
func (a *Accounts) ChangePassword(ctx context.Context, u User, current, next, address string, now time.Time) (User, error) {
	if err := checkNewPassword(next); err != nil {
		return User{}, err
	}
	if _, err := a.limitedAuthenticate(ctx, u.Name, current, now,
		Check{Key: AddressKey(address)}, Check{Key: UserKey(u.Name)}); err != nil {
		return User{}, err
	}
	hash, err := a.hash(ctx, next)
	if err != nil {
		return User{}, err
	}
	a.changes.Lock()
	defer a.changes.Unlock()
	cur, ok, err := a.st.user(ctx, u.Name)
	if err != nil {
		return User{}, err
	}
	if !ok {
		return User{}, fmt.Errorf("user %q: %w", u.Name, ErrNotFound)
	}
	cur.hash = hash
	cur.Generation++
	if err := a.st.saveUser(ctx, cur, false); err != nil {
		return User{}, err
	}
	return cur, nil
}

// SetPassword sets name's password without asking for the current one:
// for an operator at the command line (`teller user passwd`), the way in for
// an admin who forgot theirs. Every login of the user ends.
func (a *Accounts) SetPassword(ctx context.Context, name, password string) error {
	if err := checkNewPassword(password); err != nil {
		return err
	}
	hash, err := a.hash(ctx, password)
	if err != nil {
		return err
	}
	a.changes.Lock()
	defer a.changes.Unlock()
	u, ok, err := a.st.user(ctx, name)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("user %q: %w", name, ErrNotFound)
	}
	u.hash = hash
	u.Generation++
	return a.st.saveUser(ctx, u, false)
}

// SetRole grants user role on site (RoleNone revokes).
func (a *Accounts) SetRole(ctx context.Context, user, site string, role Role) error {
	if _, ok, err := a.st.user(ctx, user); err != nil {
		return err
	} else if !ok {
		return fmt.Errorf("user %q: %w", user, ErrNotFound)
	}
	return a.st.saveGrants(ctx, user, map[string]Role{site: role})
}

// Grants are user's roles by site (not counting an admin's implicit
// access to every site).
func (a *Accounts) Grants(ctx context.Context, user string) (map[string]Role, error) {
	return a.st.grants(ctx, user)
}

// Role is u's access to site: RoleAdmin for an admin user, else the grant.
func (a *Accounts) Role(ctx context.Context, u User, site string) (Role, error) {
	if u.Admin {
		return RoleAdmin, nil
	}
	return a.st.role(ctx, u.Name, site)
}

// tokenPrefix starts every API token, so that one found in a log or a
// repository is recognisable.
const tokenPrefix = "teller_"

// CreateToken makes a read-only API token for site. The token is returned
// once; only its hash is stored.
func (a *Accounts) CreateToken(ctx context.Context, site, name, by string, now time.Time) (string, Token, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 100 {
		return "", Token{}, fmt.Errorf("%w: give the token a name of 1 to 100 bytes", ErrInvalid)
	}
	secret, err := RandomID()
	if err != nil {
		return "", Token{}, err
	}
	secret = tokenPrefix + secret
	id, err := RandomID()
	if err != nil {
		return "", Token{}, err
	}
	t := Token{Hash: hashSecret(secret), ID: id[:12], Site: site, Name: name, CreatedBy: by, Created: now.UTC().Truncate(time.Second)}
	if err := a.st.writeToken(ctx, "create API token for "+site, t); err != nil {
		return "", Token{}, err
	}
	return secret, t, nil
}

// Tokens are site's live API tokens, oldest first.
func (a *Accounts) Tokens(ctx context.Context, site string) ([]Token, error) {
	return a.st.tokens(ctx, "site_id = ?", site)
}

// RevokeToken revokes site's token id; the next request with it fails on
// every instance.
func (a *Accounts) RevokeToken(ctx context.Context, site, id string) error {
	list, err := a.st.tokens(ctx, "site_id = ? AND token_id = ?", site, id)
	if err != nil {
		return err
	}
	if len(list) == 0 {
		return fmt.Errorf("API token %q: %w", id, ErrNotFound)
	}
	t := list[0]
	t.Revoked = true
	return a.st.writeToken(ctx, "revoke API token "+id, t)
}

// TokenFor looks up a live API token by its secret (the Bearer value).
func (a *Accounts) TokenFor(ctx context.Context, secret string) (Token, bool, error) {
	if !strings.HasPrefix(secret, tokenPrefix) || len(secret) != len(tokenPrefix)+43 {
		return Token{}, false, nil
	}
	list, err := a.st.tokens(ctx, "token_hash = ?", hashSecret(secret))
	if err != nil || len(list) == 0 {
		return Token{}, false, err
	}
	return list[0], true, nil
}

// newDevice makes a known-device cookie value for user:
// "<random>.<HMAC(user, random)>".
func (a *Accounts) newDevice(user string) (string, error) {
	r, err := RandomID()
	if err != nil {
		return "", err
	}
	return r + "." + a.deviceMAC(user, r), nil
}

func (a *Accounts) knownDevice(cookie, user string) bool {
	r, mac, ok := strings.Cut(cookie, ".")
	if !ok || r == "" {
		return false
	}
	return hmac.Equal([]byte(mac), []byte(a.deviceMAC(user, r)))
}

func (a *Accounts) deviceMAC(user, r string) string {
	m := hmac.New(sha256.New, a.device)
	m.Write([]byte(user + "\x00" + r))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// DeviceTTL is how long a known-device cookie lasts.
func DeviceTTL() time.Duration { return deviceTTL }
