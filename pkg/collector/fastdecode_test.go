package collector

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// fastDecodeCases are bodies decodeFast must decode itself (fast) or leave
// to encoding/json (!fast); either way DecodeBody's answer is the same.
var fastDecodeCases = []struct {
	name string
	body string
	fast bool
}{
	{"snippet page view", `{"site":"bench","kind":"pageview","url":"https://bench.example/pricing?utm_source=news","referrer":"https://www.google.com/","title":"Pricing","screen_width":1440,"screen_height":900}`, true},
	{"engagement", `{"site":"s","kind":"engagement","url":"https://s.example/","engaged_ms":12345,"scroll_depth":80,"age_ms":0}`, true},
	{"whitespace", " \t{ \"site\" : \"s\" ,\n\"screen_width\":-0 }\r\n", true},
	{"empty object", `{}`, true},
	{"utf-8 title", `{"site":"s","title":"Préférences – ünïcode ✓"}`, true},
	{"duplicate member, last wins", `{"site":"a","site":"b"}`, true},
	{"escaped string", `{"site":"s","title":"a \"quoted\" title"}`, false},
	{"unicode escape", `{"site":"s","title":"\u00e9"}`, false},
	{"invalid utf-8", "{\"site\":\"s\",\"title\":\"\xff\"}", false},
	{"control character", "{\"site\":\"s\",\"title\":\"a\tb\"}", false},
	{"props", `{"site":"s","kind":"event","name":"x","props":{"a":"b","url":"https://s.example/x?y=1"}}`, true},
	{"empty props", `{"site":"s","props":{}}`, true},
	{"props with whitespace", "{\"site\":\"s\",\"props\": { \"a\" : \"b\" ,\n\"c\":\"\"} }", true},
	{"repeated prop, last wins", `{"site":"s","props":{"a":"1","a":"2"}}`, true},
	{"props twice, merged", `{"site":"s","props":{"a":"1"},"props":{"b":"2"}}`, true},
	{"prop not a string", `{"site":"s","props":{"a":1}}`, false},
	{"prop object", `{"site":"s","props":{"a":{"b":"c"}}}`, false},
	{"null props", `{"site":"s","props":null}`, false},
	{"escaped prop key", `{"site":"s","props":{"\u0061":"b"}}`, false},
	{"props trailing comma", `{"site":"s","props":{"a":"b",}}`, false},
	{"props unterminated", `{"site":"s","props":{"a":"b"`, false},
	{"null", `{"site":"s","title":null}`, false},
	{"float", `{"site":"s","screen_width":14.5}`, false},
	{"exponent", `{"site":"s","screen_width":1e3}`, false},
	{"leading zero", `{"site":"s","screen_width":0123}`, false},
	{"overflow", `{"site":"s","engaged_ms":99999999999999999999}`, false},
	{"string for an int", `{"site":"s","screen_width":"1440"}`, false},
	{"unknown member", `{"site":"s","colour":"red"}`, false},
	{"case-folded member", `{"Site":"s"}`, false},
	{"trailing comma", `{"site":"s",}`, false},
	{"trailing data", `{"site":"s"} x`, false},
	{"trailing brace", `{"site":"s"}}`, false},
	{"truncated", `{"site":"s"`, false},
	{"unterminated string", `{"site":"s`, false},
	{"plausible", `{"n":"pageview","u":"https://s.example/","d":"s.example"}`, false},
}

func TestDecodeFastMatchesJSON(t *testing.T) {
	for _, tc := range fastDecodeCases {
		t.Run(tc.name, func(t *testing.T) {
			var fp Payload
			fast := decodeFast([]byte(tc.body), &fp)
			if fast != tc.fast {
				t.Fatalf("decodeFast took it: %v, want %v", fast, tc.fast)
			}
			if fast {
				checkSameAsJSON(t, []byte(tc.body), fp)
			}
		})
	}
}

// FuzzDecodeFastMatchesJSON: whatever decodeFast accepts, encoding/json
// (strictDecode, DecodeBody's rule) accepts too, with the same payload.
func FuzzDecodeFastMatchesJSON(f *testing.F) {
	for _, tc := range fastDecodeCases {
		f.Add([]byte(tc.body))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var fp Payload
		if decodeFast(b, &fp) {
			checkSameAsJSON(t, b, fp)
		}
	})
}

func checkSameAsJSON(t *testing.T, b []byte, fp Payload) {
	t.Helper()
	var jp Payload
	if err := strictDecode(b, &jp); err != nil {
		t.Fatalf("decodeFast accepted %q, encoding/json refuses it: %v", b, err)
	}
	if !reflect.DeepEqual(fp, jp) {
		t.Fatalf("%q: decodeFast %+v, encoding/json %+v", b, fp, jp)
	}
}

