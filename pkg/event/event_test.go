package event

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/uuid"
)

var update = flag.Bool("update", false, "rewrite testdata/event.golden.json")

func valid() Event {
	return Event{V: Version, ID: uuid.MustParse("0b5a6a36-0c55-4b6b-9e0a-1d1c37e5a111"), Site: "shop",
		Visitor: uuid.MustParse("6f1d8c52-4a8e-4f0e-8d5c-2f5a0c4b9e22"), NewVisitor: true, ReceivedMs: 1772445600000,
		Kind: KindPageview, Name: "pageview", URL: "https://shop.example/pricing?utm_source=news",
		Referrer: "https://www.google.com/", Title: "Pricing", UserAgent: "Mozilla/5.0", ScreenWidth: 1440, ScreenHeight: 900,
		Campaign: Campaign{Source: "news"}, Props: map[string]string{"plan": "pro"}, Country: "DE", Bot: "prefetch"}
}

// The wire format is a public contract: a change to it must be deliberate
// (run with -update and review the diff).
func TestWireFormatGolden(t *testing.T) {
	e := valid()
	b, err := Marshal(&e)
	if err != nil {
		t.Fatal(err)
	}
	golden := "testdata/event.golden.json"
	if *update {
		if err := os.WriteFile(golden, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(append(b, '\n'), want) {
		t.Fatalf("wire format changed:\n got %s\nwant %s", b, want)
	}
	back, err := Unmarshal(want)
	if err != nil {
		t.Fatal(err)
	}
	if back.ID != e.ID || back.Props["plan"] != "pro" || back.Campaign != e.Campaign || !back.NewVisitor ||
		back.Country != "DE" || back.Bot != "prefetch" {
		t.Fatalf("round trip lost fields: %+v", back)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Event)
		field  string // "" = valid
	}{
		{"valid", func(*Event) {}, ""},
		{"future version", func(e *Event) { e.V = Version + 1 }, "unsupported version"},
		{"no id", func(e *Event) { e.ID = uuid.Nil }, "id"},
		{"no site", func(e *Event) { e.Site = "" }, "site"},
		{"no visitor", func(e *Event) { e.Visitor = uuid.Nil }, "visitor"},
		{"no time", func(e *Event) { e.ReceivedMs = 0 }, "received_ms"},
		{"bad kind", func(e *Event) { e.Kind = "click" }, "kind"},
		{"no name", func(e *Event) { e.Name = "" }, "name"},
		{"long name", func(e *Event) { e.Name = strings.Repeat("n", MaxNameLength+1) }, "name"},
		{"relative url", func(e *Event) { e.URL = "/pricing" }, "url"},
		{"ftp url", func(e *Event) { e.URL = "ftp://shop.example/" }, "url"},
		{"long url", func(e *Event) { e.URL = "https://shop.example/" + strings.Repeat("a", MaxURLLength) }, "url"},
		{"screen", func(e *Event) { e.ScreenWidth = -1 }, "screen"},
		{"scroll", func(e *Event) { e.ScrollDepth = 101 }, "scroll_depth"},
		{"engaged", func(e *Event) { e.EngagedMs = -1 }, "engaged_ms"},
		{"empty prop key", func(e *Event) { e.Props = map[string]string{"": "x"} }, "prop"},
		{"long prop", func(e *Event) { e.Props = map[string]string{"k": strings.Repeat("v", MaxPropValLength+1)} }, "prop"},
		{"long campaign", func(e *Event) { e.Campaign.Term = strings.Repeat("t", MaxURLLength+1) }, "campaign"},
		{"longest campaign", func(e *Event) { e.Campaign.Content = strings.Repeat("t", MaxURLLength) }, ""},
		{"lower-case country", func(e *Event) { e.Country = "de" }, "country"},
		{"long country", func(e *Event) { e.Country = "DEU" }, "country"},
		{"long bot reason", func(e *Event) { e.Bot = strings.Repeat("b", MaxBotLength+1) }, "bot"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := valid()
			tt.change(&e)
			err := e.Validate()
			if tt.field == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.field) {
				t.Fatalf("want an ErrInvalid naming %q, got %v", tt.field, err)
			}
		})
	}
	if _, err := Unmarshal([]byte("{not json")); !errors.Is(err, ErrInvalid) {
		t.Fatalf("bad JSON: %v", err)
	}
}

func TestClip(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"exact", 5, "exact"},
		{"abcdef", 3, "abc"},
		{"aé", 2, "a"},   // é is 2 bytes: never half of it
		{"a€b", 3, "a"},  // € is 3 bytes
		{"a€b", 4, "a€"}, // a whole character fits
		{"€", 0, ""},
		{"", 5, ""},
	}
	for _, tt := range tests {
		got := Clip(tt.in, tt.n)
		if got != tt.want || !utf8.ValidString(got) {
			t.Errorf("Clip(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
}

// TestPageURLParsedOnce: after Validate, PageURL hands out what Validate
// parsed; a changed URL is parsed (and checked) again.
func TestPageURLParsedOnce(t *testing.T) {
	e := valid()
	if err := e.Validate(); err != nil {
		t.Fatal(err)
	}
	first, err := e.PageURL()
	if err != nil || first.Host != "shop.example" {
		t.Fatalf("PageURL = %v, %v", first, err)
	}
	if again, _ := e.PageURL(); again != first {
		t.Error("PageURL parsed the URL again")
	}
	e.URL = "https://other.example/x"
	if u, err := e.PageURL(); err != nil || u.Host != "other.example" {
		t.Errorf("after a change: %v, %v", u, err)
	}
	e.URL = "ftp://other.example/"
	if _, err := e.PageURL(); !errors.Is(err, ErrInvalid) {
		t.Errorf("a changed URL is checked again: %v", err)
	}
	var fresh Event // never validated
	fresh.URL = "https://shop.example/a"
	if u, err := fresh.PageURL(); err != nil || u.Path != "/a" {
		t.Errorf("without Validate: %v, %v", u, err)
	}
}

// TestUsePageURL: a URL parsed before the event was built is what Validate
// and PageURL use; once URL changes, Validate parses and checks it again.
func TestUsePageURL(t *testing.T) {
	e := valid()
	parsed, err := ParsePageURL(e.URL)
	if err != nil {
		t.Fatal(err)
	}
	e.UsePageURL(parsed)
	if err := e.Validate(); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.PageURL(); got != parsed {
		t.Error("Validate parsed the URL again instead of using the one given")
	}
	e.URL = "ftp://shop.example/"
	if err := e.Validate(); !errors.Is(err, ErrInvalid) {
		t.Errorf("a URL changed after UsePageURL is checked again: %v", err)
	}
}
