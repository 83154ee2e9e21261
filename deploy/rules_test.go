package deploy

import (
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/teller-analytics/teller/pkg/config"
)

// What a rule reads; a rule whose input could not be read is not run (the
// rule that reads the file reports why).
const (
	needsCompose = 1 << iota
	needsDockerfile
)

// rule is one check of the deployment. check returns one message per
// problem. breaks are edits of a copy of a file that the rule must catch,
// each with a text its message must contain: a rule that cannot fail is no
// rule.
type rule struct {
	name   string
	needs  int
	check  func(d *deployment) []string
	breaks []breakage
}

type breakage struct {
	file     string // composeFile or dockerfileName
	old, new string // old must occur exactly once
	want     string
}

const (
	composeName    = "docker-compose.yml"
	dockerfileName = "Dockerfile"
)

// rules is every check of docker-compose.yml and the Dockerfile.
var rules = []rule{
	// ---- reading the files --------------------------------------------------
	{
		name: "compose accepts the file",
		check: func(d *deployment) []string {
			if d.composeErr != nil {
				return []string{d.composeErr.Error()}
			}
			return nil
		},
		breaks: []breakage{
			{composeName, "services:\n", "services:\n  - oops\n", "config rejects docker-compose.yml"},
			// compose itself refuses a named volume that is not declared.
			{composeName, "volumes:\n  kafka-data:\n", "volumes:\n", "config rejects"},
		},
	},
	{
		name: "the Dockerfile parses",
		check: func(d *deployment) []string {
			if d.dockerErr != nil {
				return []string{d.dockerErr.Error()}
			}
			return nil
		},
		breaks: []breakage{
			{dockerfileName, "FROM golang:1.26-bookworm AS build", "FROM golang:1.26-bookworm AS", "malformed FROM"},
		},
	},
	{
		name:  "required variables name themselves in their message",
		needs: needsCompose,
		check: func(d *deployment) []string {
			var p []string
			for _, m := range requiredVar.FindAllStringSubmatch(d.rawText, -1) {
				if !strings.Contains(m[2], m[1]) {
					p = append(p, fmt.Sprintf("${%s:?%s}: the message compose prints when %s is missing does not name it", m[1], m[2], m[1]))
				}
			}
			return p
		},
		breaks: []breakage{
			{composeName, "${TELLER_DASHBOARD_PASSWORD:?set TELLER_DASHBOARD_PASSWORD}", "${TELLER_DASHBOARD_PASSWORD:?set the password}", "does not name it"},
		},
	},

	// ---- the stack ---------------------------------------------------------------
	{
		name:  "every service is there",
		needs: needsCompose,
		check: func(d *deployment) []string {
			var p []string
			for _, s := range backingServices {
				if _, ok := d.compose.Services[s]; !ok {
					p = append(p, "service "+s+" is missing")
				}
			}
			for _, s := range tellerServices {
				if _, ok := d.compose.Services[s.name]; !ok {
					p = append(p, "service "+s.name+" is missing")
				}
			}
			return p
		},
		breaks: []breakage{
			{composeName, "  sessionizer:\n", "  sessionizr:\n", "service sessionizer is missing"},
		},
	},
	{
		name:  "images are pinned",
		needs: needsCompose,
		check: func(d *deployment) []string {
			var p []string
			for _, name := range sortedKeys(d.compose.Services) {
				s := d.compose.Services[name]
				switch {
				case s.Build != nil && s.Image == "":
					p = append(p, fmt.Sprintf("service %s builds an image but does not name it (image: teller:local)", name))
				case s.Build != nil && !pinned(s.Image):
					p = append(p, fmt.Sprintf("service %s: built image %s needs an explicit tag other than latest", name, s.Image))
				case s.Build == nil && s.Image == "":
					p = append(p, fmt.Sprintf("service %s has neither image nor build", name))
				case s.Build == nil && !pinned(s.Image):
					p = append(p, fmt.Sprintf("service %s: image %s is not pinned (give a version tag, not latest or none)", name, s.Image))
				}
			}
			return p
		},
		breaks: []breakage{
			{composeName, "image: apache/kafka:3.9.1", "image: apache/kafka:latest", "apache/kafka:latest is not pinned"},
			{composeName, "image: clickhouse/clickhouse-server:25.8", "image: clickhouse/clickhouse-server", "clickhouse/clickhouse-server is not pinned"},
			{composeName, "image: teller:local", "image: teller", "built image teller needs an explicit tag"},
		},
	},
	{
		name:  "every service has a health check",
		needs: needsCompose,
		check: func(d *deployment) []string {
			var p []string
			for _, name := range sortedKeys(d.compose.Services) {
				hc := d.compose.Services[name].Healthcheck
				if hc == nil || hc.Disable || len(hc.Test) == 0 || hc.Test[0] == "NONE" {
					p = append(p, "service "+name+" has no healthcheck")
				}
			}
			return p
		},
		breaks: []breakage{
			{composeName, "    healthcheck:\n      test: [\"CMD-SHELL\", \"/opt/kafka", "    x-no-healthcheck:\n      test: [\"CMD-SHELL\", \"/opt/kafka", "service kafka has no healthcheck"},
			{composeName, "test: [\"CMD\", \"/usr/local/bin/teller\", \"healthcheck\", \"-url\", \"http://127.0.0.1:8082/readyz\"]\n      interval: 10s\n      timeout: 5s\n      retries: 3\n      start_period: 30s\n",
				"disable: true\n", "service dashboard has no healthcheck"},
		},
	},
	{
		name:  "Kafka runs in KRaft mode, without ZooKeeper",
		needs: needsCompose,
		check: func(d *deployment) []string {
			k, ok := d.compose.Services["kafka"]
			if !ok {
				return nil // reported by "every service is there"
			}
			var p []string
			roles := map[string]bool{}
			for _, r := range strings.Split(string(k.Environment["KAFKA_PROCESS_ROLES"]), ",") {
				roles[strings.TrimSpace(r)] = true
			}
			if !roles["broker"] || !roles["controller"] {
				p = append(p, fmt.Sprintf("kafka: KAFKA_PROCESS_ROLES must be broker,controller (KRaft combined mode), is %q", k.Environment["KAFKA_PROCESS_ROLES"]))
			}
			if _, ok := k.Environment["KAFKA_ZOOKEEPER_CONNECT"]; ok {
				p = append(p, "kafka: KAFKA_ZOOKEEPER_CONNECT set; KRaft needs no ZooKeeper")
			}
			for _, v := range []string{"KAFKA_NODE_ID", "KAFKA_CONTROLLER_QUORUM_VOTERS", "KAFKA_CONTROLLER_LISTENER_NAMES", "KAFKA_ADVERTISED_LISTENERS", "KAFKA_LOG_DIRS"} {
				if k.Environment[v] == "" {
					p = append(p, "kafka: "+v+" is not set")
				}
			}
			for _, name := range sortedKeys(d.compose.Services) {
				if strings.Contains(name, "zookeeper") || strings.Contains(d.compose.Services[name].Image, "zookeeper") {
					p = append(p, "service "+name+": ZooKeeper is not used; Kafka runs in KRaft mode")
				}
			}
			return p
		},
		breaks: []breakage{
			{composeName, "KAFKA_PROCESS_ROLES: broker,controller", "KAFKA_PROCESS_ROLES: broker", "KAFKA_PROCESS_ROLES must be broker,controller"},
			{composeName, "      KAFKA_CONTROLLER_QUORUM_VOTERS: 1@kafka:9093\n", "", "KAFKA_CONTROLLER_QUORUM_VOTERS is not set"},
			{composeName, "      KAFKA_NODE_ID: 1\n", "      KAFKA_NODE_ID: 1\n      KAFKA_ZOOKEEPER_CONNECT: zookeeper:2181\n", "KAFKA_ZOOKEEPER_CONNECT set"},
			{composeName, "services:\n", "services:\n  zookeeper:\n    image: zookeeper:3.9\n    healthcheck:\n      test: [\"CMD\", \"true\"]\n", "service zookeeper: ZooKeeper is not used"},
		},
	},
	{
		name:  "data lives on named volumes",
		needs: needsCompose,
		check: func(d *deployment) []string {
			var p []string
			onNamed := func(service, dir string) {
				for _, v := range d.compose.Services[service].Volumes {
					if v.named() && path.Clean(v.Target) == path.Clean(dir) {
						return
					}
				}
				p = append(p, fmt.Sprintf("%s: %s is not on a named volume (the data would be lost with the container)", service, dir))
			}
			if k, ok := d.compose.Services["kafka"]; ok {
				for _, dir := range strings.Split(string(k.Environment["KAFKA_LOG_DIRS"]), ",") {
					if dir = strings.TrimSpace(dir); dir != "" {
						onNamed("kafka", dir)
					}
				}
			}
			if _, ok := d.compose.Services["clickhouse"]; ok {
				onNamed("clickhouse", "/var/lib/clickhouse")
			}
			return p
		},
		breaks: []breakage{
			{composeName, "- clickhouse-data:/var/lib/clickhouse", "- /srv/clickhouse:/var/lib/clickhouse", "/var/lib/clickhouse is not on a named volume"},
			{composeName, "KAFKA_LOG_DIRS: /var/lib/kafka/data", "KAFKA_LOG_DIRS: /var/lib/kafka/logs", "/var/lib/kafka/logs is not on a named volume"},
		},
	},
	{
		// docs/durability.md: accepted means spooled. Without a spool every
		// request waits for Kafka and an outage answers 503; on a path that
		// is not a named volume, a new container loses what was accepted.
		name:  "the collector spools accepted events on a named volume its user can write",
		needs: needsCompose | needsDockerfile,
		check: func(d *deployment) []string {
			s, ok := d.services["collector"]
			if !ok {
				return nil
			}
			dir, _ := s.value("spool-dir")
			if dir == "" || dir == "none" {
				return []string{"collector: no spool (-spool-dir none, TELLER_SPOOL_DIR): events would wait for Kafka in every request, and a Kafka outage would answer 503"}
			}
			dir = path.Clean(dir)
			var p []string
			named := false
			for _, v := range s.spec.Volumes {
				named = named || (v.named() && path.Clean(v.Target) == dir)
			}
			if !named {
				p = append(p, fmt.Sprintf("collector: the spool %s is not on a named volume (a new container would lose the events accepted but not yet in Kafka)", dir))
			}
			// A new named volume takes the ownership of the image's
			// directory: the final stage must copy it, chowned to its user.
			final := d.docker.final()
			user := ""
			for _, in := range final.instructions {
				if in.cmd == "USER" {
					user = in.args
				}
			}
			owned := false
			for _, in := range final.instructions {
				words := strings.Fields(in.args)
				if in.cmd != "COPY" || len(words) < 2 || user == "" {
					continue
				}
				dest := path.Clean(words[len(words)-1])
				if strings.Contains(in.args, "--chown="+user) && (dest == dir || strings.HasPrefix(dir, dest+"/")) {
					owned = true
				}
			}
			if !owned {
				p = append(p, fmt.Sprintf("Dockerfile: the final stage does not create %s owned by its user %s (COPY --chown=%s): the collector could not write its spool", dir, user, user))
			}
			return p
		},
		breaks: []breakage{
			{composeName, "      TELLER_SPOOL_DIR: /var/lib/teller/spool\n", "      TELLER_SPOOL_DIR: none\n", "no spool"},
			{composeName, "- collector-spool:/var/lib/teller/spool", "- /srv/spool:/var/lib/teller/spool", "spool /var/lib/teller/spool is not on a named volume"},
			{dockerfileName, "COPY --from=build --chown=65532:65532 /state/ /var/lib/teller/\n", "", "does not create /var/lib/teller/spool owned by its user"},
			{dockerfileName, "--chown=65532:65532 /state/ /var/lib/teller/", "--chown=65532:65532 /state/ /var/lib/other/", "does not create /var/lib/teller/spool"},
		},
	},
	{
		name:  "ClickHouse is published on 127.0.0.1 only",
		needs: needsCompose,
		check: func(d *deployment) []string {
			var p []string
			for _, port := range d.compose.Services["clickhouse"].Ports {
				if port.HostIP != "127.0.0.1" {
					p = append(p, fmt.Sprintf("clickhouse: port %s is not published on 127.0.0.1 only", port))
				}
			}
			return p
		},
		breaks: []breakage{
			{composeName, `"127.0.0.1:9000:9000"`, `"9000:9000"`, "is not published on 127.0.0.1 only"},
		},
	},

	// ---- the Teller services against their flags -------------------------------
	{
		name:  "Teller services are built from this repository",
		needs: needsCompose,
		check: eachService(func(d *deployment, s *tellerService) []string {
			b := s.spec.Build
			if b == nil {
				return []string{"service " + s.name + " is not built from the repository's Dockerfile (build: .)"}
			}
			ctx := b.Context
			if !filepath.IsAbs(ctx) {
				ctx = filepath.Join(d.root, ctx)
			}
			if filepath.Clean(ctx) != d.root || (b.Dockerfile != "" && b.Dockerfile != dockerfileName) {
				return []string{fmt.Sprintf("service %s builds %s (Dockerfile %q), not the repository's Dockerfile", s.name, b.Context, b.Dockerfile)}
			}
			return nil
		}),
		breaks: []breakage{
			{composeName, "  build: .\n", "  build: ./deploy\n", "not the repository's Dockerfile"},
		},
	},
	{
		name:  "Teller services run their own program, built by the Dockerfile",
		needs: needsCompose | needsDockerfile,
		check: eachService(func(d *deployment, s *tellerService) []string {
			built, all := d.docker.built()
			var p []string
			cmd := s.spec.Command
			if len(cmd) == 0 {
				return []string{"service " + s.name + " has no command (the image has no default command)"}
			}
			prog := path.Base(cmd[0])
			if prog != s.name {
				p = append(p, fmt.Sprintf("service %s runs %s, want %s", s.name, cmd[0], s.name))
			}
			if !all && !built[prog] {
				p = append(p, fmt.Sprintf("service %s runs %s, which the Dockerfile does not build (./cmd/%s)", s.name, prog, prog))
			}
			if hc := s.spec.Healthcheck; hc != nil && len(hc.Test) > 1 && hc.Test[0] == "CMD" {
				if prog := path.Base(hc.Test[1]); !all && !built[prog] {
					p = append(p, fmt.Sprintf("service %s: healthcheck runs %s, which the Dockerfile does not build", s.name, hc.Test[1]))
				}
			}
			return p
		}),
		breaks: []breakage{
			{composeName, `command: ["collector"]`, `command: ["collectr"]`, "runs collectr, which the Dockerfile does not build"},
			{composeName, `command: ["dashboard"]`, `command: ["sessionizer"]`, "service dashboard runs sessionizer, want dashboard"},
			{composeName, `"/usr/local/bin/teller", "healthcheck", "-url", "http://127.0.0.1:8082/readyz"`, `"/usr/local/bin/tellr", "healthcheck", "-url", "http://127.0.0.1:8082/readyz"`, "healthcheck runs /usr/local/bin/tellr, which the Dockerfile does not build"},
		},
	},
	{
		name:  "Teller variables name flags of their service",
		needs: needsCompose,
		check: eachService(func(d *deployment, s *tellerService) []string {
			reads := map[string]bool{}
			s.fs.VisitAll(func(f *flag.Flag) { reads[config.EnvName(f.Name)] = true })
			var p []string
			for _, name := range sortedKeys(s.spec.Environment) {
				if strings.HasPrefix(name, "TELLER_") && !reads[name] {
					p = append(p, fmt.Sprintf("service %s sets %s, which names none of its flags (%s -help lists them)", s.name, name, s.name))
				}
			}
			return p
		}),
		breaks: []breakage{
			{composeName, `TELLER_LISTEN: ":8081"`, "TELLER_LISTEN: \":8081\"\n      TELLER_LISTN: \":8081\"", "service collector sets TELLER_LISTN"},
			// A variable of another service: the dashboard reads no Kafka.
			{composeName, "      <<: *teller-clickhouse-env\n", "      <<: [*teller-clickhouse-env, *teller-kafka-env]\n", "service dashboard sets TELLER_KAFKA_BROKERS"},
		},
	},
	{
		name:  "each service's environment is a valid configuration",
		needs: needsCompose,
		check: eachService(func(d *deployment, s *tellerService) []string {
			if s.parseErr != nil {
				return []string{fmt.Sprintf("service %s: %v", s.name, s.parseErr)}
			}
			if v, ok := s.cfg.(validator); ok {
				if err := v.Validate(); err != nil {
					return []string{fmt.Sprintf("service %s: %v", s.name, err)}
				}
			}
			return nil
		}),
		breaks: []breakage{
			{composeName, "TELLER_KAFKA_GROUP: teller-sessionizer", "TELLER_KAFKA_GROUP: teller-sessionizer\n      TELLER_SESSION_GAP: \"30\"", "TELLER_SESSION_GAP"},
		},
	},
	{
		name:  "required settings come from the user, never a default",
		needs: needsCompose,
		check: eachService(func(d *deployment, s *tellerService) []string {
			var p []string
			for _, f := range s.required() {
				env := config.EnvName(f)
				raw, ok := s.raw.Environment[env]
				if !ok {
					p = append(p, fmt.Sprintf("service %s does not set %s (-%s is required)", s.name, env, f))
					continue
				}
				if !wholeRequiredVar.MatchString(string(raw)) {
					p = append(p, fmt.Sprintf("service %s: %s must be required (${%s:?message}), is %q: a default secret would be shared by every install", s.name, env, env, raw))
				}
			}
			return p
		}),
		breaks: []breakage{
			{composeName, "${TELLER_LOGIN_SECRET:?", "${TELLER_LOGIN_SECRET:-", "TELLER_LOGIN_SECRET must be required"},
			{composeName, "      TELLER_COOKIE_SECRET: ${TELLER_COOKIE_SECRET:?set TELLER_COOKIE_SECRET (e.g. openssl rand -base64 32)}\n", "", "service collector does not set TELLER_COOKIE_SECRET"},
			{composeName, "${TELLER_LOGIN_SECRET:?set TELLER_LOGIN_SECRET (e.g. openssl rand -base64 32)}", "changeme-changeme-changeme", "TELLER_LOGIN_SECRET must be required"},
		},
	},
	{
		name:  "one port per service: the -listen default, published and probed",
		needs: needsCompose,
		check: eachService(func(d *deployment, s *tellerService) []string {
			f := s.fs.Lookup("listen")
			if f == nil {
				return []string{"service " + s.name + " has no -listen flag"}
			}
			_, def, err := net.SplitHostPort(f.DefValue)
			if err != nil {
				return []string{fmt.Sprintf("service %s: -listen default %q: %v", s.name, f.DefValue, err)}
			}
			host, port, err := net.SplitHostPort(f.Value.String())
			if err != nil {
				return []string{fmt.Sprintf("service %s: -listen %q: %v", s.name, f.Value, err)}
			}
			var p []string
			if port != def {
				p = append(p, fmt.Sprintf("service %s listens on %s, not on its default port %s (the documented one)", s.name, f.Value, def))
			}
			if host != "" && host != "0.0.0.0" && host != "::" {
				p = append(p, fmt.Sprintf("service %s listens on %s: inside a container, listen on all interfaces (:%s) or nothing reaches it", s.name, f.Value, port))
			}
			for _, pub := range s.spec.Ports {
				if string(pub.Target) != port {
					p = append(p, fmt.Sprintf("service %s publishes container port %s but listens on %s", s.name, pub.Target, port))
				} else if string(pub.Published) != port {
					p = append(p, fmt.Sprintf("service %s publishes its port %s on host port %q: use the same number", s.name, port, pub.Published))
				}
			}
			return p
		}),
		breaks: []breakage{
			{composeName, `"8081:8081"`, `"8081:9081"`, "publishes container port 9081 but listens on 8081"},
			{composeName, `"8082:8082"`, `"9082:8082"`, `publishes its port 8082 on host port "9082"`},
			{composeName, `TELLER_LISTEN: ":8083"`, `TELLER_LISTEN: ":9083"`, "listens on :9083, not on its default port 8083"},
			{composeName, `TELLER_LISTEN: ":8082"`, `TELLER_LISTEN: "127.0.0.1:8082"`, "listen on all interfaces"},
		},
	},
	{
		name:  "Teller health checks probe the service's /readyz",
		needs: needsCompose,
		check: eachService(func(d *deployment, s *tellerService) []string {
			listen, ok := s.value("listen")
			if !ok {
				return nil // reported by "one port per service"
			}
			if admin, ok := s.value("admin-listen"); ok && admin != "" {
				listen = admin // the collector serves health on its own listener
			}
			_, port, _ := net.SplitHostPort(listen)
			want := fmt.Sprintf("[CMD /usr/local/bin/teller healthcheck -url http://127.0.0.1:%s/readyz]", port)
			hc := s.spec.Healthcheck
			if hc == nil || len(hc.Test) != 5 || hc.Test[0] != "CMD" || hc.Test[2] != "healthcheck" || hc.Test[3] != "-url" {
				return []string{fmt.Sprintf("service %s: healthcheck is not %s", s.name, want)}
			}
			u, err := url.Parse(hc.Test[4])
			if err != nil || u.Port() != port || u.Path != "/readyz" || (u.Hostname() != "127.0.0.1" && u.Hostname() != "localhost") {
				return []string{fmt.Sprintf("service %s: healthcheck URL %s does not probe 127.0.0.1:%s/readyz", s.name, hc.Test[4], port)}
			}
			return nil
		}),
		breaks: []breakage{
			{composeName, "http://127.0.0.1:8083/readyz", "http://127.0.0.1:8084/readyz", "healthcheck URL http://127.0.0.1:8084/readyz does not probe 127.0.0.1:8083/readyz"},
			{composeName, "http://127.0.0.1:8091/readyz", "http://127.0.0.1:8091/healthz", "does not probe 127.0.0.1:8091/readyz"},
		},
	},
	{
		name:  "Teller addresses name services of the stack",
		needs: needsCompose,
		check: eachService(func(d *deployment, s *tellerService) []string {
			var p []string
			for _, addr := range s.addresses("clickhouse-addr") {
				if _, ok := d.compose.Services[addr.host]; !ok {
					p = append(p, fmt.Sprintf("service %s: -clickhouse-addr %s is not a service of the stack", s.name, addr))
				}
			}
			for _, addr := range s.addresses("kafka-brokers") {
				k, ok := d.compose.Services[addr.host]
				if !ok {
					p = append(p, fmt.Sprintf("service %s: Kafka broker %s is not a service of the stack", s.name, addr))
					continue
				}
				if !advertises(string(k.Environment["KAFKA_ADVERTISED_LISTENERS"]), addr.String()) {
					p = append(p, fmt.Sprintf("service %s: Kafka broker %s is not among %s's KAFKA_ADVERTISED_LISTENERS %s", s.name, addr, addr.host, k.Environment["KAFKA_ADVERTISED_LISTENERS"]))
				}
			}
			return p
		}),
		breaks: []breakage{
			{composeName, "TELLER_KAFKA_BROKERS: kafka:9092", "TELLER_KAFKA_BROKERS: kafka:9093", "Kafka broker kafka:9093 is not among kafka's KAFKA_ADVERTISED_LISTENERS"},
			{composeName, "TELLER_KAFKA_BROKERS: kafka:9092", "TELLER_KAFKA_BROKERS: kafka:909", "Kafka broker kafka:909 is not among"},
			{composeName, "TELLER_CLICKHOUSE_ADDR: clickhouse:9000", "TELLER_CLICKHOUSE_ADDR: localhost:9000", "-clickhouse-addr localhost:9000 is not a service of the stack"},
		},
	},
	{
		name:  "Teller services wait until what they connect to is healthy",
		needs: needsCompose,
		check: eachService(func(d *deployment, s *tellerService) []string {
			var p []string
			for _, addr := range append(s.addresses("clickhouse-addr"), s.addresses("kafka-brokers")...) {
				if _, ok := d.compose.Services[addr.host]; !ok {
					continue // reported by "Teller addresses name services of the stack"
				}
				if cond := s.spec.DependsOn[addr.host]; cond != "service_healthy" {
					p = append(p, fmt.Sprintf("service %s must depend on %s with condition: service_healthy (has %q)", s.name, addr.host, cond))
				}
			}
			return p
		}),
		breaks: []breakage{
			{composeName, "collector-spool:/var/lib/teller/spool\n    depends_on:\n      kafka:\n        condition: service_healthy",
				"collector-spool:/var/lib/teller/spool\n    depends_on:\n      kafka:\n        condition: service_started",
				"service collector must depend on kafka with condition: service_healthy"},
			{composeName, "    depends_on:\n      clickhouse:\n        condition: service_healthy\n      collector:", "    depends_on:\n      collector:", "service dashboard must depend on clickhouse"},
		},
	},
	{
		name:  "Teller services agree on the topic and the database",
		needs: needsCompose,
		check: func(d *deployment) []string {
			var p []string
			for _, f := range []string{"kafka-brokers", "kafka-topic", "clickhouse-addr", "clickhouse-database"} {
				seen := map[string][]string{}
				for _, s := range sortedServices(d) {
					if v, ok := s.value(f); ok {
						seen[v] = append(seen[v], s.name)
					}
				}
				if len(seen) > 1 {
					var parts []string
					for _, v := range sortedKeys(seen) {
						parts = append(parts, fmt.Sprintf("%s has %q", strings.Join(seen[v], ", "), v))
					}
					p = append(p, fmt.Sprintf("-%s differs: %s", f, strings.Join(parts, "; ")))
				}
			}
			return p
		},
		breaks: []breakage{
			{composeName, "TELLER_KAFKA_GROUP: teller-sessionizer", "TELLER_KAFKA_GROUP: teller-sessionizer\n      TELLER_KAFKA_TOPIC: other.events", "-kafka-topic differs"},
		},
	},
	{
		name:  "Kafka's default partition count is the services' -kafka-partitions",
		needs: needsCompose,
		check: eachService(func(d *deployment, s *tellerService) []string {
			want, ok := s.value("kafka-partitions")
			k, hasKafka := d.compose.Services["kafka"]
			if !ok || !hasKafka {
				return nil
			}
			if got := string(k.Environment["KAFKA_NUM_PARTITIONS"]); got != want {
				return []string{fmt.Sprintf("kafka: KAFKA_NUM_PARTITIONS is %q, but %s's -kafka-partitions is %s (a topic the broker creates must match the one Teller creates)", got, s.name, want)}
			}
			return nil
		}),
		breaks: []breakage{
			{composeName, "KAFKA_NUM_PARTITIONS: 6", "KAFKA_NUM_PARTITIONS: 3", `KAFKA_NUM_PARTITIONS is "3"`},
		},
	},
	{
		name:  "compose waits longer than a service's -shutdown-timeout",
		needs: needsCompose,
		check: eachService(func(d *deployment, s *tellerService) []string {
			v, ok := s.value("shutdown-timeout")
			if !ok {
				return nil
			}
			timeout, err := time.ParseDuration(v)
			if err != nil {
				return []string{fmt.Sprintf("service %s: -shutdown-timeout %q: %v", s.name, v, err)}
			}
			grace, err := s.spec.stopGrace()
			if err != nil {
				return []string{"service " + s.name + ": " + err.Error()}
			}
			if grace <= timeout {
				return []string{fmt.Sprintf("service %s: stop_grace_period %s is not longer than its -shutdown-timeout %s: compose would kill it while it flushes", s.name, grace, timeout)}
			}
			return nil
		}),
		breaks: []breakage{
			{composeName, "checkpoint open sessions when stopped.\n    stop_grace_period: 30s", "checkpoint open sessions when stopped.\n    stop_grace_period: 15s", "stop_grace_period 15s is not longer than its -shutdown-timeout 20s"},
		},
	},

	// ---- the Dockerfile ------------------------------------------------------------
	{
		name:  "the Dockerfile builds every command",
		needs: needsDockerfile,
		check: func(d *deployment) []string {
			built, all := d.docker.built()
			var p []string
			have := map[string]bool{}
			for _, c := range d.commands {
				have[c] = true
				if !all && !built[c] {
					p = append(p, fmt.Sprintf("Dockerfile does not build ./cmd/%s (cmd/%s/main.go exists)", c, c))
				}
			}
			for _, b := range sortedKeys(built) {
				if !have[b] {
					p = append(p, fmt.Sprintf("Dockerfile builds ./cmd/%s, which has no main.go", b))
				}
			}
			return p
		},
		breaks: []breakage{
			{dockerfileName, " \\\n        ./cmd/teller", "", "does not build ./cmd/teller"},
			{dockerfileName, "./cmd/loadgen", "./cmd/loadgen ./cmd/nosuch", "builds ./cmd/nosuch, which has no main.go"},
		},
	},
	{
		name:  "the Dockerfile's images are pinned",
		needs: needsDockerfile,
		check: func(d *deployment) []string {
			var p []string
			check := func(ref string, i, line int, what string) {
				switch {
				case ref == "scratch" || d.docker.isStage(ref, i):
				case strings.Contains(ref, "$"):
					p = append(p, fmt.Sprintf("Dockerfile:%d: %s %s uses a build argument; pin the image literally", line, what, ref))
				case !pinned(ref):
					p = append(p, fmt.Sprintf("Dockerfile:%d: %s %s is not pinned (give a version tag, not latest or none)", line, what, ref))
				}
			}
			for i, st := range d.docker.stages {
				check(st.from, i, st.line, "FROM")
				for _, in := range st.instructions {
					if m := copyFrom.FindStringSubmatch(in.args); in.cmd == "COPY" && m != nil && !isDigits(m[1]) {
						check(m[1], i, in.line, "COPY --from")
					}
				}
			}
			return p
		},
		breaks: []breakage{
			{dockerfileName, "FROM golang:1.26-bookworm AS build", "FROM golang AS build", "FROM golang is not pinned"},
			{dockerfileName, "FROM gcr.io/distroless/static-debian12:nonroot", "FROM gcr.io/distroless/static-debian12:latest", "static-debian12:latest is not pinned"},
			{dockerfileName, "COPY --from=build /out/", "COPY --from=alpine /out/", "COPY --from alpine is not pinned"},
		},
	},
	{
		name:  "the Dockerfile downloads nothing unchecked",
		needs: needsDockerfile,
		check: func(d *deployment) []string {
			var p []string
			for _, st := range d.docker.stages {
				for _, in := range st.instructions {
					if in.cmd == "ADD" && urlArg.MatchString(in.args) {
						p = append(p, fmt.Sprintf("Dockerfile:%d: ADD of a URL; download with a checksum in a RUN step instead", in.line))
					}
				}
			}
			return p
		},
		breaks: []breakage{
			{dockerfileName, "WORKDIR /src\n", "WORKDIR /src\nADD https://example.com/tool.tar.gz /tmp/\n", "ADD of a URL"},
		},
	},
	{
		name:  "the image runs as a non-root user",
		needs: needsDockerfile,
		check: func(d *deployment) []string {
			final := d.docker.final()
			user := ""
			for _, in := range final.instructions {
				if in.cmd == "USER" {
					user = in.args
				}
			}
			name, _, _ := strings.Cut(user, ":")
			if (user == "" && !strings.Contains(final.from, ":nonroot")) || name == "root" || name == "0" {
				return []string{"Dockerfile: the final stage runs as root (add USER or use a :nonroot base)"}
			}
			return nil
		},
		breaks: []breakage{
			{dockerfileName, "USER 65532:65532", "USER root", "final stage runs as root"},
			{dockerfileName, "USER 65532:65532", "USER 0:0", "final stage runs as root"},
		},
	},
	{
		name:  "module downloads are a layer of their own",
		needs: needsDockerfile,
		check: func(d *deployment) []string {
			for _, st := range d.docker.stages {
				modFiles, download := false, false
				for _, in := range st.instructions {
					switch {
					case in.cmd == "COPY" && strings.Contains(in.args, "go.mod") && !download:
						modFiles = true
					case in.cmd == "RUN" && strings.Contains(in.args, "go mod download") && modFiles:
						download = true
					case in.cmd == "COPY" && copiesAll(in.args) && download:
						return nil
					}
				}
			}
			return []string{"Dockerfile: no separate 'go mod download' layer between COPY go.mod go.sum and COPY . (dependencies re-download on every source change)"}
		},
		breaks: []breakage{
			{dockerfileName, "RUN go mod download", "", "no separate 'go mod download' layer"},
			{dockerfileName, "RUN go mod download\n\nCOPY . .", "COPY . .\nRUN go mod download", "no separate 'go mod download' layer"},
		},
	},
	{
		name:  "the image has no ENTRYPOINT: compose's command names the program",
		needs: needsDockerfile,
		check: func(d *deployment) []string {
			for _, in := range d.docker.final().instructions {
				if in.cmd == "ENTRYPOINT" {
					return []string{fmt.Sprintf("Dockerfile:%d: ENTRYPOINT %s: the services' command [\"collector\"] would become its argument", in.line, in.args)}
				}
			}
			return nil
		},
		breaks: []breakage{
			{dockerfileName, "USER 65532:65532", "USER 65532:65532\nENTRYPOINT [\"/usr/local/bin/teller\"]", "ENTRYPOINT"},
		},
	},
}