// BenchmarkDecodeFast is decodeFast alone on the snippet's page view (the
// body collectorbench sends): the decoder's share of
// BenchmarkHandleEventSpool, without the rest of the request.
func BenchmarkDecodeFast(b *testing.B) {
	body := []byte(fastDecodeCases[0].body)
	b.ReportAllocs()
	for b.Loop() {
		var p Payload
		if !decodeFast(body, &p) {
			b.Fatal("decodeFast refused the snippet's page view")
		}
	}
}

// BenchmarkDecodeBodyCustomEvent is DecodeBody on a custom event with props,
// as the snippet's outbound-link tracking sends it: decodeFast takes it
// since it reads props (before, encoding/json decoded every such body).
func BenchmarkDecodeBodyCustomEvent(b *testing.B) {
	body := []byte(`{"site":"bench","kind":"event","name":"Outbound Link: Click","url":"https://bench.example/pricing","title":"Pricing","screen_width":1440,"screen_height":900,"props":{"url":"https://github.com/teller-analytics/teller"}}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeBody(body); err != nil {
			b.Fatal(err)
		}
	}
}

// fastBatchCases are batch bodies decodeFastBatch must decode itself or
// leave to encoding/json; either way DecodeBody's answer is the same.
var fastBatchCases = []struct {
	name string
	body string
	fast bool
}{
	{"app navigation", `[{"site":"s","kind":"engagement","name":"engagement","url":"https://s.example/a","engaged_ms":4000,"scroll_depth":60},{"site":"s","kind":"pageview","name":"pageview","url":"https://s.example/b","referrer":"https://s.example/a"}]`, true},
	{"one event", `[{"site":"s","kind":"pageview"}]`, true},
	{"whitespace", " [ {\"site\":\"s\"} ,\n{\"site\":\"s\"} ] ", true},
	{"empty object", `[{}]`, true},
	{"empty", `[]`, false},
	{"null element", `[null]`, false},
	{"trailing comma", `[{"site":"s"},]`, false},
	{"trailing data", `[{"site":"s"}] x`, false},
	{"unterminated", `[{"site":"s"}`, false},
	{"nested array", `[[{"site":"s"}]]`, false},
	{"element outside the shape", `[{"site":"s"},{"site":"s","title":"\u00e9"}]`, false},
	{"unknown member", `[{"site":"s","colour":"red"}]`, false},
}

func TestDecodeFastBatchMatchesJSON(t *testing.T) {
	for _, tc := range fastBatchCases {
		t.Run(tc.name, func(t *testing.T) {
			got, fast := decodeFastBatch([]byte(tc.body))
			if fast != tc.fast {
				t.Fatalf("decodeFastBatch took it: %v, want %v", fast, tc.fast)
			}
			if fast {
				checkBatchSameAsJSON(t, []byte(tc.body), got)
			}
		})
	}
	// MaxBatch events are taken, one more is left to encoding/json (which refuses it).
	one := `{"site":"s","kind":"event","name":"x"}`
	full := "[" + strings.Repeat(one+",", MaxBatch-1) + one + "]"
	if got, ok := decodeFastBatch([]byte(full)); !ok || len(got) != MaxBatch {
		t.Fatalf("a batch of MaxBatch events: %d, %v", len(got), ok)
	}
	if _, ok := decodeFastBatch([]byte("[" + one + "," + full[1:])); ok {
		t.Fatal("a batch of MaxBatch+1 events was decoded")
	}
}

// FuzzDecodeFastBatchMatchesJSON: whatever decodeFastBatch accepts,
// encoding/json (decodeBatch, DecodeBody's rule) accepts too, with the same
// payloads.
func FuzzDecodeFastBatchMatchesJSON(f *testing.F) {
	for _, tc := range fastBatchCases {
		f.Add([]byte(tc.body))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, ok := decodeFastBatch(b); ok {
			checkBatchSameAsJSON(t, b, got)
		}
	})
}

func checkBatchSameAsJSON(t *testing.T, b []byte, fast []Payload) {
	t.Helper()
	slow, err := decodeBatch(b)
	var de *decodeError
	if err != nil && !(errors.As(err, &de) && de.field == "site") {
		t.Fatalf("decodeFastBatch accepted %q, encoding/json refuses it: %v", b, err)
	}
	if err == nil && !reflect.DeepEqual(fast, slow) {
		t.Fatalf("%q: decodeFastBatch %+v, encoding/json %+v", b, fast, slow)
	}
}
