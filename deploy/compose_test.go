// Package deploy holds the container deployment's tests. docker-compose.yml
// and the Dockerfile at the repository root are checked without a Docker
// engine: one `docker-compose config` (or `docker compose config`) call
// interpolates and validates the compose file, a YAML decoder reads the result
// into the types below, and the rules in rules_test.go (a table, each rule
// with a breakage that proves it can fail) check it against the Dockerfile,
// cmd/ and the services' own flag definitions in pkg/app.
package deploy

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/goccy/go-yaml"

	"github.com/teller-analytics/teller/pkg/app"
	"github.com/teller-analytics/teller/pkg/config"
)

// repoRoot is the repository root, found from this file's location so the
// test works from any directory.
func repoRoot(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot locate compose_test.go")
	}
	return filepath.Dir(filepath.Dir(file))
}

// flagged is a Teller service configuration (app.CollectorConfig, ...).
type flagged interface{ RegisterFlags(*flag.FlagSet) }

// tellerServices are the compose services that run a Teller program, with
// the configuration whose flags that program reads (cmd/<name> runs it).
var tellerServices = []struct {
	name   string
	config func() flagged
}{
	{"collector", func() flagged { return &app.CollectorConfig{} }},
	{"sessionizer", func() flagged { return &app.SessionizerConfig{} }},
	{"dashboard", func() flagged { return &app.DashboardConfig{} }},
}

// backingServices are the third-party services the Teller services use.
var backingServices = []string{"kafka", "clickhouse"}

// composeCLI is the Compose command that parses files: $COMPOSE if set (for
// example "docker compose" to try v2 where both are installed), else
// docker-compose (v1, Debian's package), else the docker compose plugin (v2).
// Without one the checks fail rather than skip: they would silently not run.
func composeCLI() ([]string, error) {
	if c := strings.Fields(os.Getenv("COMPOSE")); len(c) > 0 {
		return c, nil
	}
	if _, err := exec.LookPath("docker-compose"); err == nil {
		return []string{"docker-compose"}, nil
	}
	if exec.Command("docker", "compose", "version").Run() == nil {
		return []string{"docker", "compose"}, nil
	}
	return nil, errors.New("no Compose CLI: apt-get install docker-compose, or install the docker compose plugin " +
		"(scripts/install-deps.sh test does; no Docker engine is needed, only the CLI that parses compose files)")
}

