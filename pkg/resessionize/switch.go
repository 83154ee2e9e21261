package resessionize

import (
	"context"
	"fmt"
	"strings"

	"github.com/teller-analytics/teller/pkg/store"
)

// database is a connection bound to one database (*store.DB).
type database interface {
	store.Querier
	Database() string
}

// swap exchanges Tables between the live and the staging database.
func swap(ctx context.Context, live, stg database) error {
	tables, err := swapped(ctx, live, stg)
	if err != nil {
		return err
	}
	if err := live.Exec(ctx, swapStatement(live.Database(), stg.Database(), tables)); err != nil {
		return fmt.Errorf("resessionize: switch tables: %w", err)
	}
	return nil
}

// swapStatement exchanges Tables between the live and the staging
// database in one statement, so a reader sees either every old table or
// every new one (ClickHouse 18.16 has no EXCHANGE TABLES): each table goes
// through a temporary name in the staging database. Run again, it swaps
// back.
func swapStatement(liveDB, staging string, tables []string) string {
	var parts []string
	for _, t := range tables {
		l, s, tmp := quoteIdent(liveDB)+"."+quoteIdent(t), quoteIdent(staging)+"."+quoteIdent(t), quoteIdent(staging)+"."+quoteIdent(t+"_swap")
		parts = append(parts, l+" TO "+tmp, s+" TO "+l, tmp+" TO "+s)
	}
	return "RENAME TABLE " + strings.Join(parts, ", ")
}

// swapped are the Tables the live database holds, which the staging one
// must hold too (both are migrated to the same schema).
func swapped(ctx context.Context, live, stg database) ([]string, error) {
	tables, err := present(ctx, live)
	if err != nil {
		return nil, err
	}
	have, err := present(ctx, stg)
	if err != nil {
		return nil, err
	}
	if strings.Join(have, ",") != strings.Join(tables, ",") {
		return nil, fmt.Errorf("resessionize: database %s holds %s and %s holds %s: not a staging database of %s",
			live.Database(), strings.Join(tables, ", "), stg.Database(), strings.Join(have, ", "), live.Database())
	}
	if len(tables) == 0 {
		return nil, fmt.Errorf("resessionize: database %s holds none of %s", live.Database(), strings.Join(Tables, ", "))
	}
	return tables, nil
}

// present are the Tables db holds, in Tables' order.
func present(ctx context.Context, db database) ([]string, error) {
	rows, err := db.Query(ctx, "SELECT name FROM system.tables WHERE database = ?", db.Database())
	if err != nil {
		return nil, fmt.Errorf("resessionize: list the tables of %s: %w", db.Database(), err)
	}
	defer rows.Close()
	has := map[string]bool{}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, fmt.Errorf("resessionize: list the tables of %s: %w", db.Database(), err)
		}
		has[name] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("resessionize: list the tables of %s: %w", db.Database(), err)
	}
	var out []string
	for _, t := range Tables {
		if has[t] {
			out = append(out, t)
		}
	}
	return out, nil
}
