// Package deploy holds the container deployment's tests: docker-compose.yml
// and the Dockerfile at the repository root are checked statically, without a
// Docker engine (scripts/check-compose.sh), and against the services' own
// flag definitions.
package deploy

import (
	"bytes"
	"flag"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"

	"github.com/teller-analytics/teller/pkg/app"
	"github.com/teller-analytics/teller/pkg/config"
)

// repoRoot is the repository root, found from this file's location so the
// test works from any directory.
func repoRoot(t *testing.T) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot locate compose_test.go")
	}
	return filepath.Dir(filepath.Dir(file))
}

// requireCompose fails the test (it does not skip it) when no Compose CLI can
// parse files: the check would otherwise silently not run.
func requireCompose(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("bash"); err != nil {
		t.Fatal("bash is needed to run scripts/check-compose.sh")
	}
	if _, err := exec.LookPath("docker-compose"); err == nil {
		return
	}
	if exec.Command("docker", "compose", "version").Run() == nil {
		return
	}
	t.Fatal("docker-compose is not installed: apt-get install docker-compose " +
		"(the project's install script does; no Docker engine is needed, only the CLI that parses compose files)")
}

// runCheck runs scripts/check-compose.sh with extra environment.
func runCheck(t *testing.T, env ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("bash", filepath.Join(repoRoot(t), "scripts", "check-compose.sh"))
	cmd.Dir = t.TempDir() // the script must not depend on the working directory
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// TestComposeCheck runs the static check with both of its YAML readers.
func TestComposeCheck(t *testing.T) {
	requireCompose(t)
	for _, reader := range []string{"", "awk"} {
		name := reader
		if name == "" {
			name = "default"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			env := []string{}
			if reader != "" {
				env = append(env, "TELLER_CHECK_FLATTENER="+reader)
			}
			out, err := runCheck(t, env...)
			if err != nil {
				t.Fatalf("scripts/check-compose.sh failed (%v):\n%s", err, out)
			}
			t.Log(strings.TrimSpace(out))
		})
	}
}

// TestComposeCheckCatches breaks copies of the files on purpose: the check
// must fail, naming each problem. The breakages are independent, so each
// group is checked in one run (the script reports every failure). If a
// breakage says its text is no longer found, docker-compose.yml or the
// Dockerfile changed: update it here.
func TestComposeCheckCatches(t *testing.T) {
	requireCompose(t)
	root := repoRoot(t)
	type breakage struct {
		old, new string
		want     string // in the check's output
	}
	const kafkaHealth = `test: ["CMD-SHELL", "/opt/kafka/bin/kafka-broker-api-versions.sh --bootstrap-server localhost:9092 >/dev/null 2>&1"]`
	groups := []struct {
		name      string
		file      string // docker-compose.yml or Dockerfile
		breakages []breakage
	}{
		{"compose", "docker-compose.yml", []breakage{
			{"    healthcheck:\n      " + kafkaHealth, "    x-no-healthcheck:\n      " + kafkaHealth, "service kafka has no healthcheck"},
			{"image: apache/kafka:3.9.1", "image: apache/kafka:latest", "apache/kafka:latest is not pinned"},
			{"image: clickhouse/clickhouse-server:25.8", "image: clickhouse/clickhouse-server", "clickhouse/clickhouse-server is not pinned"},
			{"KAFKA_PROCESS_ROLES: broker,controller", "KAFKA_PROCESS_ROLES: broker", "KAFKA_PROCESS_ROLES must be broker,controller"},
			{"TELLER_COOKIE_DOMAIN:-}\n    depends_on:\n      kafka:\n        condition: service_healthy",
				"TELLER_COOKIE_DOMAIN:-}\n    depends_on:\n      kafka:\n        condition: service_started",
				"service collector must depend on kafka with condition: service_healthy"},
			{`TELLER_LISTEN: ":8081"`, "TELLER_LISTEN: \":8081\"\n      TELLER_LISTN: \":8081\"", "sets TELLER_LISTN"},
			{`"8081:8081"`, `"8081:9081"`, "publishes container port 9081 but listens on 8081"},
			{`"127.0.0.1:9000:9000"`, `"9000:9000"`, "is not published on 127.0.0.1 only"},
			{"${TELLER_SESSION_SECRET:?", "${TELLER_SESSION_SECRET:-", "TELLER_SESSION_SECRET must be required"},
			{"- clickhouse-data:/var/lib/clickhouse", "- /srv/clickhouse:/var/lib/clickhouse", "/var/lib/clickhouse is not on a named volume"},
		}},
		{"compose syntax", "docker-compose.yml", []breakage{
			{"services:\n", "services:\n  - oops\n", "config rejects docker-compose.yml"},
		}},
		{"Dockerfile", "Dockerfile", []breakage{
			{" \\\n        ./cmd/teller", "", "does not build ./cmd/teller"},
			{"FROM golang:1.26-bookworm AS build", "FROM golang AS build", "FROM golang is not pinned"},
			{"USER 65532:65532", "USER root", "final stage runs as root"},
			{"RUN go mod download", "", "no separate 'go mod download' layer"},
		}},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			t.Parallel()
			src, err := os.ReadFile(filepath.Join(root, g.file))
			if err != nil {
				t.Fatal(err)
			}
			for _, b := range g.breakages {
				if n := bytes.Count(src, []byte(b.old)); n != 1 {
					t.Fatalf("the text to break occurs %d times in %s, want once (update this test): %q", n, g.file, b.old)
				}
				src = bytes.Replace(src, []byte(b.old), []byte(b.new), 1)
			}
			broken := filepath.Join(t.TempDir(), g.file)
			if err := os.WriteFile(broken, src, 0o644); err != nil {
				t.Fatal(err)
			}
			env := "TELLER_CHECK_COMPOSE_FILE=" + broken
			if g.file == "Dockerfile" {
				env = "TELLER_CHECK_DOCKERFILE=" + broken
			}
			out, err := runCheck(t, env)
			if err == nil {
				t.Fatalf("the check passed a broken %s:\n%s", g.file, out)
			}
			for _, b := range g.breakages {
				if !strings.Contains(out, b.want) {
					t.Errorf("breaking %q: the check did not say %q", b.old, b.want)
				}
			}
			if t.Failed() {
				t.Logf("check output:\n%s", out)
			}
		})
	}
}

