package event

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/google/uuid"
)

// jsonEvent hides Event's methods, so json.Marshal encodes the struct by its
// tags alone: the reference appendJSON must match.
type jsonEvent Event

func TestAppendJSONMatchesMarshal(t *testing.T) {
	id, visitor := uuid.MustParse("0190a3c4-5b6d-7e8f-9012-3456789abcde"), uuid.MustParse("ffffffff-0000-4000-8000-00000000000a")
	full := Event{V: Version, ID: id, Site: "shop", Visitor: visitor, NewVisitor: true, ReceivedMs: 1733000000000,
		Kind: KindCustom, Name: "Signup", URL: "https://shop.example/a?utm_source=x&ref=y", Referrer: "https://www.google.com/",
		Title: `Tom & Jerry <"quoted"> \ back`, UserAgent: "Mozilla/5.0 (X11; Linux x86_64)", ScreenWidth: 1440, ScreenHeight: -900,
		Campaign: Campaign{Source: "news", Medium: "email", Name: "spring", Term: "t", Content: "c", ClickIDType: "gclid"},
		Props:    map[string]string{"z": "last", "a": "first", "ü": "non-ascii key", "": "empty key"}, EngagedMs: 5000, ScrollDepth: 80,
		Country: "DE", Bot: "crawler:Googlebot"}
	tests := map[string]Event{
		"zero":          {},
		"full":          full,
		"page view":     {V: Version, ID: id, Site: "bench", Visitor: visitor, ReceivedMs: 1, Kind: KindPageview, Name: "pageview", URL: "https://bench.example/pricing", Campaign: Campaign{Source: "news"}},
		"campaign tail": {Campaign: Campaign{ClickIDType: "fbclid"}},
		"unicode":       {Title: "Préférences – ✓ \u2028 \u2029", URL: "https://x.example/\x7f", Name: "tab\there\nnewline\x00nul\x1f"},
		"invalid utf-8": {Title: "a\xffb\xc3", Referrer: "\xed\xa0\x80"},
		"empty props":   {Props: map[string]string{}},
		// Valid UTF-8 alone, which appendString copies itself; the
		// separators and a cut rune, which go to encoding/json.
		"utf-8 only":      {Title: "Pricing – Docs · 日本語 😀 \ufffd", Name: "Ünïcode & <b>", URL: "https://x.example/caf\u00e9", Referrer: "\x7f"},
		"line separator":  {Title: "a\u2028b"},
		"para separator":  {Title: "a – \u2029"},
		"cut rune at end": {Title: "ab – \xe2\x80"},
	}
	for name, e := range tests {
		t.Run(name, func(t *testing.T) {
			want, err := json.Marshal((*jsonEvent)(&e))
			if err != nil {
				t.Fatal(err)
			}
			got, err := Marshal(&e)
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("Marshal:\n got %s (err %v)\nwant %s", got, err, want)
			}
		})
	}
}

func FuzzAppendJSONMatchesMarshal(f *testing.F) {
	f.Add("shop", "https://shop.example/?a=1&b=<2>", "Tïtle \"x\"", "k", "v", int64(12), 3, true)
	f.Add("", "\xff", "\u2028", "", "", int64(-1), 0, false)
	f.Fuzz(func(t *testing.T, site, url, title, key, value string, n int64, i int, b bool) {
		e := Event{V: i, Site: site, NewVisitor: b, ReceivedMs: n, Kind: Kind(value), Name: key, URL: url, Referrer: title,
			Title: title, UserAgent: url, ScreenWidth: i, ScreenHeight: -i, EngagedMs: n, ScrollDepth: i, Country: key, Bot: value,
			Campaign: Campaign{Source: key, Term: value}, Props: map[string]string{key: value, title: url}}
		want, err := json.Marshal((*jsonEvent)(&e))
		if err != nil {
			t.Fatal(err)
		}
		if got := appendJSON(nil, &e); !bytes.Equal(got, want) {
			t.Fatalf("appendJSON:\n got %s\nwant %s", got, want)
		}
	})
}

func BenchmarkMarshal(b *testing.B) {
	e := Event{V: Version, ID: uuid.New(), Site: "bench", Visitor: uuid.New(), ReceivedMs: 1733000000000, Kind: KindPageview,
		Name: "pageview", URL: "https://bench.example/pricing?utm_source=news", Referrer: "https://www.google.com/", Title: "Pricing",
		UserAgent:   "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
		ScreenWidth: 1440, ScreenHeight: 900, Campaign: Campaign{Source: "news"}}
	b.Run("appendJSON", func(b *testing.B) {
		for b.Loop() {
			_, _ = Marshal(&e)
		}
	})
	b.Run("encoding_json", func(b *testing.B) {
		for b.Loop() {
			_, _ = json.Marshal((*jsonEvent)(&e))
		}
	})
}

func TestAppendUUIDIsString(t *testing.T) {
	ids := []uuid.UUID{uuid.Nil, uuid.Max, uuid.MustParse("0123abcd-4567-89ef-fedc-ba9876543210")}
	for range 100 {
		ids = append(ids, uuid.New())
	}
	for _, id := range ids {
		if got := string(AppendUUID([]byte("x"), id)); got != "x"+id.String() {
			t.Errorf("AppendUUID(%s) = %s", id, got)
		}
	}
}
