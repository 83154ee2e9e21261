package importer

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// Conn is what the token store needs of ClickHouse; clickhouse-go's
// driver.Conn satisfies it. Writes are PrepareBatch with named columns
// (ClickHouse 18.16 hangs on INSERT ... VALUES over the native protocol).
type Conn interface {
	Query(ctx context.Context, query string, args ...any) (driver.Rows, error)
	PrepareBatch(ctx context.Context, query string, opts ...driver.PrepareBatchOption) (driver.Batch, error)
}

// Token is an import token as stored: its secret is not part of it.
type Token struct {
	ID      string
	Site    string
	Name    string
	Created time.Time
	hash    string
}

// ErrNoToken means no live token has that id (or secret).
var ErrNoToken = errors.New("no such import token")

// tokenPrefix marks an import token, so one found in a log or a repository
// is recognisable (and never mistaken for a dashboard API token).
const tokenPrefix = "teller_import_"

// Tokens is the store of import tokens in table import_tokens
// (schema/0050_import_tokens.sql). Every lookup reads ClickHouse, so a
// revocation holds from the next request on, on every collector.
type Tokens struct{ conn Conn }

// NewTokens returns the store on conn.
func NewTokens(conn Conn) *Tokens { return &Tokens{conn: conn} }

func hashToken(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// Create makes a token for site and returns its secret, which is shown once.
func (t *Tokens) Create(ctx context.Context, site, name string, now time.Time) (string, Token, error) {
	if site == "" {
		return "", Token{}, errors.New("import token: site is missing")
	}
	if name == "" || len(name) > 100 {
		return "", Token{}, errors.New("import token: give it a name of 1 to 100 bytes")
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", Token{}, fmt.Errorf("import token: read random bytes: %w", err)
	}
	secret := tokenPrefix + base64.RawURLEncoding.EncodeToString(b)
	hash := hashToken(secret)
	tok := Token{ID: hash[:12], Site: site, Name: name, Created: now.UTC().Truncate(time.Second), hash: hash}
	if err := t.write(ctx, "create import token for "+site, tok, false); err != nil {
		return "", Token{}, err
	}
	return secret, tok, nil
}

// List returns site's live tokens, oldest first.
func (t *Tokens) List(ctx context.Context, site string) ([]Token, error) {
	return t.read(ctx, "site_id = ?", site)
}

// Revoke revokes site's token id.
func (t *Tokens) Revoke(ctx context.Context, site, id string) error {
	list, err := t.read(ctx, "site_id = ? AND token_id = ?", site, id)
	if err != nil {
		return err
	}
	if len(list) == 0 {
		return fmt.Errorf("import token %q of site %q: %w", id, site, ErrNoToken)
	}
	return t.write(ctx, "revoke import token "+id, list[0], true)
}

// Lookup returns the live token whose secret this is; ok is false for an
// unknown, malformed or revoked one.
func (t *Tokens) Lookup(ctx context.Context, secret string) (tok Token, ok bool, err error) {
	if !strings.HasPrefix(secret, tokenPrefix) || len(secret) != len(tokenPrefix)+43 {
		return Token{}, false, nil
	}
	list, err := t.read(ctx, "token_hash = ?", hashToken(secret))
	if err != nil || len(list) == 0 {
		return Token{}, false, err
	}
	return list[0], true, nil
}

const tokenColumns = "token_hash, token_id, site_id, name, created_at, revoked, written_ms"

func (t *Tokens) write(ctx context.Context, what string, tok Token, revoked bool) error {
	batch, err := t.conn.PrepareBatch(ctx, "INSERT INTO import_tokens ("+tokenColumns+")")
	if err != nil {
		return fmt.Errorf("importer: %s: %w", what, err)
	}
	var rev uint8
	if revoked {
		rev = 1
	}
	if err := batch.Append(tok.hash, tok.ID, tok.Site, tok.Name, tok.Created, rev, uint64(time.Now().UnixMilli())); err != nil {
		_ = batch.Abort()
		return fmt.Errorf("importer: %s: %w", what, err)
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("importer: %s: %w", what, err)
	}
	return nil
}

const tokensQuery = `SELECT token_hash, any(token_id), any(site_id), any(name), min(created_at), max(revoked) AS rev
FROM import_tokens WHERE %s GROUP BY token_hash HAVING rev = 0 ORDER BY min(created_at), token_hash`

func (t *Tokens) read(ctx context.Context, where string, args ...any) ([]Token, error) {
	rows, err := t.conn.Query(ctx, fmt.Sprintf(tokensQuery, where), args...)
	if err != nil {
		return nil, fmt.Errorf("importer: read import tokens: %w", err)
	}
	defer rows.Close()
	var out []Token
	for rows.Next() {
		var tok Token
		var rev uint8
		if err := rows.Scan(&tok.hash, &tok.ID, &tok.Site, &tok.Name, &tok.Created, &rev); err != nil {
			return nil, fmt.Errorf("importer: scan import token: %w", err)
		}
		out = append(out, tok)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("importer: read import tokens: %w", err)
	}
	return out, nil
}
