package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	osexec "os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/teller-analytics/teller/internal/devmode"
	"github.com/teller-analytics/teller/internal/testenv"
	"github.com/teller-analytics/teller/pkg/app"
)

// Each service binary's -help names every flag's TELLER_ variable, including
// the contract's core settings.
func TestHelpListsEnvironmentVariables(t *testing.T) {
	core := []string{"TELLER_CLICKHOUSE_ADDR", "TELLER_CLICKHOUSE_DATABASE", "TELLER_CLICKHOUSE_USER", "TELLER_CLICKHOUSE_PASSWORD", "TELLER_LISTEN"}
	for name, want := range map[string][]string{
		"collector":   append(core, "TELLER_KAFKA_BROKERS", "TELLER_KAFKA_TOPIC", "TELLER_COOKIE_SECRET"),
		"sessionizer": append(core, "TELLER_KAFKA_BROKERS", "TELLER_KAFKA_TOPIC", "TELLER_KAFKA_GROUP", "TELLER_SESSION_GAP"),
		"dashboard":   append(core, "TELLER_DASHBOARD_PASSWORD", "TELLER_SESSION_SECRET"),
	} {
		var stderr bytes.Buffer
		err := run(context.Background(), []string{name, "-help"}, func(string) string { return "" }, io.Discard, &stderr)
		if !errors.Is(err, flag.ErrHelp) {
			t.Fatalf("%s -help: %v", name, err)
		}
		for _, v := range want {
			if !strings.Contains(stderr.String(), "env "+v) {
				t.Errorf("%s -help does not mention %s:\n%s", name, v, stderr.String())
			}
		}
		// Every variable in the help is in the README's table.
		readme, _ := os.ReadFile("../../README.md")
		for _, m := range regexp.MustCompile(`env (TELLER_[A-Z_]+)`).FindAllStringSubmatch(stderr.String(), -1) {
			if !strings.Contains(string(readme), "`"+m[1]+"`") {
				t.Errorf("%s: %s is not documented in README.md", name, m[1])
			}
		}
	}
}

func TestSiteAddListAndSnippet(t *testing.T) {
	srv := testenv.ClickHouse(t)
	env := map[string]string{"TELLER_CLICKHOUSE_ADDR": srv.Addr(), "TELLER_CLICKHOUSE_DATABASE": "cli"}
	getenv := func(k string) string { return env[k] }
	var out bytes.Buffer
	// Migrations are an explicit step: before it, commands refuse and say how.
	err := run(context.Background(), []string{"site", "list"}, getenv, io.Discard, io.Discard)
	if !errors.Is(err, app.ErrSchemaPending) || !strings.Contains(err.Error(), "teller migrate") || app.ExitCode(err) != 1 {
		t.Fatalf("site list before migrate: %v", err)
	}
	if err := run(context.Background(), []string{"migrate"}, getenv, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	err = run(context.Background(), []string{"site", "add", "-id", "shop", "-domain", "shop.example,www.shop.example",
		"-timezone", "Europe/Berlin", "-collector-url", "https://stats.shop.example"}, getenv, &out, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	tag := `<script defer data-site="shop" src="https://stats.shop.example/teller.js"></script>`
	if !strings.Contains(out.String(), tag) {
		t.Fatalf("site add printed:\n%s\nwant the tag %s", out.String(), tag)
	}
	out.Reset()
	if err := run(context.Background(), []string{"site", "list"}, getenv, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`shop\s+shop.example\s+shop.example,www.shop.example\s+Europe/Berlin`).MatchString(out.String()) {
		t.Fatalf("site list:\n%s", out.String())
	}
	if err := run(context.Background(), []string{"site", "add", "-id", "x"}, getenv, io.Discard, io.Discard); err == nil ||
		!strings.Contains(err.Error(), "domain") {
		t.Fatalf("site add without a domain: %v", err)
	}
	out.Reset()
	if err := run(context.Background(), []string{"snippet", "-id", "shop", "-collector-url", "https://stats.shop.example"}, getenv, &out, io.Discard); err != nil || strings.TrimSpace(out.String()) != tag {
		t.Fatalf("snippet: %q %v", out.String(), err)
	}
	// A tag for a site that does not exist would only collect refusals.
	var stderr bytes.Buffer
	err = run(context.Background(), []string{"snippet", "-id", "nosuch"}, getenv, &out, &stderr)
	if app.ExitCode(err) != 1 || !strings.Contains(err.Error(), `no site "nosuch"`) {
		t.Fatalf("snippet -id nosuch: exit %d, %v", app.ExitCode(err), err)
	}
	checkSiteSettings(t, srv)
	out.Reset()
	if err := run(context.Background(), []string{"migrate"}, getenv, &out, io.Discard); err != nil ||
		!strings.Contains(out.String(), "schema of database cli is up to date (ClickHouse ") {
		t.Fatalf("migrate: %q %v", out.String(), err)
	}
	if err := run(context.Background(), []string{"frobnicate"}, getenv, io.Discard, io.Discard); err == nil {
		t.Fatal("unknown command accepted")
	}
	if code := app.Exit(io.Discard, run(context.Background(), []string{"frobnicate"}, getenv, io.Discard, io.Discard)); code == 0 {
		t.Fatal("unknown command exits 0")
	}
}

func TestHealthcheck(t *testing.T) {
	for status, wantErr := range map[int]bool{200: false, 503: true} {
		l, _ := net.Listen("tcp", "127.0.0.1:0")
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(status) })}
		go srv.Serve(l)
		err := run(context.Background(), []string{"healthcheck", "-url", "http://" + l.Addr().String() + "/readyz"}, os.Getenv, io.Discard, io.Discard)
		srv.Close()
		if (err != nil) != wantErr {
			t.Errorf("status %d: err %v", status, err)
		}
	}
}

