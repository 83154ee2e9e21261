package chtest

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// chdb answers in text; queries ask for TabSeparatedWithNamesAndTypes so
// that every value comes with its ClickHouse type, and Scan converts the
// way clickhouse-go does: into the Go type of the column's width and sign
// only, so that a query whose types differ on a current release fails here
// as it would in the product.

// textRows is a parsed TabSeparatedWithNamesAndTypes answer; it implements
// store.Rows.
type textRows struct {
	names, types []string
	rows         [][]string
	cur          int // 1-based index of the current row
	closed       bool
}

func parseTSV(out []byte) (*textRows, error) {
	text := strings.TrimSuffix(string(out), "\n")
	if text == "" {
		return &textRows{}, nil
	}
	lines := strings.Split(text, "\n")
	if len(lines) < 2 {
		return nil, fmt.Errorf("chtest: answer has no names and types lines: %q", text)
	}
	r := &textRows{}
	var err error
	if r.names, err = splitTSV(lines[0]); err != nil {
		return nil, err
	}
	if r.types, err = splitTSV(lines[1]); err != nil {
		return nil, err
	}
	if len(r.names) != len(r.types) {
		return nil, fmt.Errorf("chtest: %d names for %d types", len(r.names), len(r.types))
	}
	for _, line := range lines[2:] {
		fields, err := splitTSV(line)
		if err != nil {
			return nil, err
		}
		if len(fields) != len(r.types) {
			return nil, fmt.Errorf("chtest: row of %d fields for %d columns: %q", len(fields), len(r.types), line)
		}
		r.rows = append(r.rows, fields)
	}
	return r, nil
}

// nullField marks \N, which is NULL rather than a string.
const nullField = "\x00NULL"

// splitTSV splits one line into unescaped fields.
func splitTSV(line string) ([]string, error) {
	var fields []string
	var b strings.Builder
	for i := 0; i < len(line); i++ {
		switch c := line[i]; c {
		case '\t':
			fields = append(fields, b.String())
			b.Reset()
		case '\\':
			i++
			if i == len(line) {
				return nil, fmt.Errorf("chtest: line ends in a backslash: %q", line)
			}
			switch e := line[i]; e {
			case 'b':
				b.WriteByte('\b')
			case 'f':
				b.WriteByte('\f')
			case 'r':
				b.WriteByte('\r')
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case '0':
				b.WriteByte(0)
			case 'N':
				b.WriteString(nullField)
			default: // \\ \' and anything else stand for the byte itself
				b.WriteByte(e)
			}
		default:
			b.WriteByte(c)
		}
	}
	return append(fields, b.String()), nil
}

func (r *textRows) Next() bool {
	if r.closed || r.cur >= len(r.rows) {
		return false
	}
	r.cur++
	return true
}

func (r *textRows) Err() error   { return nil }
func (r *textRows) Close() error { r.closed = true; return nil }

func (r *textRows) Scan(dest ...any) error {
	if r.cur == 0 || r.cur > len(r.rows) {
		return errors.New("chtest: Scan without a current row")
	}
	if len(dest) != len(r.types) {
		return fmt.Errorf("chtest: Scan into %d values, the query has %d columns", len(dest), len(r.types))
	}
	row := r.rows[r.cur-1]
	for i, d := range dest {
		if err := scanValue(r.types[i], row[i], d); err != nil {
			return fmt.Errorf("chtest: column %s (%s): %w", r.names[i], r.types[i], err)
		}
	}
	return nil
}

// scanValue converts one field of type typ into dest.
func scanValue(typ, field string, dest any) error {
	if inner, ok := unwrap(typ, "LowCardinality"); ok {
		typ = inner
	}
	if field == nullField {
		return errors.New("NULL into a non-pointer destination is not supported")
	}
	base, _, _ := strings.Cut(typ, "(")
	switch d := dest.(type) {
	case *string:
		switch base {
		case "String", "FixedString", "Enum8", "Enum16", "UUID":
			*d = field
			return nil
		}
	case *uuid.UUID:
		if base == "UUID" {
			u, err := uuid.Parse(field)
			*d = u
			return err
		}
	case *[]uuid.UUID:
		if typ == "Array(UUID)" {
			// ['…','…']: UUIDs hold no quote or comma.
			inner, ok := strings.CutPrefix(field, "[")
			if inner, ok = strings.CutSuffix(inner, "]"); !ok {
				return fmt.Errorf("array %q", field)
			}
			*d = []uuid.UUID{}
			if inner == "" {
				return nil
			}
			for _, f := range strings.Split(inner, ",") {
				u, err := uuid.Parse(strings.Trim(f, "'"))
				if err != nil {
					return err
				}
				*d = append(*d, u)
			}
			return nil
		}
	case *time.Time:
		switch base {
		case "DateTime":
			loc := time.UTC
			if tz, ok := unwrap(typ, "DateTime"); ok && tz != "" {
				var err error
				if loc, err = time.LoadLocation(strings.Trim(tz, "'")); err != nil {
					return err
				}
			}
			t, err := time.ParseInLocation(time.DateTime, field, loc)
			*d = t
			return err
		case "Date":
			t, err := time.ParseInLocation(time.DateOnly, field, time.UTC)
			*d = t
			return err
		}
	case *uint8:
		return scanUint(base, "UInt8", field, 8, func(v uint64) { *d = uint8(v) })
	case *uint16:
		return scanUint(base, "UInt16", field, 16, func(v uint64) { *d = uint16(v) })
	case *uint32:
		return scanUint(base, "UInt32", field, 32, func(v uint64) { *d = uint32(v) })
	case *uint64:
		return scanUint(base, "UInt64", field, 64, func(v uint64) { *d = v })
	case *int8:
		return scanInt(base, "Int8", field, 8, func(v int64) { *d = int8(v) })
	case *int16:
		return scanInt(base, "Int16", field, 16, func(v int64) { *d = int16(v) })
	case *int32:
		return scanInt(base, "Int32", field, 32, func(v int64) { *d = int32(v) })
	case *int64:
		return scanInt(base, "Int64", field, 64, func(v int64) { *d = v })
	case *float64:
		if base == "Float64" {
			v, err := strconv.ParseFloat(field, 64)
			*d = v
			return err
		}
	case *float32:
		if base == "Float32" {
			v, err := strconv.ParseFloat(field, 32)
			*d = float32(v)
			return err
		}
	}
	return fmt.Errorf("cannot scan %s into %T (clickhouse-go would refuse it too)", typ, dest)
}

func scanUint(base, want, field string, bits int, set func(uint64)) error {
	if base != want {
		return fmt.Errorf("cannot scan %s into a %d-bit unsigned integer (clickhouse-go would refuse it too)", base, bits)
	}
	v, err := strconv.ParseUint(field, 10, bits)
	set(v)
	return err
}

func scanInt(base, want, field string, bits int, set func(int64)) error {
	if base != want {
		return fmt.Errorf("cannot scan %s into a %d-bit integer (clickhouse-go would refuse it too)", base, bits)
	}
	v, err := strconv.ParseInt(field, 10, bits)
	set(v)
	return err
}

// unwrap returns X of "name(X)".
func unwrap(typ, name string) (string, bool) {
	if strings.HasPrefix(typ, name+"(") && strings.HasSuffix(typ, ")") {
		return typ[len(name)+1 : len(typ)-1], true
	}
	return "", false
}