// requiredVar matches ${VAR:?message}: compose refuses to run without VAR.
var requiredVar = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*):\?([^}]*)\}`)

// referencedVar matches $VAR and ${VAR...} but not the escaped $$VAR.
var referencedVar = regexp.MustCompile(`(?:^|[^$])\$\{?([A-Za-z_][A-Za-z0-9_]*)`)

// dummy is the value a required variable gets during the check: long enough
// for every secret's minimum length.
func dummy(name string) string { return "dummy-" + name + "-0123456789abcdef" }

// composeConfig runs `compose config` once on path: variables the file
// refers to are removed from the environment (a developer's own settings and
// .env must not change what is checked), and each ${VAR:?} gets a dummy.
func composeConfig(t testing.TB, path string, raw []byte) ([]byte, error) {
	t.Helper()
	root := repoRoot(t)
	referenced := map[string]bool{}
	for _, m := range referencedVar.FindAllStringSubmatch(string(raw), -1) {
		referenced[m[1]] = true
	}
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if !referenced[name] && !strings.HasPrefix(name, "TELLER_") && !strings.HasPrefix(name, "COMPOSE_") {
			env = append(env, kv)
		}
	}
	for _, m := range requiredVar.FindAllStringSubmatch(string(raw), -1) {
		env = append(env, m[1]+"="+dummy(m[1]))
	}
	emptyEnv := filepath.Join(t.TempDir(), "empty.env")
	if err := os.WriteFile(emptyEnv, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	cli, err := composeCLI()
	if err != nil {
		return nil, err
	}
	args := slices.Concat(cli[1:], []string{"--env-file", emptyEnv, "--project-directory", root, "-f", path, "config"})
	cmd := exec.Command(cli[0], args...)
	cmd.Dir = t.TempDir() // nothing may depend on the working directory
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s config rejects %s (%v): %s", strings.Join(cli, " "), filepath.Base(path), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.Bytes(), nil
}

// repoCompose is the repository's compose file as `compose config` prints
// it: compose runs once for all the tests that check the real file.
var repoCompose struct {
	once sync.Once
	out  []byte
	err  error
}

// deployment is what the rules check.
type deployment struct {
	root string
	// compose is the file as `compose config` prints it: interpolated,
	// merged, normalized. Nil when composeErr is set.
	compose *composeFile
	// raw is the file as written, before interpolation (${VAR:?...} intact).
	raw *composeFile
	// rawText is the file's text.
	rawText    string
	composeErr error

	docker    *dockerfile
	dockerErr error

	// commands are the names NAME of cmd/NAME/main.go.
	commands []string
	// services are the Teller services found in compose, by name.
	services map[string]*tellerService
}

// tellerService is a Teller service of the compose file with its flags
// parsed the way the program would: command arguments, then the TELLER_
// environment compose gives it, over the flags' defaults.
type tellerService struct {
	name     string
	spec     composeService
	raw      composeService
	fs       *flag.FlagSet
	cfg      flagged
	parseErr error
	// newConfig parses a fresh configuration with env in place of the
	// service's environment (to find the settings its validation needs).
	newConfig func(env map[string]string) (flagged, *flag.FlagSet, error)
}

// value is the effective value of flag name; false if the service has no
// such flag.
func (s *tellerService) value(name string) (string, bool) {
	f := s.fs.Lookup(name)
	if f == nil {
		return "", false
	}
	return f.Value.String(), true
}

// loadDeployment reads a compose file and a Dockerfile (the repository's, or
// broken copies) with the repository's cmd/.
func loadDeployment(t testing.TB, composePath, dockerfilePath string) *deployment {
	t.Helper()
	d := &deployment{root: repoRoot(t), services: map[string]*tellerService{}}
	d.loadCompose(t, composePath)
	if src, err := os.ReadFile(dockerfilePath); err != nil {
		d.dockerErr = err
	} else if d.docker, err = parseDockerfile(string(src)); err != nil {
		d.dockerErr = fmt.Errorf("Dockerfile: %w", err)
	}
	mains, err := filepath.Glob(filepath.Join(d.root, "cmd", "*", "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range mains {
		d.commands = append(d.commands, filepath.Base(filepath.Dir(m)))
	}
	sort.Strings(d.commands)
	return d
}

func (d *deployment) loadCompose(t testing.TB, path string) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		d.composeErr = err
		return
	}
	d.rawText = string(raw)
	var out []byte
	if path == filepath.Join(d.root, composeName) {
		repoCompose.once.Do(func() { repoCompose.out, repoCompose.err = composeConfig(t, path, raw) })
		out, err = repoCompose.out, repoCompose.err
	} else {
		out, err = composeConfig(t, path, raw)
	}
	if err != nil {
		d.composeErr = err
		return
	}
	d.compose, d.raw = &composeFile{}, &composeFile{}
	if err := yaml.Unmarshal(out, d.compose); err != nil {
		d.composeErr = fmt.Errorf("reading the normalized compose config: %w", err)
		return
	}
	if err := yaml.Unmarshal(raw, d.raw); err != nil {
		d.composeErr = fmt.Errorf("reading %s: %w", filepath.Base(path), err)
		return
	}
	d.loadServices()
}

// loadServices parses the Teller services of d.compose (named as in
// tellerServices) into d.services.
func (d *deployment) loadServices() {
	for _, ts := range tellerServices {
		spec, ok := d.compose.Services[ts.name]
		if !ok {
			continue
		}
		s := &tellerService{name: ts.name, spec: spec, raw: d.raw.Services[ts.name]}
		var args []string
		if len(spec.Command) > 1 {
			args = spec.Command[1:]
		}
		s.newConfig = func(env map[string]string) (flagged, *flag.FlagSet, error) {
			cfg := ts.config()
			fs := flag.NewFlagSet(ts.name, flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			cfg.RegisterFlags(fs)
			err := config.Parse(fs, args, func(k string) string { return env[k] })
			return cfg, fs, err
		}
		s.cfg, s.fs, s.parseErr = s.newConfig(spec.Environment.strings())
		d.services[ts.name] = s
	}
}

// ---- the compose file's types -------------------------------------------------
//
// Each accepts the forms the Compose Specification allows, so the same types
// read the file as written and both CLIs' normalized output (v1 prints short
// port and volume syntax and keeps numbers, v2 prints the long syntax).

type composeFile struct {
	Services map[string]composeService `yaml:"services"`
	Volumes  map[string]any            `yaml:"volumes"`
}

type composeService struct {
	Image           string       `yaml:"image"`
	Build           *buildSpec   `yaml:"build"`
	Command         stringList   `yaml:"command"`
	Environment     environment  `yaml:"environment"`
	Ports           []portSpec   `yaml:"ports"`
	Volumes         []volumeSpec `yaml:"volumes"`
	DependsOn       dependsOn    `yaml:"depends_on"`
	Healthcheck     *healthcheck `yaml:"healthcheck"`
	StopGracePeriod string       `yaml:"stop_grace_period"`
}

// scalar is a YAML scalar as text: compose values may be strings, numbers
// or booleans (KAFKA_NODE_ID: 1).
type scalar string

func (s *scalar) UnmarshalYAML(unmarshal func(any) error) error {
	var v any
	if err := unmarshal(&v); err != nil {
		return err
	}
	switch v := v.(type) {
	case nil:
		*s = ""
	case string:
		*s = scalar(v)
	case map[string]any, []any:
		return fmt.Errorf("want a scalar, got %T", v)
	default:
		*s = scalar(fmt.Sprint(v))
	}
	return nil
}

// environment is a service's variables, from the map or the ["K=V"] form.
type environment map[string]scalar

func (e *environment) UnmarshalYAML(unmarshal func(any) error) error {
	var list []string
	if unmarshal(&list) == nil {
		*e = environment{}
		for _, kv := range list {
			k, v, _ := strings.Cut(kv, "=")
			(*e)[k] = scalar(v)
		}
		return nil
	}
	var m map[string]scalar
	if err := unmarshal(&m); err != nil {
		return err
	}
	*e = m
	return nil
}

func (e environment) strings() map[string]string {
	m := make(map[string]string, len(e))
	for k, v := range e {
		m[k] = string(v)
	}
	return m
}

// stringList is a command or health check: a list, or one string that a
// shell splits (here: at spaces, which is enough to name the program).
type stringList []string

func (l *stringList) UnmarshalYAML(unmarshal func(any) error) error {
	var s string
	if unmarshal(&s) == nil {
		*l = strings.Fields(s)
		return nil
	}
	var list []string
	if err := unmarshal(&list); err != nil {
		return err
	}
	*l = list
	return nil
}

// buildSpec is `build: DIR` or `build: {context: DIR, dockerfile: FILE}`.
type buildSpec struct {
	Context    string `yaml:"context"`
	Dockerfile string `yaml:"dockerfile"`
}

func (b *buildSpec) UnmarshalYAML(unmarshal func(any) error) error {
	var s string
	if unmarshal(&s) == nil {
		b.Context = s
		return nil
	}
	type plain buildSpec
	return unmarshal((*plain)(b))
}

// portSpec is a published port: "[[IP:]HOST:]CONTAINER[/PROTO]" or
// {host_ip, published, target, protocol}.
type portSpec struct {
	HostIP    string `yaml:"host_ip"`
	Published scalar `yaml:"published"`
	Target    scalar `yaml:"target"`
	text      string
}

func (p *portSpec) UnmarshalYAML(unmarshal func(any) error) error {
	var s scalar
	if unmarshal(&s) == nil {
		p.text = string(s)
		spec, _, _ := strings.Cut(string(s), "/")
		parts := strings.Split(spec, ":")
		p.Target = scalar(parts[len(parts)-1])
		if len(parts) >= 2 {
			p.Published = scalar(parts[len(parts)-2])
		}
		if len(parts) >= 3 {
			p.HostIP = strings.Join(parts[:len(parts)-2], ":")
		}
		return nil
	}
	type plain portSpec
	if err := unmarshal((*plain)(p)); err != nil {
		return err
	}
	p.text = fmt.Sprintf("%s:%s", p.Published, p.Target)
	if p.HostIP != "" {
		p.text = p.HostIP + ":" + p.text
	}
	return nil
}

func (p portSpec) String() string { return p.text }

// volumeSpec is a mount: "SOURCE:TARGET[:MODE]" or {type, source, target}.
type volumeSpec struct {
	Type   string `yaml:"type"`
	Source string `yaml:"source"`
	Target string `yaml:"target"`
}

func (v *volumeSpec) UnmarshalYAML(unmarshal func(any) error) error {
	var s string
	if unmarshal(&s) == nil {
		parts := strings.Split(s, ":")
		switch {
		case len(parts) == 1:
			v.Type, v.Target = "volume", parts[0] // anonymous volume
		default:
			v.Source, v.Target = parts[0], parts[1]
			v.Type = "volume"
			if v.Source == "" || strings.ContainsAny(v.Source[:1], "/.~$") {
				v.Type = "bind" // a path, not a volume name
			}
		}
		return nil
	}
	type plain volumeSpec
	return unmarshal((*plain)(v))
}

// named reports a named volume (data that outlives the container and is
// not a host folder).
func (v volumeSpec) named() bool { return v.Type == "volume" && v.Source != "" }

// dependsOn maps each dependency to its condition; the list form means
// service_started.
type dependsOn map[string]string

func (d *dependsOn) UnmarshalYAML(unmarshal func(any) error) error {
	*d = dependsOn{}
	var list []string
	if unmarshal(&list) == nil {
		for _, s := range list {
			(*d)[s] = "service_started"
		}
		return nil
	}
	var m map[string]struct {
		Condition string `yaml:"condition"`
	}
	if err := unmarshal(&m); err != nil {
		return err
	}
	for s, c := range m {
		if c.Condition == "" {
			c.Condition = "service_started"
		}
		(*d)[s] = c.Condition
	}
	return nil
}

type healthcheck struct {
	Test    stringList `yaml:"test"`
	Disable bool       `yaml:"disable"`
}

// stopGrace is how long compose waits after SIGTERM before it kills the
// container (its default is 10 s).
func (s composeService) stopGrace() (time.Duration, error) {
	if s.StopGracePeriod == "" {
		return 10 * time.Second, nil
	}
	d, err := time.ParseDuration(s.StopGracePeriod)
	if err != nil {
		return 0, fmt.Errorf("stop_grace_period %q: %w", s.StopGracePeriod, err)
	}
	return d, nil
}