// syncBuffer is a bytes.Buffer safe to read while the dev mode writes it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func freePorts(t *testing.T, n int) []string {
	var ports []string
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		ports = append(ports, strconv.Itoa(l.Addr().(*net.TCPAddr).Port))
	}
	return ports
}

// The run command: `teller dev` starts ClickHouse, the broker, the three
// services and the demo site, prints where they are, stops cleanly on
// cancel, and a second run reuses the data.
func TestDevModeStartsEverythingAndReusesData(t *testing.T) {
	dir := t.TempDir()
	p := freePorts(t, 8)
	args := []string{"dev", "-data-dir", dir, "-host", "127.0.0.1", "-demo-port", p[0], "-collector-port", p[1], "-dashboard-port", p[2],
		"-sessionizer-port", p[3], "-clickhouse-port", p[4], "-clickhouse-http-port", p[5], "-kafka-port", p[6], "-import-sessionizer-port", p[7],
		"-log-level", "warn", "-flush-interval", "200ms"}
	start := func() (*syncBuffer, func()) {
		out := &syncBuffer{}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- run(ctx, args, func(string) string { return "" }, out, io.Discard) }()
		testenv.Eventually(t, 90*time.Second, "dev mode to print its URLs", func() bool {
			select {
			case err := <-done:
				t.Fatalf("dev mode stopped: %v\n%s", err, out.String())
			default:
			}
			return strings.Contains(out.String(), "Teller is running")
		})
		return out, func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("dev mode stopped with %v", err)
				}
			case <-time.After(60 * time.Second):
				t.Fatal("dev mode did not stop within 60 s")
			}
		}
	}
	get := func(url string) (int, string) {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	out, stop := start()
	for _, want := range []string{"http://127.0.0.1:" + p[0] + "/", "http://127.0.0.1:" + p[2] + "/", `user "admin", password "`} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("the banner lacks %q:\n%s", want, out.String())
		}
	}
	code, page := get("http://127.0.0.1:" + p[0] + "/")
	if code != 200 || !strings.Contains(page, `data-site="demo" src="http://127.0.0.1:`+p[1]+`/teller.js"`) {
		t.Fatalf("demo page: %d\n%s", code, page)
	}
	if code, js := get("http://127.0.0.1:" + p[1] + "/teller.js"); code != 200 || len(js) < 500 {
		t.Fatalf("snippet: %d", code)
	}
	if code, _ := get("http://127.0.0.1:" + p[2] + "/login"); code != 200 {
		t.Fatalf("dashboard login page: %d", code)
	}
	for _, port := range []string{p[1], p[2], p[3], p[7]} {
		testenv.Eventually(t, 30*time.Second, "readyz on "+port, func() bool { c, _ := get("http://127.0.0.1:" + port + "/readyz"); return c == 200 })
	}
	// One pageview through the collector, as the demo page's snippet sends it.
	req, _ := http.NewRequest("POST", "http://127.0.0.1:"+p[1]+"/api/event",
		strings.NewReader(`{"site":"demo","kind":"pageview","url":"http://127.0.0.1:`+p[0]+`/pricing"}`))
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 202 {
		t.Fatalf("event: %v %v", err, resp)
	}
	resp.Body.Close()
	chPort := p[4]
	q := func(query string) string {
		b, err := exec("clickhouse-client", "--port", chPort, "--database", "teller", "--query", query)
		if err != nil {
			t.Fatalf("%v: %s", err, b)
		}
		return strings.TrimSpace(b)
	}
	testenv.Eventually(t, 30*time.Second, "the pageview as a session", func() bool { return q("SELECT count() FROM sessions") == "1" })

	// History through the import endpoint, with a token made by the CLI
	// (which finds the running stack), sessionized by the second group.
	var tokenOut bytes.Buffer
	if err := run(context.Background(), []string{"import", "token", "add", "-site", "demo", "-name", "history"},
		func(k string) string { return map[string]string{"TELLER_DEV_DATA_DIR": dir}[k] }, &tokenOut, io.Discard); err != nil {
		t.Fatalf("import token add: %v\n%s", err, tokenOut.String())
	}
	token := regexp.MustCompile(`teller_import_[A-Za-z0-9_-]+`).FindString(tokenOut.String())
	if token == "" {
		t.Fatalf("no token printed:\n%s", tokenOut.String())
	}
	yesterday := time.Now().Add(-24 * time.Hour).UnixMilli()
	req, _ = http.NewRequest("POST", "http://127.0.0.1:"+p[1]+"/api/import", strings.NewReader(fmt.Sprintf(
		`{"site":"demo","events":[{"time_ms":%d,"visitor":"v1","kind":"pageview","url":"http://127.0.0.1:%s/history","new_visitor":true}]}`, yesterday, p[0])))
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err = http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("import: %v %v", err, resp)
	}
	resp.Body.Close()
	testenv.Eventually(t, 30*time.Second, "the imported pageview as a session", func() bool {
		return q("SELECT count() FROM sessions WHERE entry_pathname = '/history'") == "1"
	})
	password := regexp.MustCompile(`password "([^"]+)"`).FindStringSubmatch(out.String())[1]
	stop()

	// Second run: same data, same generated password.
	out, stop = start()
	defer stop()
	if !strings.Contains(out.String(), fmt.Sprintf("password %q", password)) {
		t.Fatalf("the second run generated a new password:\n%s", out.String())
	}
	if got := q("SELECT count(), min(entry_pathname), max(entry_pathname) FROM sessions"); got != "2\t/history\t/pricing" {
		t.Fatalf("second run lost data: %q", got)
	}
}