// validator is a configuration that checks itself before any I/O.
type validator interface{ Validate() error }

// wholeRequiredVar is a value that is nothing but ${VAR:?message}.
var wholeRequiredVar = regexp.MustCompile(`^\$\{[A-Za-z_][A-Za-z0-9_]*:\?[^}]*\}$`)

// urlArg is an ADD source that is downloaded.
var urlArg = regexp.MustCompile(`(?i)https?://`)

// copyFrom is COPY's --from=SOURCE.
var copyFrom = regexp.MustCompile(`--from=(\S+)`)

func isDigits(s string) bool { return strings.Trim(s, "0123456789") == "" }

// copiesAll reports a COPY of the whole build context (COPY . .).
func copiesAll(args string) bool {
	var srcs []string
	for _, w := range strings.Fields(args) {
		if !strings.HasPrefix(w, "--") {
			srcs = append(srcs, w)
		}
	}
	for _, s := range srcs[:max(len(srcs)-1, 0)] {
		if s == "." || s == "./" {
			return true
		}
	}
	return false
}

// required lists the service's flags that must be given: those whose help
// ends with "required", and, when the configuration validates itself, those
// whose absence from the environment makes validation fail.
func (s *tellerService) required() []string {
	req := map[string]bool{}
	s.fs.VisitAll(func(f *flag.Flag) {
		if strings.HasSuffix(strings.TrimSuffix(f.Usage, ")"), "required") {
			req[f.Name] = true
		}
	})
	if v, ok := s.cfg.(validator); ok && s.parseErr == nil && v.Validate() == nil {
		env := s.spec.Environment.strings()
		s.fs.VisitAll(func(f *flag.Flag) {
			name := config.EnvName(f.Name)
			if _, set := env[name]; !set {
				return
			}
			without := map[string]string{}
			for k, v := range env {
				if k != name {
					without[k] = v
				}
			}
			// Only secrets: a user name that goes with a password (such
			// as -accounts-clickhouse-user) fails Validate when removed
			// alone, but a default for it is no shared secret.
			if !config.IsSecret(f.Name) {
				return
			}
			cfg, _, err := s.newConfig(without)
			if v, ok := cfg.(validator); ok && err == nil && v.Validate() != nil {
				req[f.Name] = true
			}
		})
	}
	return sortedKeys(req)
}

