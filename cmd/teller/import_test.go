package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/teller-analytics/teller/internal/testenv"
	"github.com/teller-analytics/teller/pkg/app"
	"github.com/teller-analytics/teller/pkg/bus"
	"github.com/teller-analytics/teller/pkg/config"
	"github.com/teller-analytics/teller/pkg/importer"
)

// teller import token add/list/revoke, then teller import of each format's
// sample into a real collector, then the revoked token is refused.
func TestImportCommands(t *testing.T) {
	srv := testenv.ClickHouse(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	env := map[string]string{"TELLER_CLICKHOUSE_ADDR": srv.Addr(), "TELLER_CLICKHOUSE_DATABASE": "cli_import"}
	getenv := func(k string) string { return env[k] }
	teller := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := run(ctx, args, getenv, &out, io.Discard)
		return out.String(), err
	}
	if _, err := teller("migrate"); err != nil {
		t.Fatal(err)
	}
	if _, err := teller("site", "add", "-id", "shop", "-domain", "www.example.com"); err != nil {
		t.Fatal(err)
	}
	if _, err := teller("import", "token", "add", "-site", "nosuch", "-name", "x"); err == nil || !strings.Contains(err.Error(), "unknown site") {
		t.Fatalf("token for an unknown site: %v", err)
	}
	secret, err := teller("import", "token", "add", "-site", "shop", "-name", "history")
	secret = strings.TrimSpace(secret)
	if err != nil || !strings.HasPrefix(secret, "teller_import_") {
		t.Fatalf("token add: %q %v", secret, err)
	}
	list, err := teller("import", "token", "list", "-site", "shop")
	m := regexp.MustCompile(`(?m)^([0-9a-f]{12})\s+history\s`).FindStringSubmatch(list)
	if err != nil || m == nil {
		t.Fatalf("token list: %v\n%s", err, list)
	}

	brokers := testenv.Kafka(t, "live", 2)
	ready := make(chan string, 1)
	go func() {
		_ = app.RunCollector(ctx, app.CollectorConfig{Listen: "127.0.0.1:0", Store: testenv.StoreConfig(srv, "cli_import"),
			Kafka:         bus.Config{Brokers: config.StringList(brokers), Topic: "live", Partitions: 2, ReplicationFactor: 1},
			CookieSecrets: config.StringList{"cli-import-test-cookie-secret-01"}, CreateTopic: true,
			Import: app.ImportConfig{Topic: "import", Horizon: 100 * 365 * 24 * time.Hour}},
			testenv.Logger(t), app.Hooks{Ready: func(a net.Addr) { ready <- "http://" + a.String() }})
	}()
	var url string
	select {
	case url = <-ready:
	case <-time.After(60 * time.Second):
		t.Fatal("collector did not start")
	}
	env[importTokenEnv] = secret // -token's fallback
	for _, tc := range []struct{ format, file, want string }{
		{"combined", "../../pkg/importer/testdata/nginx-access.log", "7 accepted, 0 rejected"},
		{"umami", "../../pkg/importer/testdata/umami-website_event.csv", "6 accepted, 0 rejected"},
	} {
		args := []string{"import", "-format", tc.format, "-file", tc.file, "-site", "shop", "-collector-url", url}
		if tc.format == "combined" {
			args = append(args, "-origin", "https://www.example.com")
		}
		out, err := teller(args...)
		if err != nil || !strings.Contains(out, tc.want) {
			t.Errorf("import %s: %v\n%s", tc.format, err, out)
		}
	}
	if _, err := teller("import", "-format", "plausible", "-file", "x", "-site", "shop", "-collector-url", url); app.ExitCode(err) != 2 {
		t.Errorf("unknown format: %v, want a usage error", err)
	}
	if _, err := teller("import", "token", "revoke", "-site", "shop", "-id", m[1]); err != nil {
		t.Fatal(err)
	}
	out, err := teller("import", "-format", "umami", "-file", "../../pkg/importer/testdata/umami-website_event.csv", "-site", "shop", "-collector-url", url)
	if err == nil || !strings.Contains(err.Error(), "unknown or revoked") {
		t.Errorf("import with a revoked token: %v\n%s", err, out)
	}
	if n, _ := importer.NewTokens(testenv.OpenStore(t, srv, "cli_import").Conn()).List(ctx, "shop"); len(n) != 0 {
		t.Errorf("live tokens after revoke: %v", n)
	}
}