func exec(name string, args ...string) (string, error) {
	out, err := osexec.Command(name, args...).CombinedOutput()
	return string(out), err
}

// With TELLER_DEV_CLICKHOUSE_ADDR and TELLER_DEV_KAFKA_BROKERS set, the dev mode
// uses those servers and starts neither of its own.
func TestDevModeUsesConfiguredServers(t *testing.T) {
	ch := testenv.ClickHouse(t)
	brokers := testenv.Kafka(t, "teller.events", 2)
	dir := t.TempDir()
	p := freePorts(t, 5)
	env := map[string]string{"TELLER_DEV_CLICKHOUSE_ADDR": ch.Addr(), "TELLER_DEV_KAFKA_BROKERS": strings.Join(brokers, ","),
		"TELLER_DEV_LOG_LEVEL": "warn", "TELLER_DEV_FLUSH_INTERVAL": "200ms"}
	out := &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"dev", "-data-dir", dir, "-host", "127.0.0.1", "-demo-port", p[0], "-collector-port", p[1],
			"-dashboard-port", p[2], "-sessionizer-port", p[3], "-import-sessionizer-port", p[4]}, func(k string) string { return env[k] }, out, io.Discard)
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("dev mode: %v", err)
		}
	}()
	testenv.Eventually(t, 60*time.Second, "dev mode banner", func() bool { return strings.Contains(out.String(), "Teller is running") })
	for _, want := range []string{ch.Addr() + " (configured)", strings.Join(brokers, ",") + " (configured)"} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("banner lacks %q:\n%s", want, out.String())
		}
	}
	if _, err := os.Stat(dir + "/clickhouse"); !os.IsNotExist(err) {
		t.Fatalf("a local ClickHouse was started anyway (%v)", err)
	}
	req, _ := http.NewRequest("POST", "http://127.0.0.1:"+p[1]+"/api/event",
		strings.NewReader(`{"site":"demo","kind":"pageview","url":"http://localhost:`+p[0]+`/"}`))
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 202 {
		t.Fatalf("event: %v %v", err, resp)
	}
	resp.Body.Close()
	testenv.Eventually(t, 30*time.Second, "the session in the configured ClickHouse", func() bool {
		return testenv.ClientQuery(t, ch, "teller", "SELECT count() FROM sessions WHERE site_id = 'demo'") == "1"
	})
}

