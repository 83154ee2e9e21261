package site_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/teller-analytics/teller/pkg/session"
	"github.com/teller-analytics/teller/pkg/site"
)

// Every setting has a Field, and each field's text form goes through Set
// and back through Value, then through Normalize.
func TestFieldsCoverSettings(t *testing.T) {
	if n := reflect.TypeOf(site.Settings{}).NumField(); n != len(site.Fields) {
		t.Fatalf("Settings has %d fields, site.Fields %d: a setting is missing from the CLI and the form", n, len(site.Fields))
	}
	in := map[string]string{"cookie-mode": "cookieless", "cookie-domain": "Shop.Example", "same-site": "strict",
		"bots": "drop", "query-params": "page, Lang\nq", "rate-limit": "2.5", "rate-burst": "40",
		"respect-dnt": "on", "session-gap": "1h30m0s", "midnight-split": "On", "campaign-split": "off"}
	var st site.Settings
	for _, f := range site.Fields {
		if f.Label == "" || f.Usage == "" {
			t.Errorf("field %s lacks a label or usage", f.Name)
		}
		if f.Group != site.GroupCollector && f.Group != site.GroupSessions {
			t.Errorf("field %s in no group (%q)", f.Name, f.Group)
		}
		if err := st.Set(f.Name, in[f.Name]); err != nil {
			t.Fatalf("Set(%s): %v", f.Name, err)
		}
	}
	s := site.Site{ID: "shop", Domains: []string{"shop.example"}, Settings: st}
	if err := s.Normalize(); err != nil {
		t.Fatal(err)
	}
	want := site.Settings{CookieMode: "cookieless", CookieDomain: "shop.example", SameSite: "strict", Bots: "drop",
		QueryParams: []string{"page", "lang", "q"}, RateLimit: 2.5, RateBurst: 40,
		RespectDNT: true, SessionGap: 90 * time.Minute, MidnightSplit: "on", CampaignSplit: "off"}
	if !reflect.DeepEqual(s.Settings, want) {
		t.Fatalf("settings %+v, want %+v", s.Settings, want)
	}
	got := map[string]string{}
	for _, f := range site.Fields {
		got[f.Name] = s.Settings.Value(f.Name)
	}
	if w := map[string]string{"cookie-mode": "cookieless", "cookie-domain": "shop.example", "same-site": "strict",
		"bots": "drop", "query-params": "page,lang,q", "rate-limit": "2.5", "rate-burst": "40",
		"respect-dnt": "on", "session-gap": "1h30m", "midnight-split": "on", "campaign-split": "off"}; !reflect.DeepEqual(got, w) {
		t.Fatalf("values %v, want %v", got, w)
	}
	if c := strings.Join(s.Settings.Changed(), " "); c != "cookie-mode=cookieless cookie-domain=shop.example same-site=strict bots=drop query-params=page,lang,q rate-limit=2.5 rate-burst=40 respect-dnt=on session-gap=1h30m midnight-split=on campaign-split=off" {
		t.Errorf("Changed: %s", c)
	}
	d := site.Site{ID: "d", Domains: []string{"d.example"}}
	if err := d.Normalize(); err != nil || len(d.Settings.Changed()) != 0 {
		t.Errorf("defaults: Changed %q, %v", d.Settings.Changed(), err)
	}
}

func TestSettingsSetRefusals(t *testing.T) {
	for _, tt := range []struct {
		name, value, want string
		atSet             bool // refused by Set; else by Normalize
	}{
		{"rate-limit", "fast", "rate limit", true},
		{"rate-burst", "1.5", "rate burst", true},
		{"colour", "red", "no setting", true},
		{"rate-limit", "-1", "rate limit", false},
		{"rate-limit", "NaN", "rate limit", false},
		{"rate-burst", "-3", "rate burst", false},
		{"cookie-mode", "fingerprint", "cookie mode", false},
		{"same-site", "lenient", "SameSite", false},
		{"bots", "keep", "bot handling", false},
		{"cookie-domain", "co.uk", "public suffix", false},
		{"cookie-domain", "https://x.example/a", "bare host name", false},
		{"query-params", "a b c d e f g h i j k l m n o p q r s t u v w x y z aa bb cc dd ee ff gg", "at most 32", false},
		{"query-params", "token=1", "query parameter", false},
		{"respect-dnt", "maybe", "respect-dnt", true},
		{"midnight-split", "sometimes", "midnight split", false},
		{"campaign-split", "yes", "campaign split", false},
		{"session-gap", "long", "session gap", true},
		{"session-gap", "30", "session gap", true},
		{"session-gap", "59s", "session gap", false},
		{"session-gap", "25h", "session gap", false},
		{"session-gap", "-5m", "session gap", false},
	} {
		s := site.Site{ID: "shop", Domains: []string{"shop.example"}}
		err := s.Settings.Set(tt.name, tt.value)
		if tt.atSet != (err != nil) {
			t.Errorf("Set(%s, %q): %v, refused at Set: want %v", tt.name, tt.value, err, tt.atSet)
			continue
		}
		if err == nil {
			err = s.Normalize()
		}
		if !errors.Is(err, site.ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s=%q: %v, want an ErrInvalid saying %q", tt.name, tt.value, err, tt.want)
		}
	}
}

func TestSessionOptions(t *testing.T) {
	for _, tt := range []struct {
		midnight, campaign string
		want               session.SiteOptions
	}{
		{"", "", session.SiteOptions{}},
		{"default", "default", session.SiteOptions{}},
		{"on", "off", session.SiteOptions{SplitAtMidnight: session.On, SplitOnCampaign: session.Off}},
		{"off", "on", session.SiteOptions{SplitAtMidnight: session.Off, SplitOnCampaign: session.On}},
		{"", "", session.SiteOptions{Gap: 45 * time.Minute}},
	} {
		s := site.Site{ID: "s", Domains: []string{"s.example"}, Settings: site.Settings{MidnightSplit: tt.midnight, CampaignSplit: tt.campaign, SessionGap: tt.want.Gap}}
		if err := s.Normalize(); err != nil {
			t.Fatal(err)
		}
		if got := s.Settings.SessionOptions(); got != tt.want {
			t.Errorf("midnight %q campaign %q: %+v, want %+v", tt.midnight, tt.campaign, got, tt.want)
		}
	}
}

func TestSessionGapText(t *testing.T) {
	for in, want := range map[string]string{"": "0", "0": "0", "45m": "45m", "2h": "2h", "90m": "1h30m", "1m30s": "1m30s"} {
		var st site.Settings
		if err := st.Set("session-gap", in); err != nil {
			t.Fatalf("%q: %v", in, err)
		}
		if got := st.Value("session-gap"); got != want {
			t.Errorf("%q written as %q, want %q", in, got, want)
		}
	}
}
