package jsonscan_test

import (
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/teller-analytics/teller/pkg/event/jsonscan"
)

// scanInputs are the seeds of FuzzScanMatchesJSON and the cases of
// TestScan: one JSON value each, which the scanner reads (fast) or leaves
// to encoding/json.
var scanInputs = []struct {
	name string
	in   string
	fast bool
}{
	{"a string", `"abc"`, true},
	{"an empty string", `""`, true},
	{"whitespace around", " \t\r\n\"a\" \n", true},
	{"every short escape", `"a\"b\\c\/d\b\f\n\r\t"`, true},
	{"unicode escapes", `"caf\u00e9 \u20AC \u003c\u0026\u003e \u2028"`, true},
	{"raw UTF-8", `"Café – 日本語 😀"`, true},
	{"a surrogate pair", `"\ud83d\ude00"`, false},
	{"a stray surrogate", `"\udc00"`, false},
	{"invalid UTF-8", "\"a\xffb\"", false},
	{"a truncated UTF-8 sequence", "\"\xe2\x82\"", false},
	{"a raw control character", "\"a\x01b\"", false},
	{"a raw tab", "\"a\tb\"", false},
	{"an unknown escape", `"\x41"`, false},
	{"a short unicode escape", `"\u12"`, false},
	{"a unicode escape with a non-hex digit", `"\u12g4"`, false},
	{"an escaped quote at the end", `"\"`, false},
	{"an unterminated string", `"abc`, false},
	{"trailing data after a string", `"a" "b"`, false},

	{"zero", `0`, true},
	{"minus zero", `-0`, true},
	{"a negative integer", `-5`, true},
	{"the largest fast integer", `999999999999999999`, true},
	{"the smallest fast integer", `-999999999999999999`, true},
	{"19 digits", `1000000000000000000`, false},
	{"an overflow", `99999999999999999999`, false},
	{"a leading zero", `01`, false},
	{"a fraction", `1.0`, false},
	{"an exponent", `1e3`, false},
	{"a capital exponent", `1E3`, false},
	{"a lone minus", `-`, false},
	{"a minus and a space", `- 1`, false},
	{"a plus", `+1`, false},
	{"a vertical tab is not whitespace", "\v1", false},
	{"a non-breaking space is not whitespace", "\u00a01", false},

	{"true", `true`, true},
	{"false", ` false `, true},
	{"null", `null`, true},
	{"a truncated literal", `tru`, false},
	{"a literal in capitals", `True`, false},
	{"a literal run on", `truex`, false},

	{"nothing", ``, false},
	{"only whitespace", ` `, false},
}

// scanValue reads in as one JSON value (a string, an integer, true, false
// or null) with the scanner's primitives; false where they leave it to
// encoding/json. Int must read what Int64 reads wherever an int holds it.
func scanValue[T jsonscan.Text](t *testing.T, in T) (any, bool) {
	t.Helper()
	s := jsonscan.New(in)
	s.Space()
	c, ok := s.Peek()
	if !ok {
		return nil, false
	}
	var v any
	switch c {
	case '"':
		raw, escaped, ok := s.Raw()
		if !ok {
			return nil, false
		}
		if escaped {
			b, ok := jsonscan.Unescape(nil, raw)
			if !ok {
				return nil, false
			}
			raw = T(b)
		}
		v = string(raw)
	case 't', 'f':
		switch {
		case s.Literal("true"):
			v = true
		case s.Literal("false"):
			v = false
		default:
			return nil, false
		}
	case 'n':
		if !s.Literal("null") {
			return nil, false
		}
	default:
		at := s
		n, ok := s.Int64()
		if !ok {
			return nil, false
		}
		if m, ok := at.Int(); ok != (int64(int(n)) == n) || ok && int64(m) != n {
			t.Fatalf("%q: Int read %d (%v), Int64 %d", in, m, ok, n)
		}
		v = n
	}
	if !s.End() {
		return nil, false
	}
	return v, true
}

// jsonValue is what encoding/json decodes in into, given the type of the
// value the scanner read.
func jsonValue(in []byte, like any) (any, error) {
	var err error
	switch like.(type) {
	case string:
		var s string
		err = json.Unmarshal(in, &s)
		return s, err
	case int64:
		var n int64
		err = json.Unmarshal(in, &n)
		return n, err
	case bool:
		var b bool
		err = json.Unmarshal(in, &b)
		return b, err
	}
	var x any
	err = json.Unmarshal(in, &x)
	return x, err
}

// checkScan: the string and []byte scanners agree, and where they read a
// value, encoding/json reads the same one.
func checkScan(t *testing.T, in []byte) (fast bool) {
	t.Helper()
	v, ok := scanValue(t, in)
	sv, sok := scanValue(t, string(in))
	if ok != sok || !reflect.DeepEqual(v, sv) {
		t.Fatalf("%q: []byte scanner %v %#v, string scanner %v %#v", in, ok, v, sok, sv)
	}
	if !ok {
		return false
	}
	want, err := jsonValue(in, v)
	if err != nil {
		t.Fatalf("the scanner read %q as %#v, which encoding/json refuses: %v", in, v, err)
	}
	if !reflect.DeepEqual(v, want) {
		t.Fatalf("%q: the scanner read %#v, encoding/json %#v", in, v, want)
	}
	return true
}

func TestScan(t *testing.T) {
	for _, tc := range scanInputs {
		t.Run(tc.name, func(t *testing.T) {
			if fast := checkScan(t, []byte(tc.in)); fast != tc.fast {
				t.Fatalf("%q: the scanner read it: %v, want %v", tc.in, fast, tc.fast)
			}
		})
	}
}

// Every string json.Marshal writes (invalid UTF-8 replaced, <, >, & and
// U+2028 escaped, controls escaped) is read by the scanner.
func TestScanTakesMarshalOutput(t *testing.T) {
	for _, s := range []string{"", "plain", "<a href=\"x\">&amp;</a>", "\u2028\u2029", "\x00\x01\x1f\x7f", "a\xffb", "日本語 😀", `\"/`} {
		b, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if !checkScan(t, b) {
			t.Errorf("the scanner refused Marshal's %s", b)
		}
	}
}

// FuzzScanMatchesJSON: wherever the scanner reads a value, encoding/json
// reads the same one (it never accepts what encoding/json refuses), the
// string and []byte scanners agree, and whatever json.Marshal writes for a
// string or an integer of at most MaxIntDigits digits, the scanner reads.
func FuzzScanMatchesJSON(f *testing.F) {
	for _, tc := range scanInputs {
		f.Add([]byte(tc.in))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		checkScan(t, in)
		b, err := json.Marshal(string(in))
		if err != nil {
			t.Fatal(err)
		}
		if !checkScan(t, b) {
			t.Fatalf("the scanner refused Marshal's %s", b)
		}
		if n, err := strconv.ParseInt(string(in), 10, 64); err == nil {
			if out := strconv.AppendInt(nil, n, 10); len(strings.TrimPrefix(string(out), "-")) <= jsonscan.MaxIntDigits && !checkScan(t, out) {
				t.Fatalf("the scanner refused the integer %s", out)
			}
		}
	})
}
