package account

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/teller-analytics/teller/internal/chlocal"
	"github.com/teller-analytics/teller/pkg/store"
)

// ch is the package's one ClickHouse; each test gets a database of its own.
var ch *chlocal.Server

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "teller-account-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ch, err = chlocal.Start(context.Background(), chlocal.Options{Dir: dir,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		fmt.Fprintln(os.Stderr, "pkg/account tests need a real ClickHouse server:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	ch.Stop()
	os.RemoveAll(dir)
	os.Exit(code)
}

var dbs atomic.Int64

// newDB is a fresh database with the schema migrated.
func newDB(t *testing.T) *store.DB {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, store.Config{Addr: ch.Addr(), Database: fmt.Sprintf("acct_%d", dbs.Add(1))}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return db
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

const adminPassword = "correct horse battery staple"

func newAccounts(t testing.TB, db *store.DB, f func(*Options)) *Accounts {
	t.Helper()
	o := Options{Conn: db.Conn(), Key: []byte("0123456789abcdef"), AdminUser: "admin", AdminPassword: adminPassword, Logger: quiet}
	if f != nil {
		f(&o)
	}
	a, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Bootstrap(context.Background()); err != nil {
		t.Fatal(err)
	}
	return a
}

var t0 = time.Date(2024, 3, 12, 15, 0, 0, 0, time.UTC)

func TestPasswords(t *testing.T) {
	hash, err := HashPassword("pw")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(hash, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("hash %q", hash)
	}
	if ok, err := CheckPassword(hash, "pw"); !ok || err != nil {
		t.Errorf("CheckPassword(right) = %v, %v", ok, err)
	}
	if ok, err := CheckPassword(hash, "PW"); ok || err != nil {
		t.Errorf("CheckPassword(wrong) = %v, %v", ok, err)
	}
	// The dummy hash of unknown users costs what a real one does.
	real, _ := parseHash(hash)
	if dummyHash.memory != real.memory || dummyHash.time != real.time || dummyHash.threads != real.threads {
		t.Errorf("dummy hash parameters %+v differ from new hashes' %+v", dummyHash, real)
	}
}

func TestNew(t *testing.T) {
	hash, err := HashPassword("pw")
	if err != nil {
		t.Fatal(err)
	}
	db := newDB(t)
	base := Options{Conn: db.Conn(), AdminUser: "a", AdminPasswordHash: hash, Key: make([]byte, 16)}
	if _, err := New(base); err != nil {
		t.Fatalf("New(base): %v", err)
	}
	for name, f := range map[string]func(*Options){
		"no conn":        func(o *Options) { o.Conn = nil },
		"short key":      func(o *Options) { o.Key = make([]byte, 15) },
		"both passwords": func(o *Options) { o.AdminPassword = "x" },
		"bad hash": func(o *Options) {
			o.AdminPasswordHash = "$argon2id$v=19$m=999999999,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"
		},
		"no user":          func(o *Options) { o.AdminUser = "" },
		"no password":      func(o *Options) { o.AdminPasswordHash = "" },
		"not argon2id":     func(o *Options) { o.AdminPasswordHash = "$2y$10$abcdefghijklmnopqrstuv" },
		"bcrypt-like mix":  func(o *Options) { o.AdminPasswordHash = "$argon2i$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA" },
		"negative timeout": func(o *Options) { o.IdleTimeout = -time.Second },
		"control in name":  func(o *Options) { o.AdminUser = "ad\nmin" },
	} {
		o := base
		f(&o)
		if _, err := New(o); err == nil {
			t.Errorf("%s: New accepted %+v", name, o)
		}
	}
}

func TestLimiter(t *testing.T) {
	l := NewLimiter(func(string) int { return 3 }, time.Minute)
	for i := 0; i < 3; i++ {
		r, _, _ := l.Reserve(t0, Check{Key: "a"})
		if r == nil {
			t.Fatalf("blocked after %d failures", i)
		}
		r.Fail(t0.Add(time.Duration(i) * time.Second))
	}
	if r, key, wait := l.Reserve(t0.Add(10*time.Second), Check{Key: "a"}); r != nil || key != "a" || wait != 50*time.Second {
		t.Errorf("after 3 failures: %v %q %s, want blocked on a for 50s", r, key, wait)
	}
	if r, _, _ := l.Reserve(t0, Check{Key: "b"}); r == nil {
		t.Error("another key is blocked")
	} else {
		r.Release()
	}
	// Exempt keys are counted but not refused; a blocked key refuses the
	// whole attempt and reserves nothing on the others.
	if r, _, _ := l.Reserve(t0.Add(10*time.Second), Check{Key: "a", Exempt: true}, Check{Key: "c"}); r == nil {
		t.Error("an exempt key blocked")
	} else {
		r.Release()
	}
	if r, key, _ := l.Reserve(t0.Add(10*time.Second), Check{Key: "c"}, Check{Key: "a"}); r != nil || key != "a" {
		t.Errorf("blocked key a let the attempt through: %v %q", r, key)
	}
	if len(l.keys) != 1 {
		t.Errorf("refused attempts left reservations: %d keys", len(l.keys))
	}
	if r, _, _ := l.Reserve(t0.Add(time.Minute), Check{Key: "a"}); r == nil {
		t.Error("still blocked once the first failure left the window")
	} else {
		r.Succeed()
	}
	if r, _, _ := l.Reserve(t0.Add(time.Minute), Check{Key: "a"}); r == nil {
		t.Error("blocked after a success")
	}

	// Concurrent attempts: reservations count, so at most the limit pass.
	l = NewLimiter(func(string) int { return 10 }, time.Minute)
	var passed atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < 200; i++ {
		wg.Go(func() {
			<-start
			if r, _, _ := l.Reserve(t0, Check{Key: "a"}); r != nil {
				passed.Add(1)
				time.Sleep(10 * time.Millisecond) // the password check
				r.Fail(t0)
			}
		})
	}
	close(start)
	wg.Wait()
	if passed.Load() != 10 {
		t.Errorf("%d of 200 concurrent attempts passed a limit of 10", passed.Load())
	}

	if k := UserKey(strings.Repeat("x", 10000)); len(k) != len("user:")+64 {
		t.Errorf("a 10000-byte name makes a %d-byte limiter key", len(k))
	}
	for ip, want := range map[string]string{"192.0.2.1": "addr:192.0.2.1", "::ffff:192.0.2.1": "addr:192.0.2.1",
		"2001:db8:1:2:3:4:5:6": "addr:2001:db8:1:2::/64", "2001:db8:1:2::9": "addr:2001:db8:1:2::/64", "junk": "addr:junk"} {
		if got := AddressKey(ip); got != want {
			t.Errorf("AddressKey(%s) = %s, want %s", ip, got, want)
		}
	}
}

func TestLogins(t *testing.T) {
	ctx := context.Background()
	db := newDB(t)
	a := newAccounts(t, db, nil)
	in, err := a.SignIn(ctx, SignIn{User: "admin", Password: adminPassword, Address: "192.0.2.1", UserAgent: strings.Repeat("x", 1000)}, t0)
	if err != nil {
		t.Fatal(err)
	}
	if len(in.ID) != 43 || in.Login.Hash != hashSecret(in.ID) || strings.Contains(in.Login.Hash, in.ID) {
		t.Fatalf("login id %q, hash %q", in.ID, in.Login.Hash)
	}
	// The id itself is stored nowhere.
	var n uint64
	if err := db.Conn().QueryRow(ctx, "SELECT count() FROM dashboard_logins WHERE position(login_hash, ?) > 0 OR position(user_agent, ?) > 0",
		in.ID, in.ID).Scan(&n); err != nil || n != 0 {
		t.Errorf("the login id is stored: %d rows, %v", n, err)
	}
	l, u, err := a.Resume(ctx, in.ID, t0.Add(time.Hour))
	if err != nil || u.Name != "admin" || !u.Admin || len(l.UserAgent) != maxUserAgent || l.Address != "192.0.2.1" {
		t.Fatalf("Resume = %+v, %+v, %v", l, u, err)
	}
	for name, id := range map[string]string{"empty": "", "unknown": strings.Repeat("A", 43), "short": in.ID[:20]} {
		if _, _, err := a.Resume(ctx, id, t0); !errors.Is(err, ErrNoLogin) {
			t.Errorf("%s id: %v, want ErrNoLogin", name, err)
		}
	}

	// An end is final, even when a last-use row is written after it (two
	// instances racing) or rows merge in any order.
	if err := a.EndLogin(ctx, l); err != nil {
		t.Fatal(err)
	}
	l.LastUsed = t0.Add(2 * time.Hour)
	if err := a.st.writeLogin(ctx, "late touch", l); err != nil {
		t.Fatal(err)
	}
	if err := db.Conn().Exec(ctx, "OPTIMIZE TABLE dashboard_logins FINAL"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.Resume(ctx, in.ID, t0.Add(2*time.Hour)); !errors.Is(err, ErrNoLogin) {
		t.Errorf("ended login, touched later: %v, want ErrNoLogin", err)
	}

	// A removed user's logins end; a user re-created under the same name
	// does not revive them.
	if err := a.AddUser(ctx, "ann", "ann's long password", false); err != nil {
		t.Fatal(err)
	}
	if err := a.AddUser(ctx, "ann", "ann's long password", false); !errors.Is(err, ErrExists) {
		t.Errorf("adding ann twice: %v, want ErrExists", err)
	}
	ann, err := a.SignIn(ctx, SignIn{User: "ann", Password: "ann's long password", Address: "192.0.2.2"}, t0)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.RemoveUser(ctx, "ann"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.Resume(ctx, ann.ID, t0); !errors.Is(err, ErrNoLogin) {
		t.Errorf("login of a removed user: %v", err)
	}
	if err := a.AddUser(ctx, "ann", "another long password", false); err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.Resume(ctx, ann.ID, t0); !errors.Is(err, ErrNoLogin) {
		t.Errorf("login of a removed user, re-created: %v", err)
	}
	if _, err := a.SignIn(ctx, SignIn{User: "ann", Password: "ann's long password", Address: "192.0.2.2"}, t0); !errors.Is(err, ErrCredentials) {
		t.Errorf("re-created user with the old password: %v", err)
	}
}

func TestGrantsAndTokens(t *testing.T) {
	ctx := context.Background()
	a := newAccounts(t, newDB(t), nil)
	if err := a.AddUser(ctx, "bob", "bob's long password", false); err != nil {
		t.Fatal(err)
	}
	bob, _, _ := a.User(ctx, "bob")
	admin, _, _ := a.User(ctx, "admin")
	if err := a.SetRole(ctx, "bob", "example", RoleViewer); err != nil {
		t.Fatal(err)
	}
	if err := a.SetRole(ctx, "nobody", "example", RoleViewer); !errors.Is(err, ErrNotFound) {
		t.Errorf("grant to an unknown user: %v", err)
	}
	for _, tt := range []struct {
		u    User
		site string
		want Role
	}{{bob, "example", RoleViewer}, {bob, "other", RoleNone}, {admin, "other", RoleAdmin}} {
		if got, err := a.Role(ctx, tt.u, tt.site); err != nil || got != tt.want {
			t.Errorf("Role(%s, %s) = %s, %v; want %s", tt.u.Name, tt.site, got, err, tt.want)
		}
	}
	time.Sleep(2 * time.Millisecond) // a later version
	if err := a.SetRole(ctx, "bob", "example", RoleNone); err != nil {
		t.Fatal(err)
	}
	if got, _ := a.Role(ctx, bob, "example"); got != RoleNone {
		t.Errorf("revoked grant: %s", got)
	}

	secret, tok, err := a.CreateToken(ctx, "example", "CI export", "admin", t0)
	if err != nil {
		t.Fatal(err)
	}
	got, ok, err := a.TokenFor(ctx, secret)
	if err != nil || !ok || got.Site != "example" || got.ID != tok.ID {
		t.Fatalf("TokenFor = %+v, %v, %v", got, ok, err)
	}
	for name, s := range map[string]string{"garbage": "x", "no prefix": strings.TrimPrefix(secret, tokenPrefix),
		"changed": secret[:len(secret)-1] + "A", "hash": tok.Hash} {
		if _, ok, _ := a.TokenFor(ctx, s); ok && s != secret {
			t.Errorf("%s token accepted", name)
		}
	}
	if err := a.RevokeToken(ctx, "other", tok.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("revoking through another site: %v", err)
	}
	if err := a.RevokeToken(ctx, "example", tok.ID); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := a.TokenFor(ctx, secret); ok {
		t.Error("a revoked token is accepted")
	}
	if list, _ := a.Tokens(ctx, "example"); len(list) != 0 {
		t.Errorf("revoked token still listed: %+v", list)
	}
}

func TestSetup(t *testing.T) {
	ctx := context.Background()
	db := newDB(t)
	o := Options{Conn: db.Conn(), Key: []byte("0123456789abcdef"), Logger: quiet}
	a, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	token, err := a.Bootstrap(ctx)
	if err != nil || len(token) != 43 || !a.ValidSetupToken(token) || a.ValidSetupToken(token+"x") {
		t.Fatalf("Bootstrap without an admin: %q, %v", token, err)
	}
	if err := a.Setup(ctx, "wrong", "root", "a long enough password"); !errors.Is(err, ErrInvalid) {
		t.Errorf("setup with a wrong token: %v", err)
	}
	if err := a.Setup(ctx, token, "root", "short"); !errors.Is(err, ErrInvalid) {
		t.Errorf("setup with a short password: %v", err)
	}
	if err := a.Setup(ctx, token, "root", "a long enough password"); err != nil {
		t.Fatal(err)
	}
	if err := a.Setup(ctx, token, "evil", "a long enough password"); !errors.Is(err, ErrInvalid) {
		t.Errorf("the setup token worked twice: %v", err)
	}
	u, ok, _ := a.User(ctx, "root")
	if !ok || !u.Admin {
		t.Fatalf("setup made %+v", u)
	}
	// A second instance finds a user and offers no setup.
	b, _ := New(o)
	if token, err := b.Bootstrap(ctx); token != "" || err != nil {
		t.Errorf("Bootstrap with a user: %q, %v", token, err)
	}
	// The configured admin is created only while there is no user.
	o.AdminUser, o.AdminPassword = "admin", adminPassword
	c, _ := New(o)
	if _, err := c.Bootstrap(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := c.User(ctx, "admin"); ok {
		t.Error("the configured admin was added next to existing users")
	}
}

// TestNoEnumeration: an unknown user name costs a password hash too, and
// gets the same error.
func TestNoEnumeration(t *testing.T) {
	ctx := context.Background()
	a := newAccounts(t, newDB(t), nil)
	// Known and unknown attempts alternate, so that both series see the same
	// machine load (other test packages run beside this one).
	var knownTimes, unknownTimes []time.Duration
	for i := 0; i < 9; i++ {
		for _, user := range []string{"admin", "nobody"} {
			start := time.Now()
			_, err := a.SignIn(ctx, SignIn{User: user, Password: "wrong password", Address: fmt.Sprintf("198.51.100.%d", i)}, t0)
			d := time.Since(start)
			if !errors.Is(err, ErrCredentials) {
				t.Fatalf("%s: %v, want ErrCredentials", user, err)
			}
			if user == "admin" {
				knownTimes = append(knownTimes, d)
			} else {
				unknownTimes = append(unknownTimes, d)
			}
		}
	}
	median := func(ds []time.Duration) time.Duration {
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		return ds[len(ds)/2]
	}
	known, unknown := median(knownTimes), median(unknownTimes)
	if ratio := float64(unknown) / float64(known); ratio < 0.5 || ratio > 2 {
		t.Errorf("median sign-in time: known user %s, unknown %s (ratio %.2f, want 0.5-2)", known, unknown, ratio)
	}
	t.Logf("median failed sign-in: known user %s, unknown user %s", known, unknown)
}

// BenchmarkResume is the cost every authenticated request pays for
// revocation without a cache: the login's rows and the user's row, read
// from ClickHouse.
func BenchmarkResume(b *testing.B) {
	ctx := context.Background()
	db, err := store.Open(ctx, store.Config{Addr: ch.Addr(), Database: fmt.Sprintf("acct_bench_%d", dbs.Add(1))}, quiet)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	a := newAccounts(b, db, nil)
	in, err := a.SignIn(ctx, SignIn{User: "admin", Password: adminPassword, Address: "192.0.2.1"}, t0)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, _, err := a.Resume(ctx, in.ID, t0.Add(time.Second)); err != nil {
			b.Fatal(err)
		}
	}
}
