package store

import (
	"database/sql/driver"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// clickhouse-go binds ? arguments on the client with an unexported binder.
// Bind is Teller's own, for the places that need the bound text: the
// in-process ClickHouse of the tests (chdb has no binding of its own) and
// the SQL the dashboard shows, ready to paste into clickhouse-client. It
// covers the argument types Teller's queries use, tested in bind_test.go;
// anything else is an error, never a guess.

// Bind replaces each positional ? outside string literals, quoted
// identifiers and comments with the literal of the next argument.
func Bind(query string, args ...any) (string, error) {
	var b strings.Builder
	next := 0
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case c == '\'' || c == '"' || c == '`':
			end, err := quotedEnd(query, i)
			if err != nil {
				return "", err
			}
			b.WriteString(query[i : end+1])
			i = end
		case c == '-' && strings.HasPrefix(query[i:], "--"):
			end := strings.IndexByte(query[i:], '\n')
			if end < 0 {
				end = len(query) - i
			}
			b.WriteString(query[i : i+end])
			i += end - 1
		case c == '/' && strings.HasPrefix(query[i:], "/*"):
			end := strings.Index(query[i+2:], "*/")
			if end < 0 {
				return "", fmt.Errorf("store: bind: unterminated comment at byte %d", i)
			}
			b.WriteString(query[i : i+2+end+2])
			i += 2 + end + 1
		case c == '?':
			if next >= len(args) {
				return "", fmt.Errorf("store: bind: query has more ? than the %d arguments", len(args))
			}
			lit, err := Literal(args[next])
			if err != nil {
				return "", fmt.Errorf("store: bind argument %d: %w", next+1, err)
			}
			b.WriteString(lit)
			next++
		default:
			b.WriteByte(c)
		}
	}
	if next != len(args) {
		return "", fmt.Errorf("store: bind: %d arguments for %d ? in the query", len(args), next)
	}
	return b.String(), nil
}

// quotedEnd returns the index of the quote closing the one at start; a
// backslash escapes the next byte and a doubled quote stands for itself.
func quotedEnd(s string, start int) (int, error) {
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
			return i, nil
		}
	}
	return 0, fmt.Errorf("store: bind: unterminated %c at byte %d", q, start)
}

// quote makes s a ClickHouse string literal. A NUL byte is escaped too: the
// query reaches chdb as a C string, which a raw NUL would cut short.
func quote(s string) string {
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
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('\'')
	return b.String()
}

// Literal is v as a ClickHouse literal. A time.Time is a DateTime in UTC at
// whole seconds, as clickhouse-go writes a DateTime column.
func Literal(v any) (string, error) {
	if val, ok := v.(driver.Valuer); ok {
		if _, isUUID := v.(uuid.UUID); !isUUID {
			var err error
			if v, err = val.Value(); err != nil {
				return "", err
			}
		}
	}
	switch v := v.(type) {
	case nil:
		return "NULL", nil
	case string:
		return quote(v), nil
	case []byte:
		return quote(string(v)), nil
	case uuid.UUID:
		return quote(v.String()), nil
	case bool:
		if v {
			return "1", nil
		}
		return "0", nil
	case int:
		return strconv.FormatInt(int64(v), 10), nil
	case int8:
		return strconv.FormatInt(int64(v), 10), nil
	case int16:
		return strconv.FormatInt(int64(v), 10), nil
	case int32:
		return strconv.FormatInt(int64(v), 10), nil
	case int64:
		return strconv.FormatInt(v, 10), nil
	case uint:
		return strconv.FormatUint(uint64(v), 10), nil
	case uint8:
		return strconv.FormatUint(uint64(v), 10), nil
	case uint16:
		return strconv.FormatUint(uint64(v), 10), nil
	case uint32:
		return strconv.FormatUint(uint64(v), 10), nil
	case uint64:
		return strconv.FormatUint(v, 10), nil
	case float32:
		return floatLiteral(float64(v), 32), nil
	case float64:
		return floatLiteral(v, 64), nil
	case time.Time:
		return "toDateTime(" + quote(v.UTC().Format(time.DateTime)) + ", 'UTC')", nil
	case []string:
		parts := make([]string, len(v))
		for i, s := range v {
			parts[i] = quote(s)
		}
		return "[" + strings.Join(parts, ", ") + "]", nil
	case []uint32:
		parts := make([]string, len(v))
		for i, n := range v {
			parts[i] = strconv.FormatUint(uint64(n), 10)
		}
		return "[" + strings.Join(parts, ", ") + "]", nil
	}
	return "", fmt.Errorf("store: no literal for %T", v)
}

func floatLiteral(f float64, bits int) string {
	switch {
	case math.IsNaN(f):
		return "nan"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	return strconv.FormatFloat(f, 'g', -1, bits)
}
