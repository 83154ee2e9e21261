package resessionize

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/teller-analytics/teller/pkg/store"
)

// database is a connection bound to one database (*store.DB).
type database interface {
	store.Querier
	Database() string
}

// swap exchanges Tables between the live and the staging database, then
// attaches each database's materialized views to its own tables again.
func swap(ctx context.Context, live, stg database) error {
	tables, err := swapped(ctx, live, stg)
	if err != nil {
		return err
	}
	if err := live.Exec(ctx, swapStatement(live.Database(), stg.Database(), tables)); err != nil {
		return fmt.Errorf("resessionize: switch tables: %w", err)
	}
	for _, db := range []database{live, stg} {
		if err := reattachViews(ctx, db); err != nil {
			return err
		}
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
// must hold too: a migration may drop one of them (sessions_agg is to go),
// and then neither database has it.
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

var createView = regexp.MustCompile(`(?is)^CREATE MATERIALIZED VIEW (?:IF NOT EXISTS )?([A-Za-z_][A-Za-z0-9_]*)\s`)

// reattachViews drops and re-creates, from the migration that creates it,
// every materialized view of db's: plain views read tables by name, but a
// materialized view is attached to the table it reads when it is created,
// and a rename keeps it there on current releases (on 18.16 it follows the
// name). Re-created, it feeds from and into the tables db holds now. Only
// the sessionizer inserts into its source, and it is stopped, so no insert
// falls between the drop and the create. A view no migration creates is
// left as it is.
func reattachViews(ctx context.Context, db database) error {
	migs, err := store.Migrations()
	if err != nil {
		return err
	}
	creates := map[string]string{}
	for _, m := range migs {
		for _, st := range m.Statements {
			if sm := createView.FindStringSubmatch(strings.TrimSpace(stripComments(st))); sm != nil {
				creates[sm[1]] = st
			}
		}
	}
	rows, err := db.Query(ctx, "SELECT name FROM system.tables WHERE database = ? AND engine = 'MaterializedView'", db.Database())
	if err != nil {
		return fmt.Errorf("resessionize: list materialized views of %s: %w", db.Database(), err)
	}
	var views []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			rows.Close()
			return fmt.Errorf("resessionize: list materialized views of %s: %w", db.Database(), err)
		}
		views = append(views, name)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("resessionize: list materialized views of %s: %w", db.Database(), err)
	}
	for _, v := range views {
		create, ok := creates[v]
		if !ok {
			continue
		}
		if err := db.Exec(ctx, "DROP TABLE IF EXISTS "+quoteIdent(db.Database())+"."+quoteIdent(v)); err != nil {
			return fmt.Errorf("resessionize: drop materialized view %s.%s: %w", db.Database(), v, err)
		}
		if err := db.Exec(ctx, create); err != nil {
			return fmt.Errorf("resessionize: re-create materialized view %s.%s: %w", db.Database(), v, err)
		}
	}
	return nil
}

// stripComments drops the "--" comment lines of a statement.
func stripComments(st string) string {
	var b strings.Builder
	for _, line := range strings.Split(st, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "--") {
			b.WriteString(line)
			b.WriteByte('\n')
		}
	}
	return b.String()
}
