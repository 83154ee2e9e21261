package store

import (
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

func TestBind(t *testing.T) {
	id := uuid.MustParse("6f1c2a52-93c4-4c55-9d3a-0b0e6f9b8d11")
	tests := []struct {
		name  string
		query string
		args  []any
		want  string
	}{
		{"numbers", "SELECT ?, ?, ?, ?", []any{int64(-3), uint64(18446744073709551615), uint8(7), 1.5}, "SELECT -3, 18446744073709551615, 7, 1.5"},
		{"quote and backslash", "SELECT ?", []any{`it's a \ path`}, `SELECT 'it\'s a \\ path'`},
		{"nul byte is escaped", "SELECT ?", []any{"a\x00b"}, `SELECT 'a\0b'`},
		{"newline and tab stay", "SELECT ?", []any{"a\n\tb"}, "SELECT 'a\n\tb'"},
		{"? in a string literal", "SELECT 'why?', ?", []any{"x"}, "SELECT 'why?', 'x'"},
		{"? after an escaped quote", `SELECT 'it\'s?', '''?', ?`, []any{1}, `SELECT 'it\'s?', '''?', 1`},
		{"? in identifiers", "SELECT 1 AS `a?`, 2 AS \"b?\", ?", []any{3}, "SELECT 1 AS `a?`, 2 AS \"b?\", 3"},
		{"? in comments", "SELECT -- what?\n ? /* and? */", []any{true}, "SELECT -- what?\n 1 /* and? */"},
		{"time is a UTC DateTime at whole seconds", "SELECT ?", []any{time.Date(2024, 3, 10, 10, 0, 0, 500e6, time.FixedZone("", 3600))},
			"SELECT toDateTime('2024-03-10 09:00:00', 'UTC')"},
		{"uuid", "SELECT ?", []any{id}, "SELECT '" + id.String() + "'"},
		{"array of strings", "SELECT ?", []any{[]string{"a", "b'c"}}, `SELECT ['a', 'b\'c']`},
		{"array of UInt32", "SELECT ?", []any{[]uint32{1, 40}}, `SELECT [1, 40]`},
		{"null", "SELECT ?", []any{nil}, "SELECT NULL"},
		{"no arguments", "SELECT '?'", nil, "SELECT '?'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Bind(tt.query, tt.args...)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("bind = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestBindRefuses(t *testing.T) {
	for name, tc := range map[string]struct {
		query string
		args  []any
		err   string
	}{
		"too few arguments":    {"SELECT ?, ?", []any{1}, "more ?"},
		"too many arguments":   {"SELECT ?", []any{1, 2}, "2 arguments for 1"},
		"unknown type":         {"SELECT ?", []any{struct{}{}}, "no literal"},
		"unterminated string":  {"SELECT 'abc, ?", []any{1}, "unterminated"},
		"unterminated comment": {"SELECT /* ?", []any{1}, "unterminated"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Bind(tc.query, tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("err = %v, want one containing %q", err, tc.err)
			}
		})
	}
}
