package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/teller-analytics/teller/internal/chlocal"
	"github.com/teller-analytics/teller/internal/testenv"
	"github.com/teller-analytics/teller/pkg/app"
	"github.com/teller-analytics/teller/pkg/site"
)

// checkSiteSettings runs site add and site edit with the collector settings
// against database "cli" of srv (migrated), and their refusals, which come
// before any I/O. TestSiteAddListAndSnippet calls it, to share its
// ClickHouse.
func checkSiteSettings(t *testing.T, srv *chlocal.Server) {
	t.Helper()
	env := map[string]string{"TELLER_CLICKHOUSE_ADDR": srv.Addr(), "TELLER_CLICKHOUSE_DATABASE": "cli"}
	getenv := func(k string) string { return env[k] }
	ctx := context.Background()
	db := testenv.OpenStore(t, srv, "cli")
	stored := func(id string) site.Site {
		t.Helper()
		s, ok, err := db.GetSite(ctx, id)
		if err != nil || !ok {
			t.Fatalf("site %s: %v %v", id, ok, err)
		}
		return s
	}

	var out bytes.Buffer
	err := run(ctx, []string{"site", "add", "-id", "blog", "-domain", "blog.example", "-timezone", "Europe/Paris",
		"-cookie-mode", "cookieless", "-bots", "drop", "-query-params", "page,Lang", "-rate-limit", "5", "-rate-burst", "20",
		"-collector-url", "https://stats.blog.example"}, getenv, &out, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "settings: cookie-mode=cookieless bots=drop query-params=page,lang rate-limit=5 rate-burst=20") {
		t.Errorf("site add printed:\n%s", out.String())
	}
	want := site.Settings{CookieMode: "cookieless", SameSite: "auto", Bots: "drop", QueryParams: []string{"page", "lang"}, RateLimit: 5, RateBurst: 20,
		MidnightSplit: "default", CampaignSplit: "default"}
	if s := stored("blog"); !reflect.DeepEqual(s.Settings, want) {
		t.Fatalf("stored settings %+v, want %+v", s.Settings, want)
	}

	// edit changes what it names and keeps the rest.
	out.Reset()
	if err := run(ctx, []string{"site", "edit", "-id", "blog", "-bots", "flag", "-cookie-domain", "blog.example", "-same-site", "lax", "-name", "The blog"},
		getenv, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	s := stored("blog")
	want.Bots, want.CookieDomain, want.SameSite = "flag", "blog.example", "lax"
	if !reflect.DeepEqual(s.Settings, want) || s.Name != "The blog" || s.Timezone != "Europe/Paris" || strings.Join(s.Domains, ",") != "blog.example" {
		t.Fatalf("after edit: %+v, want settings %+v and the rest kept", s, want)
	}
	out.Reset()
	if err := run(ctx, []string{"site", "list"}, getenv, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`blog\s+The blog\s+blog.example\s+Europe/Paris\s+\S+\s+cookie-mode=cookieless cookie-domain=blog.example same-site=lax query-params=page,lang rate-limit=5 rate-burst=20\n`).MatchString(out.String()) ||
		!regexp.MustCompile(`shop\s.*\sdefaults\n`).MatchString(out.String()) {
		t.Errorf("site list:\n%s", out.String())
	}
	// The session options and the privacy setting, by the same flags.
	out.Reset()
	if err := run(ctx, []string{"site", "edit", "-id", "blog", "-midnight-split", "on", "-campaign-split", "off", "-respect-dnt", "on", "-session-gap", "45m"},
		getenv, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "respect-dnt=on session-gap=45m midnight-split=on campaign-split=off)") {
		t.Errorf("site edit printed:\n%s", out.String())
	}
	want.RespectDNT, want.MidnightSplit, want.CampaignSplit, want.SessionGap = true, "on", "off", 45*time.Minute
	if s := stored("blog"); !reflect.DeepEqual(s.Settings, want) {
		t.Fatalf("after edit: settings %+v, want %+v", s.Settings, want)
	}
	out.Reset()
	if err := run(ctx, []string{"snippet", "-id", "blog", "-collector-url", "https://stats.blog.example", "-respect-dnt", "-allow-localhost"}, getenv, &out, io.Discard); err != nil ||
		strings.TrimSpace(out.String()) != `<script defer data-site="blog" data-respect-dnt data-allow-localhost src="https://stats.blog.example/teller.js"></script>` {
		t.Errorf("snippet with attributes: %q %v", out.String(), err)
	}
	if err := run(ctx, []string{"site", "edit", "-id", "nosuch", "-bots", "drop"}, getenv, io.Discard, io.Discard); app.ExitCode(err) != 1 ||
		!strings.Contains(err.Error(), `no site "nosuch"`) {
		t.Errorf("edit of a missing site: %v", err)
	}

	// Bad settings are refused, naming the problem, before any I/O: here
	// the address is a closed port.
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := l.Addr().String()
	l.Close()
	nowhere := func(k string) string { return map[string]string{"TELLER_CLICKHOUSE_ADDR": closed}[k] }
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"site", "add", "-id", "x", "-domain", "x.example", "-cookie-mode", "fingerprint"}, "cookie mode"},
		{[]string{"site", "add", "-id", "x", "-domain", "x.example", "-rate-limit", "fast"}, "rate limit"},
		{[]string{"site", "add", "-id", "x", "-domain", "x.example", "-cookie-domain", "co.uk"}, "public suffix"},
		{[]string{"site", "add", "-id", "x", "-domain", "x.example", "-same-site", "lenient"}, "SameSite"},
		{[]string{"site", "add", "-id", "x", "-domain", "x.example", "-query-params", "a=b"}, "query parameter"},
		{[]string{"site", "edit", "-bots", "drop"}, "-id is required"},
		{[]string{"site", "edit", "-id", "blog", "-bots", "keep"}, "bot handling"},
		{[]string{"site", "edit", "-id", "blog", "-rate-burst", "-1"}, "rate burst"},
		{[]string{"site", "edit", "-id", "blog", "-midnight-split", "always"}, "midnight split"},
		{[]string{"site", "edit", "-id", "blog", "-respect-dnt", "maybe"}, "respect-dnt"},
		{[]string{"site", "edit", "-id", "blog", "-session-gap", "3d"}, "session gap"},
		{[]string{"site", "edit", "-id", "blog", "-session-gap", "30s"}, "session gap"},
		{[]string{"site", "edit", "-id", "blog", "-domain", "com"}, "public suffix"},
		{[]string{"site", "edit", "-id", "blog", "-timezone", "Local"}, "IANA zone"},
	} {
		err := run(ctx, tt.args, nowhere, io.Discard, io.Discard)
		if app.ExitCode(err) != 2 || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: exit %d, %v; want a usage error saying %q", tt.args, app.ExitCode(err), err, tt.want)
		}
	}
}
