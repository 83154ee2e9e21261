package chtest

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

func TestParseTSV(t *testing.T) {
	out := "s\tn\td\te\tu\n" +
		"String\tUInt64\tDateTime(\\'Europe/Berlin\\')\tEnum8(\\'a\\' = 1)\tUUID\n" +
		"tab\\there\\nnew \\\\ \\' \\0 end\t18446744073709551615\t2024-03-10 10:00:00\ta\t6f1c2a52-93c4-4c55-9d3a-0b0e6f9b8d11\n"
	rows, err := parseTSV([]byte(out))
	if err != nil {
		t.Fatal(err)
	}
	if !rows.Next() {
		t.Fatal("no row")
	}
	var s, e string
	var n uint64
	var d time.Time
	var u uuid.UUID
	if err := rows.Scan(&s, &n, &d, &e, &u); err != nil {
		t.Fatal(err)
	}
	want := []any{"tab\there\nnew \\ ' \x00 end", uint64(18446744073709551615), "2024-03-10T09:00:00Z", "a", "6f1c2a52-93c4-4c55-9d3a-0b0e6f9b8d11"}
	if got := []any{s, n, d.UTC().Format(time.RFC3339), e, u.String()}; !reflect.DeepEqual(got, want) {
		t.Errorf("scanned %q, want %q", got, want)
	}
	if rows.Next() {
		t.Error("a second row")
	}
	empty, err := parseTSV(nil)
	if err != nil || empty.Next() {
		t.Errorf("empty answer: %v, rows %v", err, empty.rows)
	}
}

// TestParseUUIDArrays: Array(UUID) as groupUniqArray answers it, empty too.
func TestParseUUIDArrays(t *testing.T) {
	out := "a\nArray(UUID)\n" +
		"[\\'6f1c2a52-93c4-4c55-9d3a-0b0e6f9b8d11\\',\\'01000000-0000-0000-0000-000000000000\\']\n[]\n"
	rows, err := parseTSV([]byte(out))
	if err != nil {
		t.Fatal(err)
	}
	var got [][]uuid.UUID
	for rows.Next() {
		var ids []uuid.UUID
		if err := rows.Scan(&ids); err != nil {
			t.Fatal(err)
		}
		got = append(got, ids)
	}
	want := [][]uuid.UUID{{uuid.MustParse("6f1c2a52-93c4-4c55-9d3a-0b0e6f9b8d11"),
		uuid.MustParse("01000000-0000-0000-0000-000000000000")}, {}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("scanned %v, want %v", got, want)
	}
}

// TestScanIsStrict: like clickhouse-go, a value only goes into the Go type
// of its column's width and sign, so a type that changed on a new release
// is an error here too.
func TestScanIsStrict(t *testing.T) {
	for _, tc := range []struct {
		typ, field string
		dest       any
	}{
		{"UInt32", "1", new(uint64)},
		{"UInt64", "1", new(int64)},
		{"Int64", "1", new(uint64)},
		{"Nullable(UInt64)", "1", new(uint64)},
		{"Float64", "1", new(uint64)},
		{"String", "x", new(uint64)},
		{"UInt8", "1", new(bool)},
		{"String", nullField, new(string)},
		{"UInt8", "256", new(uint8)},
	} {
		if err := scanValue(tc.typ, tc.field, tc.dest); err == nil {
			t.Errorf("scanning %s %q into %T succeeded", tc.typ, tc.field, tc.dest)
		}
	}
	var s string
	if err := scanValue("LowCardinality(String)", "x", &s); err != nil || s != "x" {
		t.Errorf("LowCardinality(String): %q, %v", s, err)
	}
}

// TestInstallScriptMatches: scripts/install-deps.sh installs the package
// these tests look for, where they look.
func TestInstallScriptMatches(t *testing.T) {
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	script, err := readFile(root + "/scripts/install-deps.sh")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{ChdbPackage, ChdbPrefix, chdbLibInPrefix} {
		if !strings.Contains(script, want) {
			t.Errorf("scripts/install-deps.sh does not mention %q", want)
		}
	}
	ignore, err := readFile(root + "/.gitignore")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(ignore, "/"+ChdbPrefix+"/") && !strings.Contains(ignore, "/.cache/") {
		t.Errorf(".gitignore does not ignore %s", ChdbPrefix)
	}
}
