package report

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

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

// Inline replaces each positional ? outside string literals and quoted
// identifiers with the literal of the next argument, as clickhouse-go binds
// them on the client, so that a shown statement is the one that ran. Strings
// are quoted with backslash escapes, so no value can end its literal. An
// argument of a type the reports never bind, or a count that does not
// match, is a bug: the result then says so in a comment rather than guess.
func Inline(query string, args ...any) string {
	var b strings.Builder
	next := 0
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case c == '\'' || c == '"' || c == '`':
			end := quotedEnd(query, i)
			b.WriteString(query[i:end])
			i = end - 1
		case c == '?' && next < len(args):
			b.WriteString(literal(args[next]))
			next++
		default:
			b.WriteByte(c)
		}
	}
	if next != len(args) {
		fmt.Fprintf(&b, "\n-- %d arguments were given for %d placeholders", len(args), next)
	}
	return b.String()
}

// quotedEnd is the index just after the quote closing the one at start (or
// the end of s); a backslash escapes the next byte and a doubled quote
// stands for itself.
func quotedEnd(s string, start int) int {
	q := s[start]
	for i := start + 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case q:
			if i+1 < len(s) && s[i+1] == q {
				i++
				continue
			}
			return i + 1
		}
	}
	return len(s)
}

// quoteString makes s a ClickHouse string literal.
func quoteString(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('\'')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			b.WriteString(`\\`)
		case '\'':
			b.WriteString(`\'`)
		case 0:
			b.WriteString(`\0`)
		case '\n':
			b.WriteString(`\n`)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('\'')
	return b.String()
}

func literal(v any) string {
	switch v := v.(type) {
	case string:
		return quoteString(v)
	case uuid.UUID:
		return quoteString(v.String())
	case int:
		return strconv.Itoa(v)
	case int64:
		return strconv.FormatInt(v, 10)
	case uint64:
		return strconv.FormatUint(v, 10)
	case uint32:
		return strconv.FormatUint(uint64(v), 10)
	case uint8:
		return strconv.FormatUint(uint64(v), 10)
	case time.Time:
		return "toDateTime(" + quoteString(v.UTC().Format(time.DateTime)) + ", 'UTC')"
	}
	return fmt.Sprintf("NULL /* no literal for %T */", v)
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
