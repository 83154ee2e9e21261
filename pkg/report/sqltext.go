package report

import (
	"context"
	"strings"
	"sync"

	"github.com/teller-analytics/teller/pkg/store"
)

// SQLLog collects the statements the reports run with a context made by
// WithSQLLog, each with its arguments inlined, ready to paste into
// clickhouse-client: the schema is a public interface, and the dashboard
// shows people the SQL behind what they see. It is safe for concurrent use
// (a page runs its reports at once).
type SQLLog struct {
	mu    sync.Mutex
	stmts []string
}

type sqlLogKey struct{}

// WithSQLLog returns ctx with l attached: every report run with it appends
// its statements to l.
func WithSQLLog(ctx context.Context, l *SQLLog) context.Context {
	return context.WithValue(ctx, sqlLogKey{}, l)
}

// Statements returns the statements logged so far, in the order they ran.
func (l *SQLLog) Statements() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.stmts...)
}

// AddSQL appends statements, as Statements returned them, to the SQLLog of
// ctx (if it has one): for a caller that shares a report computed under
// another context (the dashboard's identical concurrent requests), so that
// its log still shows what ran.
func AddSQL(ctx context.Context, stmts ...string) {
	l, _ := ctx.Value(sqlLogKey{}).(*SQLLog)
	if l == nil || len(stmts) == 0 {
		return
	}
	l.mu.Lock()
	l.stmts = append(l.stmts, stmts...)
	l.mu.Unlock()
}

func logSQL(ctx context.Context, query string, args []any) {
	l, _ := ctx.Value(sqlLogKey{}).(*SQLLog)
	if l == nil {
		return
	}
	s := Inline(query, args...)
	l.mu.Lock()
	l.stmts = append(l.stmts, s)
	l.mu.Unlock()
}

// Inline is query with its arguments inlined as clickhouse-go binds them on
// the client (store.Bind), so that a shown statement is the one that ran.
// Strings are quoted with backslash escapes, so no value can end its
// literal. An argument Bind cannot render, or a count that does not match,
// is a bug: the result then says so in a comment rather than guess.
func Inline(query string, args ...any) string {
	s, err := store.Bind(query, args...)
	if err != nil {
		return query + "\n-- " + err.Error()
	}
	return s
}

// each runs query (logging it when ctx carries a SQLLog) and calls scan for
// every row.
func (r *Reports) each(ctx context.Context, query string, args []any, scan func(store.Rows) error) error {
	logSQL(ctx, query, args)
	rows, err := r.q.Query(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// listOf is n copies of item joined by commas: the placeholders of an IN
// list, e.g. listOf("toDate(?)", 3).
func listOf(item string, n int) string {
	return strings.TrimSuffix(strings.Repeat(item+", ", n), ", ")
}
