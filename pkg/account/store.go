package account

import (
	"context"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// Conn is what the account store needs of ClickHouse; clickhouse-go's
// driver.Conn satisfies it. Every write is a PrepareBatch with named
// columns (ClickHouse 18.16 hangs on INSERT ... VALUES over the native
// protocol).
type Conn interface {
	Query(ctx context.Context, query string, args ...any) (driver.Rows, error)
	PrepareBatch(ctx context.Context, query string, opts ...driver.PrepareBatchOption) (driver.Batch, error)
}

// Role is a user's access to one site.
type Role string

// Roles, weakest first.
const (
	RoleNone   Role = "none"
	RoleViewer Role = "viewer"
	RoleAdmin  Role = "admin"
)

// ParseRole reads a role name.
func ParseRole(s string) (Role, error) {
	switch r := Role(s); r {
	case RoleNone, RoleViewer, RoleAdmin:
		return r, nil
	}
	return "", fmt.Errorf("%w: role %q: want viewer, admin or none", ErrInvalid, s)
}

// User is a dashboard account.
type User struct {
	Name string
	// Admin users manage users and see every site.
	Admin bool
	// Generation changes with every password change and removal.
	Generation uint32
	CreatedAt  time.Time
	hash       string
}

// Login is one signed-in browser, as stored. Its id (the cookie's value)
// is not part of it: only the id's hash is kept.
type Login struct {
	// Hash is the SHA-256 of the login id, hex.
	Hash       string
	User       string
	Generation uint32
	Created    time.Time
	Expires    time.Time // absolute end
	LastUsed   time.Time
	UserAgent  string
	Address    string
	Ended      bool
}

// Handle is a short public name of the login for lists and forms ("end this
// login"); it is part of the hash, never of the id.
func (l Login) Handle() string { return l.Hash[:16] }

// Token is an API token, as stored.
type Token struct {
	Hash      string
	ID        string
	Site      string
	Name      string
	CreatedBy string
	Created   time.Time
	Revoked   bool
}

// tables reads and writes the account tables of schema/0010_accounts.sql.
type tables struct{ conn Conn }

func (s tables) insert(ctx context.Context, what, query string, rows ...[]any) error {
	batch, err := s.conn.PrepareBatch(ctx, query)
	if err != nil {
		return fmt.Errorf("account: %s: %w", what, err)
	}
	for _, r := range rows {
		if err := batch.Append(r...); err != nil {
			_ = batch.Abort()
			return fmt.Errorf("account: %s: %w", what, err)
		}
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("account: %s: %w", what, err)
	}
	return nil
}

// versionMs is a row version: Unix ms of the wall clock, never of a test
// clock, so that rows written later always win.
func versionMs() uint64 { return uint64(time.Now().UnixMilli()) }

func b2u(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

const usersQuery = `SELECT user_name, argMax(password_hash, updated_ms), argMax(is_admin, updated_ms),
       max(generation), min(created_at), argMax(deleted, updated_ms) AS del
FROM dashboard_users %s GROUP BY user_name HAVING del = 0 ORDER BY user_name`

func (s tables) users(ctx context.Context, where string, args ...any) ([]User, error) {
	rows, err := s.conn.Query(ctx, fmt.Sprintf(usersQuery, where), args...)
	if err != nil {
		return nil, fmt.Errorf("account: read users: %w", err)
	}
	defer rows.Close()
	var out []User
	for rows.Next() {
		var u User
		var admin, del uint8
		if err := rows.Scan(&u.Name, &u.hash, &admin, &u.Generation, &u.CreatedAt, &del); err != nil {
			return nil, fmt.Errorf("account: scan user: %w", err)
		}
		u.Admin = admin == 1
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("account: read users: %w", err)
	}
	return out, nil
}

func (s tables) user(ctx context.Context, name string) (User, bool, error) {
	list, err := s.users(ctx, "WHERE user_name = ?", name)
	if err != nil || len(list) == 0 {
		return User{}, false, err
	}
	return list[0], true, nil
}

// lastGeneration is the largest generation name ever had (removed or not),
// so that a re-created user never revives an old login.
func (s tables) lastGeneration(ctx context.Context, name string) (uint32, error) {
	rows, err := s.conn.Query(ctx, "SELECT max(generation) FROM dashboard_users WHERE user_name = ?", name)
	if err != nil {
		return 0, fmt.Errorf("account: read user %s: %w", name, err)
	}
	defer rows.Close()
	var g uint32
	if rows.Next() {
		if err := rows.Scan(&g); err != nil {
			return 0, fmt.Errorf("account: scan user %s: %w", name, err)
		}
	}
	return g, rows.Err()
}

func (s tables) saveUser(ctx context.Context, u User, deleted bool) error {
	return s.insert(ctx, "save user "+u.Name,
		"INSERT INTO dashboard_users (user_name, password_hash, is_admin, generation, deleted, created_at, updated_ms)",
		[]any{u.Name, u.hash, b2u(u.Admin), u.Generation, b2u(deleted), u.CreatedAt.UTC(), versionMs()})
}

func (s tables) saveGrants(ctx context.Context, user string, roles map[string]Role) error {
	var rows [][]any
	v := versionMs()
	for site, r := range roles {
		rows = append(rows, []any{user, site, string(r), v})
	}
	if len(rows) == 0 {
		return nil
	}
	return s.insert(ctx, "save grants of "+user, "INSERT INTO dashboard_grants (user_name, site_id, role, updated_ms)", rows...)
}

// grants are user's current roles by site, revoked ones left out.
func (s tables) grants(ctx context.Context, user string) (map[string]Role, error) {
	rows, err := s.conn.Query(ctx, `SELECT site_id, toString(argMax(role, updated_ms)) AS r FROM dashboard_grants
WHERE user_name = ? GROUP BY site_id HAVING r != 'none'`, user)
	if err != nil {
		return nil, fmt.Errorf("account: read grants of %s: %w", user, err)
	}
	defer rows.Close()
	out := map[string]Role{}
	for rows.Next() {
		var site, role string
		if err := rows.Scan(&site, &role); err != nil {
			return nil, fmt.Errorf("account: scan grant: %w", err)
		}
		out[site] = Role(role)
	}
	return out, rows.Err()
}

func (s tables) role(ctx context.Context, user, site string) (Role, error) {
	rows, err := s.conn.Query(ctx, `SELECT toString(argMax(role, updated_ms)) FROM dashboard_grants
WHERE user_name = ? AND site_id = ? GROUP BY site_id`, user, site)
	if err != nil {
		return RoleNone, fmt.Errorf("account: read grant of %s on %s: %w", user, site, err)
	}
	defer rows.Close()
	r := RoleNone
	if rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return RoleNone, fmt.Errorf("account: scan grant: %w", err)
		}
		r = Role(v)
	}
	return r, rows.Err()
}

