package campaign

import (
	"net/url"
	"strings"
	"testing"

	"github.com/teller-analytics/teller/pkg/event"
)

var fromURLCases = []struct {
	name, url string
	want      event.Campaign
}{
	{"none", "https://s.example/", event.Campaign{}},
	{"unrelated query", "https://s.example/?page=2&q=shoes", event.Campaign{}},
	{"utm", "https://s.example/?utm_source=news&utm_medium=email&utm_campaign=x", event.Campaign{Source: "news", Medium: "email", Name: "x"}},
	{"all five", "https://s.example/?utm_source=s&utm_medium=m&utm_campaign=c&utm_term=t&utm_content=k", event.Campaign{Source: "s", Medium: "m", Name: "c", Term: "t", Content: "k"}},
	{"ref alone", "https://s.example/?ref=producthunt", event.Campaign{Source: "producthunt"}},
	{"ref=newsletter", "https://s.example/?ref=newsletter", event.Campaign{Source: "newsletter"}},
	{"utm_source beats ref", "https://s.example/?utm_source=g&ref=other&utm_term=t&utm_content=c", event.Campaign{Source: "g", Term: "t", Content: "c"}},
	{"utm_source beats ref listed first", "https://s.example/?ref=other&utm_source=g", event.Campaign{Source: "g"}},
	{"empty utm_source leaves ref", "https://s.example/?utm_source=&ref=blog", event.Campaign{Source: "blog"}},
	{"REF in capitals", "https://s.example/?REF=Blog", event.Campaign{Source: "Blog"}},
	{"upper-case names", "https://s.example/?UTM_SOURCE=google&utm_medium=cpc", event.Campaign{Source: "google", Medium: "cpc"}},
	{"mixed-case names keep the values' case", "https://s.example/?Utm_Source=Google&UTM_Medium=CPC&utm_CAMPAIGN=Spring", event.Campaign{Source: "Google", Medium: "CPC", Name: "Spring"}},
	{"escaped name", "https://s.example/?utm%5Fsource=news", event.Campaign{Source: "news"}},
	{"encoded values", "https://s.example/?utm_source=%20Partner%20Blog%20&utm_medium=Paid+Social&utm_campaign=caf%C3%A9", event.Campaign{Source: "Partner Blog", Medium: "Paid Social", Name: "café"}},
	{"malformed escape kept as sent", "https://s.example/?utm_source=100%zz", event.Campaign{Source: "100%zz"}},
	{"values trimmed", "https://s.example/?utm_source=+news+&utm_medium=%09email", event.Campaign{Source: "news", Medium: "email"}},
	{"blank value is absent", "https://s.example/?utm_source=+&ref=x", event.Campaign{Source: "x"}},
	{"duplicate: first wins", "https://s.example/?utm_source=first&utm_source=second", event.Campaign{Source: "first"}},
	{"duplicate: first non-empty wins", "https://s.example/?utm_source=&utm_source=second", event.Campaign{Source: "second"}},
	{"duplicate in two cases", "https://s.example/?UTM_SOURCE=a&utm_source=b", event.Campaign{Source: "a"}},
	{"fragment is not the query", "https://s.example/#utm_source=frag", event.Campaign{}},
	{"fragment after the query", "https://s.example/?utm_source=q#utm_medium=frag", event.Campaign{Source: "q"}},
	{"question mark in the fragment", "https://s.example/#x?utm_source=frag", event.Campaign{}},
	{"path only", "/pricing?utm_medium=email", event.Campaign{Medium: "email"}},
	{"gclid", "https://s.example/?gclid=abc", event.Campaign{ClickIDType: "gclid"}},
	{"gbraid", "https://s.example/?gbraid=abc", event.Campaign{ClickIDType: "gbraid"}},
	{"click id in capitals", "https://s.example/?GCLID=abc", event.Campaign{ClickIDType: "gclid"}},
	{"empty click id", "https://s.example/?gclid=", event.Campaign{}},
	{"blank click id", "https://s.example/?gclid=%20", event.Campaign{}},
	{"fbclid with utm_source", "https://s.example/?fbclid=abc&utm_source=fb", event.Campaign{Source: "fb", ClickIDType: "fbclid"}},
	{"table order beats URL order", "https://s.example/?fbclid=x&msclkid=y&gclid=z", event.Campaign{ClickIDType: "gclid"}},
	{"empty better id does not count", "https://s.example/?gclid=&fbclid=x", event.Campaign{ClickIDType: "fbclid"}},
	{"key without value", "https://s.example/?utm_source&utm_medium=email", event.Campaign{Medium: "email"}},
}

func TestFromURL(t *testing.T) {
	for _, tt := range fromURLCases {
		t.Run(tt.name, func(t *testing.T) {
			if got := FromURL(tt.url); got != tt.want {
				t.Errorf("FromURL(%q)\n got %+v\nwant %+v", tt.url, got, tt.want)
			}
			// The collector reads the parsed URL's RawQuery: the same answer.
			if u, err := url.Parse(tt.url); err == nil {
				if got := FromQuery(u.RawQuery); got != tt.want {
					t.Errorf("FromQuery(%q)\n got %+v\nwant %+v", u.RawQuery, got, tt.want)
				}
			}
		})
	}
}

// TestEveryClickID: each id of the table is found, in any case, and named
// as the table spells it.
func TestEveryClickID(t *testing.T) {
	ids := ClickIDs()
	if len(ids) < 12 {
		t.Fatalf("only %d click ids", len(ids))
	}
	seen := map[string]bool{}
	for _, id := range ids {
		if id.Param != strings.ToLower(id.Param) || id.Network == "" || seen[id.Param] {
			t.Errorf("bad table entry %+v", id)
		}
		seen[id.Param] = true
		for _, param := range []string{id.Param, strings.ToUpper(id.Param)} {
			if got := FromURL("https://s.example/?x=1&" + param + "=v42"); got != (event.Campaign{ClickIDType: id.Param}) {
				t.Errorf("%s: got %+v", param, got)
			}
			if got, ok := LookupClickID(param); !ok || got != id {
				t.Errorf("LookupClickID(%q) = %+v, %v", param, got, ok)
			}
		}
	}
	if _, ok := LookupClickID("utm_source"); ok {
		t.Error("utm_source is not a click id")
	}
	// ClickIDs hands out a copy: the table cannot be changed from outside.
	ids[0].Param = "changed"
	if ClickIDs()[0].Param != "gclid" {
		t.Error("ClickIDs exposes the table itself")
	}
}

func TestNormalize(t *testing.T) {
	got := Normalize(event.Campaign{Source: " news ", Medium: "email\t", Name: " x", Term: "t ", Content: " c ", ClickIDType: " GCLID "})
	want := event.Campaign{Source: "news", Medium: "email", Name: "x", Term: "t", Content: "c", ClickIDType: "gclid"}
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if got := Normalize(event.Campaign{ClickIDType: "Custom_ID"}); got.ClickIDType != "Custom_ID" {
		t.Errorf("an unknown click id changed: %+v", got)
	}
}

func BenchmarkFromQuery(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		FromQuery("utm_source=news&utm_medium=email&UTM_CAMPAIGN=spring&plan=pro&gclid=abc")
	}
}
