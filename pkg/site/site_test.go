package site

import (
	"errors"
	"testing"
)

func TestNormalize(t *testing.T) {
	tests := []struct {
		name    string
		in      Site
		wantErr bool
		domains []string
	}{
		{"ok", Site{ID: "demo", Domains: []string{"Example.COM."}}, false, []string{"example.com"}},
		{"scheme stripped", Site{ID: "a-1", Domains: []string{"https://shop.example.com"}}, false, []string{"shop.example.com"}},
		{"bad id", Site{ID: "Has Space", Domains: []string{"x.com"}}, true, nil},
		{"no domain", Site{ID: "x"}, true, nil},
		{"path in domain", Site{ID: "x", Domains: []string{"x.com/blog"}}, true, nil},
		{"bad zone", Site{ID: "x", Domains: []string{"x.com"}, Timezone: "Mars/Olympus"}, true, nil},
		{"Local zone", Site{ID: "x", Domains: []string{"x.com"}, Timezone: "Local"}, true, nil},
		{"public suffix com", Site{ID: "x", Domains: []string{"com"}}, true, nil},
		{"public suffix co.uk", Site{ID: "x", Domains: []string{"CO.UK."}}, true, nil},
		{"private public suffix", Site{ID: "x", Domains: []string{"github.io"}}, true, nil},
		{"under a public suffix", Site{ID: "x", Domains: []string{"shop.co.uk", "me.github.io"}}, false, []string{"shop.co.uk", "me.github.io"}},
		{"single label host", Site{ID: "x", Domains: []string{"localhost", "127.0.0.1"}}, false, []string{"localhost", "127.0.0.1"}},
		{"userinfo in domain", Site{ID: "x", Domains: []string{"evil@x.com"}}, true, nil},
		{"bad label", Site{ID: "x", Domains: []string{"-x.com"}}, true, nil},
		{"unicode domain", Site{ID: "x", Domains: []string{"bücher.de"}}, true, nil},
		{"empty label", Site{ID: "x", Domains: []string{"a..com"}}, true, nil},
		{"bad cookie mode", Site{ID: "x", Domains: []string{"x.com"}, Settings: Settings{CookieMode: "session"}}, true, nil},
		{"bad samesite", Site{ID: "x", Domains: []string{"x.com"}, Settings: Settings{SameSite: "loose"}}, true, nil},
		{"bad bots", Site{ID: "x", Domains: []string{"x.com"}, Settings: Settings{Bots: "block"}}, true, nil},
		{"cookie domain is a suffix", Site{ID: "x", Domains: []string{"x.com"}, Settings: Settings{CookieDomain: "com"}}, true, nil},
		{"bad query param", Site{ID: "x", Domains: []string{"x.com"}, Settings: Settings{QueryParams: []string{"a=b"}}}, true, nil},
		{"negative rate", Site{ID: "x", Domains: []string{"x.com"}, Settings: Settings{RateLimit: -1}}, true, nil},
		{"negative burst", Site{ID: "x", Domains: []string{"x.com"}, Settings: Settings{RateBurst: -1}}, true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.in
			err := s.Normalize()
			if tt.wantErr {
				if !errors.Is(err, ErrInvalid) {
					t.Fatalf("want ErrInvalid, got %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.Timezone != "UTC" || s.Name != s.Domains[0] {
				t.Fatalf("defaults not filled: %+v", s)
			}
			if st := s.Settings; st.CookieMode != CookieModeCookie || st.SameSite != SameSiteAuto || st.Bots != BotsFlag {
				t.Fatalf("setting defaults not filled: %+v", st)
			}
			for i := range tt.domains {
				if s.Domains[i] != tt.domains[i] {
					t.Fatalf("domains %v, want %v", s.Domains, tt.domains)
				}
			}
		})
	}
}

func TestOwnsHost(t *testing.T) {
	s := Site{ID: "x", Domains: []string{"example.com", "localhost", "www.shop.example"}}
	for host, want := range map[string]bool{
		"example.com": true, "www.example.com": true, "blog.example.com": true,
		"localhost": true, "notexample.com": false, "example.com.evil.net": false, "": false,
		"Blog.Example.COM": true, "example.com.": true, "WWW.example.com": true,
		"shop.example": true, "www.shop.example": true, "cart.shop.example": true, "example": false,
		"com": false, "www.": false,
	} {
		if got := s.OwnsHost(host); got != want {
			t.Errorf("OwnsHost(%q) = %v, want %v", host, got, want)
		}
	}
}

func TestInDomain(t *testing.T) {
	tests := []struct {
		host, domain string
		want         bool
	}{
		{"example.com", "example.com", true},
		{"docs.example.com", "example.com", true},
		{"a.b.example.com", "example.com", true},
		{"www.example.com", "example.com", true},
		{"example.com", "www.example.com", true},
		{"EXAMPLE.com.", "example.COM", true},
		{"example.com", "docs.example.com", false}, // a parent does not belong to its subdomain
		{"notexample.com", "example.com", false},
		{"example.com.evil.net", "example.com", false},
		{"", "example.com", false},
		{"example.com", "", false},
		{"", "", false},
		{"www", "www", true},
	}
	for _, tt := range tests {
		if got := InDomain(tt.host, tt.domain); got != tt.want {
			t.Errorf("InDomain(%q, %q) = %v, want %v", tt.host, tt.domain, got, tt.want)
		}
	}
}

func TestSettingsNormalize(t *testing.T) {
	s := Site{ID: "x", Domains: []string{"x.com"}, Settings: Settings{CookieMode: " Cookieless ", SameSite: "NONE",
		Bots: "Drop", CookieDomain: "X.com.", QueryParams: []string{" Page ", "q"}, RateLimit: 50, RateBurst: 100}}
	if err := s.Normalize(); err != nil {
		t.Fatal(err)
	}
	st := s.Settings
	if !st.Cookieless() || st.SameSite != SameSiteNone || !st.DropBots() || st.CookieDomain != "x.com" ||
		st.QueryParams[0] != "page" || st.QueryParams[1] != "q" {
		t.Fatalf("settings not normalized: %+v", st)
	}
}
