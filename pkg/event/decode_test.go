package event

import (
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/google/uuid"
)

// decodeInputs are the seeds of FuzzDecodeFast and the cases of
// TestDecodeFast: what producers write, and the corners where the fast path
// must either agree with encoding/json or step aside.
var decodeInputs = []struct {
	name string
	in   string
	fast bool // the fast path decodes it (else encoding/json does)
}{
	{"empty object", `{}`, true},
	{"spaces everywhere", " \t\n{ \"v\" : 1 ,\r\n \"site\":\"s\" , \"props\" : { \"a\" : \"b\" } , \"campaign\" : { } } \n", true},
	{"escapes", `{"url":"https://s.example/?a=1\u0026b=\u003cx\u003e","title":"a\"b\\c\/d\b\f\n\r\t","name":"caf\u00e9 \u20ac"}`, true},
	{"raw UTF-8", `{"title":"Café – 日本語 😀"}`, true},
	{"a repeated scalar: the last wins", `{"site":"a","site":"b","v":1,"v":2}`, true},
	{"repeated objects merge", `{"props":{"a":"1","b":"2"},"props":{"b":"3"},"campaign":{"source":"x"},"campaign":{"medium":"y"}}`, true},
	{"a repeated prop key", `{"props":{"a":"1","a":"2"}}`, true},
	{"empty props", `{"props":{}}`, true},
	{"negative and zero", `{"screen_width":-5,"engaged_ms":0,"received_ms":-0}`, true},
	{"the largest fast integer", `{"received_ms":999999999999999999}`, true},
	{"a UUID in another spelling", `{"id":"{0b5a6a36-0c55-4b6b-9e0a-1d1c37e5a111}","visitor":"urn:uuid:6f1d8c52-4a8e-4f0e-8d5c-2f5a0c4b9e22"}`, true},
	{"booleans", `{"new_visitor":true,"new_visitor":false}`, true},

	{"a surrogate pair", `{"title":"\ud83d\ude00"}`, false},
	{"a stray surrogate", `{"title":"\ud83d"}`, false},
	{"a key in capitals", `{"ID":"0b5a6a36-0c55-4b6b-9e0a-1d1c37e5a111"}`, false},
	{"an unknown key", `{"v":1,"extra":{"x":[1,2,{"y":null}]}}`, false},
	{"an escaped key", `{"\u0073ite":"s"}`, false},
	{"an escaped prop key", `{"props":{"\u0061\n":"b\u0026"}}`, true},
	{"null", `{"site":null}`, false},
	{"null props", `{"props":null}`, false},
	{"a null prop", `{"props":{"a":null}}`, false},
	{"an exponent", `{"v":1e0}`, false},
	{"a fraction", `{"v":1.0}`, false},
	{"a leading zero", `{"v":01}`, false},
	{"19 digits", `{"received_ms":1000000000000000000}`, false},
	{"an overflow", `{"received_ms":99999999999999999999}`, false},
	{"a number as string", `{"v":"1"}`, false},
	{"a string as number", `{"site":1}`, false},
	{"invalid UTF-8", "{\"title\":\"a\xffb\"}", false},
	{"a raw control character", "{\"title\":\"a\x01b\"}", false},
	{"a bad escape", `{"title":"\x"}`, false},
	{"a short unicode escape", `{"title":"\u12"}`, false},
	{"a bad UUID", `{"id":"not-a-uuid"}`, false},
	{"trailing data", `{"v":1} x`, false},
	{"two objects", `{}{}`, false},
	{"truncated", `{"v":1`, false},
	{"a trailing comma", `{"v":1,}`, false},
	{"not an object", `[1]`, false},
	{"empty", ``, false},
	{"broken", `{not json`, false},
}

// The fast path decodes what producers write, and equals encoding/json
// wherever it decodes; elsewhere Unmarshal gives encoding/json's answer.
func TestDecodeFast(t *testing.T) {
	for _, tt := range decodeInputs {
		t.Run(tt.name, func(t *testing.T) {
			var fast, std Event
			ok := decodeFast([]byte(tt.in), &fast)
			err := json.Unmarshal([]byte(tt.in), &std)
			if ok != tt.fast {
				t.Fatalf("fast path took it: %v, want %v", ok, tt.fast)
			}
			if ok && (err != nil || !reflect.DeepEqual(fast, std)) {
				t.Fatalf("fast path decoded\n %+v\nencoding/json (err %v)\n %+v", fast, err, std)
			}
		})
	}
}