// composeFile is the part of docker-compose.yml the Go checks read.
type composeFile struct {
	Services map[string]struct {
		Command     []string       `yaml:"command"`
		Ports       []any          `yaml:"ports"`
		Environment map[string]any `yaml:"environment"`
		Healthcheck struct {
			Test []string `yaml:"test"`
		} `yaml:"healthcheck"`
	} `yaml:"services"`
}

// flagged is a Teller service configuration (app.CollectorConfig, ...).
type flagged interface{ RegisterFlags(*flag.FlagSet) }

// TestComposeMatchesServiceFlags checks docker-compose.yml against the
// services' own flag definitions: each listens on its default port, publishes
// and probes that port, and sets only TELLER_ variables it reads.
func TestComposeMatchesServiceFlags(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(repoRoot(t), "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var cf composeFile
	if err := yaml.Unmarshal(data, &cf); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	services := []struct {
		name      string
		cfg       flagged
		published string // the port published on the host, "" for none checked
	}{
		{"collector", &app.CollectorConfig{}, "8081"},
		{"dashboard", &app.DashboardConfig{}, "8082"},
		{"sessionizer", &app.SessionizerConfig{}, ""},
	}
	for _, s := range services {
		t.Run(s.name, func(t *testing.T) {
			svc, ok := cf.Services[s.name]
			if !ok {
				t.Fatalf("no service %s", s.name)
			}
			fs := flag.NewFlagSet(s.name, flag.ContinueOnError)
			s.cfg.RegisterFlags(fs)
			listen := fs.Lookup("listen")
			if listen == nil {
				t.Fatalf("%s has no -listen flag", s.name)
			}
			_, port, ok := strings.Cut(listen.DefValue, ":")
			if !ok || port == "" {
				t.Fatalf("%s: -listen default %q has no port", s.name, listen.DefValue)
			}
			if s.published != "" && port != s.published {
				t.Errorf("%s's default port is %s; the documented one is %s", s.name, port, s.published)
			}

			if got := fmt.Sprint(svc.Environment[config.EnvName("listen")]); got != ":"+port {
				t.Errorf("TELLER_LISTEN = %q, want the default %q", got, ":"+port)
			}
			if len(svc.Command) == 0 || svc.Command[0] != s.name {
				t.Errorf("command = %q, want [%q]", svc.Command, s.name)
			}

			var targets []string
			for _, p := range svc.Ports {
				str, ok := p.(string)
				if !ok {
					t.Errorf("port %v: use the short syntax \"[IP:]HOST:CONTAINER\"", p)
					continue
				}
				parts := strings.Split(str, ":")
				container := parts[len(parts)-1]
				targets = append(targets, container)
				if container != port {
					t.Errorf("port %q: container port is not %s", str, port)
				}
				if s.published != "" && (len(parts) < 2 || parts[len(parts)-2] != s.published) {
					t.Errorf("port %q: not published on host port %s", str, s.published)
				}
			}
			if s.published != "" && len(targets) == 0 {
				t.Errorf("%s publishes no port, want %s:%s", s.name, s.published, port)
			}

			hc := svc.Healthcheck.Test
			if len(hc) < 5 || hc[0] != "CMD" || hc[1] != "/usr/local/bin/teller" || hc[2] != "healthcheck" || hc[3] != "-url" {
				t.Errorf("healthcheck = %q, want [CMD /usr/local/bin/teller healthcheck -url http://127.0.0.1:%s/readyz]", hc, port)
			} else if u, err := url.Parse(hc[4]); err != nil || u.Port() != port || u.Path != "/readyz" {
				t.Errorf("healthcheck URL %q does not probe :%s/readyz", hc[4], port)
			}

			// Only variables the service reads: a TELLER_ variable without a
			// flag behind it is a typo or belongs to another service.
			reads := map[string]bool{}
			fs.VisitAll(func(f *flag.Flag) { reads[config.EnvName(f.Name)] = true })
			var unread []string
			for name := range svc.Environment {
				if !reads[name] {
					unread = append(unread, name)
				}
			}
			sort.Strings(unread)
			if len(unread) > 0 {
				t.Errorf("%s sets %s, which it does not read (its flags: -help)", s.name, strings.Join(unread, ", "))
			}
		})
	}
}
