package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// Rows is a query result being read: the part of a driver's rows that
// Teller's queries use. clickhouse-go's driver.Rows satisfies it.
type Rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close() error
}

// Querier runs statements and queries on one ClickHouse database, binding
// positional ? arguments. The migration runner and pkg/report depend on it
// rather than on a driver, so that the schema and the report queries run on
// any engine that implements it: *DB over clickhouse-go in the product, and
// an in-process current release (chdb) in the tests (internal/chtest).
type Querier interface {
	// Exec runs a statement that returns no rows.
	Exec(ctx context.Context, query string, args ...any) error
	// Query runs a SELECT; the caller closes the rows.
	Query(ctx context.Context, query string, args ...any) (Rows, error)
}

var _ Querier = (*DB)(nil)

// Exec runs a statement that returns no rows on the connected database.
func (db *DB) Exec(ctx context.Context, query string, args ...any) error {
	return db.conn.Exec(ctx, query, args...)
}

// Query runs a query on the connected database.
func (db *DB) Query(ctx context.Context, query string, args ...any) (Rows, error) {
	rows, err := db.conn.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return rows, nil
}

// ServerVersionOf asks q's server for its release (SELECT version()).
func ServerVersionOf(ctx context.Context, q Querier) (Version, error) {
	rows, err := q.Query(ctx, "SELECT version()")
	if err != nil {
		return Version{}, fmt.Errorf("store: read server version: %w", err)
	}
	defer rows.Close()
	var s string
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return Version{}, fmt.Errorf("store: read server version: %w", err)
		}
		return Version{}, fmt.Errorf("store: read server version: no row")
	}
	if err := rows.Scan(&s); err != nil {
		return Version{}, fmt.Errorf("store: read server version: %w", err)
	}
	return ParseVersion(s)
}

// ParseVersion reads a release such as "18.16.1" or "26.7.2.1" (parts after
// the third are ignored).
func ParseVersion(s string) (Version, error) {
	parts := strings.Split(strings.TrimSpace(s), ".")
	if len(parts) < 2 {
		return Version{}, fmt.Errorf("store: server version %q is not MAJOR.MINOR[.PATCH]", s)
	}
	var n [3]uint64
	for i := 0; i < len(parts) && i < 3; i++ {
		v, err := strconv.ParseUint(parts[i], 10, 64)
		if err != nil {
			return Version{}, fmt.Errorf("store: server version %q is not MAJOR.MINOR[.PATCH]", s)
		}
		n[i] = v
	}
	return Version{Major: n[0], Minor: n[1], Patch: n[2]}, nil
}