// `teller site -help` is help, not an unknown command; `teller site` alone
// and unknown commands are usage errors (exit 2).
func TestSiteHelp(t *testing.T) {
	var out, stderr bytes.Buffer
	err := run(context.Background(), []string{"site", "-help"}, func(string) string { return "" }, &out, &stderr)
	if app.ExitCode(err) != 0 || !strings.Contains(out.String(), "Usage: teller site <command>") || stderr.Len() > 0 {
		t.Fatalf("site -help: exit %d (%v)\nstdout:\n%s\nstderr:\n%s", app.ExitCode(err), err, out.String(), stderr.String())
	}
	for _, args := range [][]string{{"site"}, {"site", "frobnicate"}, {"frobnicate"}} {
		if code := app.ExitCode(run(context.Background(), args, func(string) string { return "" }, io.Discard, io.Discard)); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
	if code := app.ExitCode(run(context.Background(), []string{"site", "add", "-help"}, func(string) string { return "" }, io.Discard, io.Discard)); code != 0 {
		t.Errorf("site add -help: exit %d", code)
	}
}

// Variables say whose they are: no command reads TELLER_ID, TELLER_URL,
// TELLER_HOST...; the dev mode reads only TELLER_DEV_ ones; every other
// variable a command reads is a service's, documented in README.md.
func TestCommandVariablesSayWhoseTheyAre(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	vague := regexp.MustCompile(`env TELLER_(ID|URL|HOST|SITE|RATE|DOMAIN|NAME|TIMEZONE|COLLECTOR_URL|DATA_DIR|CHECK_CONFIG)\b`)
	for _, cmd := range [][]string{{"collector"}, {"sessionizer"}, {"dashboard"}, {"dev"}, {"site", "add"}, {"site", "edit"}, {"site", "list"},
		{"snippet"}, {"migrate"}, {"healthcheck"}} {
		var stderr bytes.Buffer
		err := run(context.Background(), append(cmd, "-help"), func(string) string { return "" }, io.Discard, &stderr)
		if !errors.Is(err, flag.ErrHelp) {
			t.Fatalf("%v -help: %v", cmd, err)
		}
		if m := vague.FindString(stderr.String()); m != "" {
			t.Errorf("%v reads a variable that says nothing: %s", cmd, m)
		}
		for _, m := range regexp.MustCompile(`env (TELLER_[A-Z_]+)`).FindAllStringSubmatch(stderr.String(), -1) {
			switch {
			case cmd[0] == "dev":
				if !strings.HasPrefix(m[1], "TELLER_DEV_") {
					t.Errorf("dev reads %s: the dev mode reads only TELLER_DEV_ variables", m[1])
				}
			case !strings.Contains(string(readme), "`"+m[1]+"`"):
				t.Errorf("%v: %s is not documented in README.md", cmd, m[1])
			}
		}
	}
}

// Commands without -clickhouse-addr or TELLER_CLICKHOUSE_ADDR use a running
// dev mode's ClickHouse (its stack file) and say so; an address given
// explicitly wins; a stack file whose process is gone is ignored.
func TestCommandsFindTheRunningDevStack(t *testing.T) {
	ch := testenv.ClickHouse(t)
	dir := t.TempDir()
	writeStack := func(pid int) {
		b, _ := json.Marshal(devmode.Stack{PID: pid, ClickHouseAddr: ch.Addr(), Database: "devstack", CollectorURL: "http://127.0.0.1:18081"})
		if err := os.WriteFile(devmode.StackFile(dir), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	writeStack(os.Getpid())
	env := map[string]string{"TELLER_DEV_DATA_DIR": dir}
	getenv := func(k string) string { return env[k] }
	var out, stderr bytes.Buffer
	if err := run(context.Background(), []string{"migrate"}, getenv, &out, &stderr); err != nil {
		t.Fatalf("migrate through the dev stack: %v\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "using the running dev mode's ClickHouse at "+ch.Addr()) ||
		!strings.Contains(out.String(), "database devstack is up to date") {
		t.Fatalf("stdout:\n%s\nstderr:\n%s", out.String(), stderr.String())
	}
	out.Reset()
	if err := run(context.Background(), []string{"site", "add", "-id", "blog", "-domain", "blog.example"}, getenv, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), `src="http://127.0.0.1:18081/teller.js"`) {
		t.Fatalf("site add without -collector-url does not point at the dev collector:\n%s", out.String())
	}
	// Dev mode's pages are local: the tag would skip them without being told.
	out.Reset()
	stderr.Reset()
	if err := run(context.Background(), []string{"snippet", "-id", "blog"}, getenv, &out, &stderr); err != nil ||
		!strings.Contains(stderr.String(), "teller snippet -allow-localhost") {
		t.Fatalf("snippet in dev mode: %v, no hint about local pages:\n%s", err, stderr.String())
	}
	stderr.Reset()
	if err := run(context.Background(), []string{"snippet", "-id", "blog", "-allow-localhost"}, getenv, &out, &stderr); err != nil ||
		strings.Contains(stderr.String(), "-allow-localhost") {
		t.Fatalf("snippet -allow-localhost in dev mode: %v, %s", err, stderr.String())
	}
	// An explicit address wins over the stack.
	stderr.Reset()
	env["TELLER_CLICKHOUSE_ADDR"] = ch.Addr()
	env["TELLER_CLICKHOUSE_DATABASE"] = "explicit"
	if err := run(context.Background(), []string{"migrate"}, getenv, &out, &stderr); err != nil || strings.Contains(stderr.String(), "dev mode") {
		t.Fatalf("explicit address: %v\n%s", err, stderr.String())
	}
	// A stale stack file (its process is gone) is not used.
	dead := osexec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	writeStack(dead.Process.Pid)
	delete(env, "TELLER_CLICKHOUSE_DATABASE")
	delete(env, "TELLER_CLICKHOUSE_ADDR")
	stderr.Reset()
	err := run(context.Background(), []string{"site", "list", "-clickhouse-dial-timeout", "200ms"}, getenv, io.Discard, &stderr)
	if strings.Contains(stderr.String(), "dev mode") {
		t.Fatalf("a stale stack file was used: %v\n%s", err, stderr.String())
	}
}