// advertises reports whether a Kafka listener list (NAME://host:port,...)
// has addr.
func advertises(listeners, addr string) bool {
	for _, l := range strings.Split(listeners, ",") {
		if _, hp, ok := strings.Cut(strings.TrimSpace(l), "://"); ok && hp == addr {
			return true
		}
	}
	return false
}

type hostPort struct{ host, port string }

func (a hostPort) String() string { return net.JoinHostPort(a.host, a.port) }

// addresses is the flag's effective host:port list, nil if the service
// has no such flag.
func (s *tellerService) addresses(flagName string) []hostPort {
	v, ok := s.value(flagName)
	if !ok {
		return nil
	}
	var out []hostPort
	for _, a := range strings.Split(v, ",") {
		if host, port, err := net.SplitHostPort(strings.TrimSpace(a)); err == nil {
			out = append(out, hostPort{host, port})
		} else if a != "" {
			out = append(out, hostPort{host: a})
		}
	}
	return out
}

// eachService runs check on every Teller service of the compose file.
func eachService(check func(d *deployment, s *tellerService) []string) func(d *deployment) []string {
	return func(d *deployment) []string {
		var p []string
		for _, s := range sortedServices(d) {
			p = append(p, check(d, s)...)
		}
		return p
	}
}

func sortedServices(d *deployment) []*tellerService {
	var out []*tellerService
	for _, name := range sortedKeys(d.services) {
		out = append(out, d.services[name])
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// run applies r to d, or returns nil if r's input could not be read.
func (r rule) run(d *deployment) []string {
	if (r.needs&needsCompose != 0 && d.compose == nil) || (r.needs&needsDockerfile != 0 && d.docker == nil) {
		return nil
	}
	return r.check(d)
}

// TestDeployment checks the repository's docker-compose.yml and Dockerfile.
func TestDeployment(t *testing.T) {
	root := repoRoot(t)
	d := loadDeployment(t, filepath.Join(root, composeName), filepath.Join(root, dockerfileName))
	for _, r := range rules {
		t.Run(r.name, func(t *testing.T) {
			for _, p := range r.run(d) {
				t.Error(p)
			}
		})
	}
}

// TestRulesCatchBreakages breaks copies of the files, one breakage at a
// time: the rule must fail and say what is wrong. If a breakage's text is
// no longer found, docker-compose.yml or the Dockerfile changed: update the
// breakage.
func TestRulesCatchBreakages(t *testing.T) {
	root := repoRoot(t)
	for _, r := range rules {
		if len(r.breaks) == 0 {
			t.Errorf("rule %q has no breakage that proves it can fail", r.name)
		}
		for i, b := range r.breaks {
			t.Run(fmt.Sprintf("%s/%d", r.name, i), func(t *testing.T) {
				t.Parallel()
				src, err := os.ReadFile(filepath.Join(root, b.file))
				if err != nil {
					t.Fatal(err)
				}
				if n := strings.Count(string(src), b.old); n != 1 {
					t.Fatalf("the text to break occurs %d times in %s, want once (update this breakage): %q", n, b.file, b.old)
				}
				broken := filepath.Join(t.TempDir(), b.file)
				if err := os.WriteFile(broken, []byte(strings.Replace(string(src), b.old, b.new, 1)), 0o644); err != nil {
					t.Fatal(err)
				}
				composePath, dockerPath := filepath.Join(root, composeName), filepath.Join(root, dockerfileName)
				if b.file == composeName {
					composePath = broken
				} else {
					dockerPath = broken
				}
				d := loadDeployment(t, composePath, dockerPath)
				problems := r.run(d)
				for _, p := range problems {
					if strings.Contains(p, b.want) {
						return
					}
				}
				t.Errorf("replacing %q with %q: rule %q did not say %q; it said %q", b.old, b.new, r.name, b.want, problems)
			})
		}
	}
}