// Everything Marshal writes takes the fast path: the golden file, and
// events with the characters Marshal escapes (<, >, &, quotes, controls,
// U+2028) and non-ASCII text.
func TestDecodeFastTakesMarshalOutput(t *testing.T) {
	golden, err := os.ReadFile("testdata/event.golden.json")
	if err != nil {
		t.Fatal(err)
	}
	inputs := [][]byte{golden}
	odd := valid()
	odd.URL = "https://shop.example/a?x=1&y=<2>&z=\"3\""
	odd.Title = "Ünïcödé – \u2028 \t tab \x00 nul 日本語 😀"
	odd.Props = map[string]string{"k&<>": "v\"\\/", "é": "", "empty": ""}
	odd.Campaign = Campaign{Source: "a&b", Medium: "m", Name: "n", Term: "t", Content: "c", ClickIDType: "gclid"}
	odd.EngagedMs, odd.ScrollDepth, odd.Kind, odd.Name = 1234, 55, KindEngagement, "engagement"
	bare := Event{V: 1, ID: uuid.New(), Site: "s", Visitor: uuid.New(), ReceivedMs: 1, Kind: KindCustom, Name: "x", URL: "http://s/"}
	for _, e := range []Event{valid(), odd, bare} {
		b, err := Marshal(&e)
		if err != nil {
			t.Fatal(err)
		}
		inputs = append(inputs, b)
	}
	for _, in := range inputs {
		var fast, std Event
		if !decodeFast(in, &fast) {
			t.Errorf("the fast path refused Marshal's output %s", in)
			continue
		}
		if err := json.Unmarshal(in, &std); err != nil || !reflect.DeepEqual(fast, std) {
			t.Errorf("fast path decoded\n %+v\nencoding/json (err %v)\n %+v", fast, err, std)
		}
		back, err := Unmarshal(in)
		if err != nil {
			t.Fatal(err)
		}
		if b1, b2 := mustMarshal(t, back), mustMarshal(t, &std); b1 != b2 {
			t.Errorf("Unmarshal round trip %s, encoding/json's %s", b1, b2)
		}
	}
}

func mustMarshal(t *testing.T, e *Event) string {
	t.Helper()
	b, err := Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Wherever the fast path decodes, it decodes what encoding/json does, and
// it never accepts what encoding/json refuses.
func FuzzDecodeFast(f *testing.F) {
	for _, tt := range decodeInputs {
		f.Add([]byte(tt.in))
	}
	golden, err := os.ReadFile("testdata/event.golden.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(golden)
	f.Add([]byte(strings.ReplaceAll(string(golden), `"`, `"\u0020`)))
	f.Fuzz(func(t *testing.T, in []byte) {
		var fast, std Event
		ok := decodeFast(in, &fast)
		err := json.Unmarshal(in, &std)
		if !ok {
			return
		}
		if err != nil {
			t.Fatalf("the fast path accepted %q, which encoding/json refuses: %v", in, err)
		}
		if !reflect.DeepEqual(fast, std) {
			t.Fatalf("%q: fast path\n %+v\nencoding/json\n %+v", in, fast, std)
		}
	})
}

// benchMessages are the sessionizer's typical messages: a pageview with a
// campaign, a custom event with props, an engagement.
func benchMessages(b *testing.B) [][]byte {
	pv := valid()
	pv.UserAgent = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/138.0.0.0 Safari/537.36"
	pv.URL = "https://bench.example/pricing?utm_source=newsletter&utm_medium=email&utm_campaign=monthly-digest"
	pv.Campaign, pv.Props, pv.Bot = Campaign{Source: "newsletter", Medium: "email", Name: "monthly-digest"}, nil, ""
	custom := valid()
	custom.Kind, custom.Name, custom.Props = KindCustom, "signup", map[string]string{"plan": "pro", "step": "2"}
	engaged := valid()
	engaged.Kind, engaged.Name, engaged.EngagedMs, engaged.ScrollDepth, engaged.Props = KindEngagement, "engagement", 41250, 80, nil
	var msgs [][]byte
	for _, e := range []Event{pv, custom, engaged} {
		m, err := Marshal(&e)
		if err != nil {
			b.Fatal(err)
		}
		msgs = append(msgs, m)
	}
	return msgs
}

// BenchmarkUnmarshal decodes the sessionizer's typical messages
// (benchMessages) with Unmarshal (the fast path) and with encoding/json, the
// decoder it replaced; both validate. Sub-benchmarks alternate, so -count
// pairs them.
func BenchmarkUnmarshal(b *testing.B) {
	msgs := benchMessages(b)
	decoders := []struct {
		name   string
		decode func([]byte) (*Event, error)
	}{
		{"fast", Unmarshal},
		{"encoding-json", func(m []byte) (*Event, error) {
			var e Event
			if err := json.Unmarshal(m, &e); err != nil {
				return nil, err
			}
			return &e, e.Validate()
		}},
	}
	for _, d := range decoders {
		b.Run(d.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, err := d.decode(msgs[i%len(msgs)]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDecodeFast is the fast path alone on benchMessages, without
// Unmarshal's validation (url.Parse and the rest): the scanner's share.
func BenchmarkDecodeFast(b *testing.B) {
	msgs := benchMessages(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		var e Event
		if !decodeFast(msgs[i%len(msgs)], &e) {
			b.Fatalf("the fast path refused %s", msgs[i%len(msgs)])
		}
		i++
	}
}
