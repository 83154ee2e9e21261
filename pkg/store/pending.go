package store

import (
	"context"
	"fmt"
)

// RunsOn reports whether the migration applies to a server of version v:
// files gated on a newer server ("-- requires-server:") wait until the
// server is upgraded.
func (m Migration) RunsOn(v Version) bool {
	return m.MinMajor == 0 || v.AtLeast(m.MinMajor, m.MinMinor)
}

// Pending lists, in order, the migrations of this build that the database
// has not applied and that its server can run, i.e. what Migrate would
// apply. It only reads, so a read-only user can check the schema.
func (db *DB) Pending(ctx context.Context) ([]Migration, error) {
	migs, err := Migrations()
	if err != nil {
		return nil, err
	}
	var tables uint64
	if err := db.conn.QueryRow(ctx, "SELECT count() FROM system.tables WHERE database = ? AND name = 'schema_migrations'",
		db.cfg.Database).Scan(&tables); err != nil {
		return nil, fmt.Errorf("store: look for schema_migrations in %s: %w", db.cfg.Database, err)
	}
	applied := map[int]bool{}
	if tables > 0 {
		rows, err := db.conn.Query(ctx, "SELECT DISTINCT version FROM schema_migrations")
		if err != nil {
			return nil, fmt.Errorf("store: read schema_migrations: %w", err)
		}
		for rows.Next() {
			var v uint32
			if err := rows.Scan(&v); err != nil {
				rows.Close()
				return nil, fmt.Errorf("store: scan schema_migrations: %w", err)
			}
			applied[int(v)] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("store: read schema_migrations: %w", err)
		}
	}
	var pending []Migration
	for _, m := range migs {
		if !applied[m.Version] && m.RunsOn(db.version) {
			pending = append(pending, m)
		}
	}
	return pending, nil
}