const loginColumns = "login_hash, user_name, generation, created_at, expires_at, last_used_at, user_agent, address, ended, written_ms"

func (s tables) writeLogin(ctx context.Context, what string, l Login) error {
	return s.insert(ctx, what, "INSERT INTO dashboard_logins ("+loginColumns+")",
		[]any{l.Hash, l.User, l.Generation, l.Created.UTC(), l.Expires.UTC(), l.LastUsed.UTC(), l.UserAgent, l.Address,
			b2u(l.Ended), versionMs()})
}

// loginsQuery folds a login's rows: the fields set at sign-in are the same
// in every row, last use and the end only grow.
const loginsQuery = `SELECT login_hash, any(user_name), any(generation), min(created_at), any(expires_at),
       max(last_used_at), any(user_agent), any(address), max(ended)
FROM dashboard_logins WHERE %s GROUP BY login_hash ORDER BY max(last_used_at) DESC`

func (s tables) logins(ctx context.Context, where string, args ...any) ([]Login, error) {
	rows, err := s.conn.Query(ctx, fmt.Sprintf(loginsQuery, where), args...)
	if err != nil {
		return nil, fmt.Errorf("account: read logins: %w", err)
	}
	defer rows.Close()
	var out []Login
	for rows.Next() {
		var l Login
		var ended uint8
		if err := rows.Scan(&l.Hash, &l.User, &l.Generation, &l.Created, &l.Expires, &l.LastUsed, &l.UserAgent, &l.Address, &ended); err != nil {
			return nil, fmt.Errorf("account: scan login: %w", err)
		}
		l.Ended = ended == 1
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("account: read logins: %w", err)
	}
	return out, nil
}

func (s tables) login(ctx context.Context, hash string) (Login, bool, error) {
	list, err := s.logins(ctx, "login_hash = ?", hash)
	if err != nil || len(list) == 0 {
		return Login{}, false, err
	}
	return list[0], true, nil
}

const tokenColumns = "token_hash, token_id, site_id, name, created_by, created_at, revoked, written_ms"

func (s tables) writeToken(ctx context.Context, what string, t Token) error {
	return s.insert(ctx, what, "INSERT INTO dashboard_tokens ("+tokenColumns+")",
		[]any{t.Hash, t.ID, t.Site, t.Name, t.CreatedBy, t.Created.UTC(), b2u(t.Revoked), versionMs()})
}

const tokensQuery = `SELECT token_hash, any(token_id), any(site_id), any(name), any(created_by), min(created_at), max(revoked) AS rev
FROM dashboard_tokens WHERE %s GROUP BY token_hash HAVING rev = 0 ORDER BY min(created_at)`

// tokens are the live (not revoked) tokens matching where.
func (s tables) tokens(ctx context.Context, where string, args ...any) ([]Token, error) {
	rows, err := s.conn.Query(ctx, fmt.Sprintf(tokensQuery, where), args...)
	if err != nil {
		return nil, fmt.Errorf("account: read API tokens: %w", err)
	}
	defer rows.Close()
	var out []Token
	for rows.Next() {
		var t Token
		var rev uint8
		if err := rows.Scan(&t.Hash, &t.ID, &t.Site, &t.Name, &t.CreatedBy, &t.Created, &rev); err != nil {
			return nil, fmt.Errorf("account: scan API token: %w", err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("account: read API tokens: %w", err)
	}
	return out, nil
}

// AtLeast reports whether r grants what need does.
func (r Role) AtLeast(need Role) bool { return r.rank() >= need.rank() }

func (r Role) rank() int {
	switch r {
	case RoleViewer:
		return 1
	case RoleAdmin:
		return 2
	}
	return 0
}
