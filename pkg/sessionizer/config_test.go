package sessionizer

import (
	"bufio"
	"flag"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/teller-analytics/teller/pkg/bus"
	"github.com/teller-analytics/teller/pkg/config"
	"github.com/teller-analytics/teller/pkg/site"
	"github.com/teller-analytics/teller/pkg/store"
)

// parseFlags registers the flags on a fresh set and parses args.
func parseFlags(t *testing.T, args ...string) (Config, *flag.FlagSet) {
	t.Helper()
	var c Config
	fs := flag.NewFlagSet("sessionizer", flag.ContinueOnError)
	c.RegisterFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return c, fs
}

func TestFlagsStartFromDefaultConfig(t *testing.T) {
	c, _ := parseFlags(t)
	if c != DefaultConfig() {
		t.Fatalf("flags without arguments give %+v, DefaultConfig is %+v", c, DefaultConfig())
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("the defaults do not validate: %v", err)
	}
}

// Every value set is honoured as it is; impossible ones are refused before
// any I/O, with a message naming the flag.
func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want []string // the messages, in order; none when valid
	}{
		{name: "defaults"},
		{name: "zero disorder is honoured", args: []string{"-allowed-disorder=0"}},
		{name: "short intervals", args: []string{"-flush-interval=1ms", "-checkpoint-interval=1ms", "-max-batch=1", "-shutdown-timeout=1ms"}},
		{name: "a checkpoint interval under the flush interval", args: []string{"-flush-interval=2s", "-checkpoint-interval=1s"}},
		{name: "zero gap", args: []string{"-session-gap=0"}, want: []string{"-session-gap must be > 0, got 0s"}},
		{name: "negative gap", args: []string{"-session-gap=-30m"}, want: []string{"-session-gap must be > 0, got -30m0s"}},
		{name: "zero maximum length", args: []string{"-session-max-length=0s"}, want: []string{"-session-max-length must be > 0, got 0s"}},
		{name: "negative disorder", args: []string{"-allowed-disorder=-1s"}, want: []string{"-allowed-disorder must be >= 0, got -1s"}},
		{name: "zero skew, no open-session cap, no id record are honoured", args: []string{"-max-clock-skew=0", "-max-open-sessions=0", "-remember-ids=0"}},
		{name: "negative skew", args: []string{"-max-clock-skew=-1s"}, want: []string{"-max-clock-skew must be >= 0, got -1s"}},
		{name: "negative open-session cap", args: []string{"-max-open-sessions=-1"}, want: []string{"-max-open-sessions must be >= 0, got -1"}},
		{name: "negative id record", args: []string{"-remember-ids=-5"}, want: []string{"-remember-ids must be >= 0, got -5"}},
		{name: "a longest site gap", args: []string{"-max-site-session-gap=2h"}},
		{name: "negative longest site gap", args: []string{"-max-site-session-gap=-1m"}, want: []string{"-max-site-session-gap must be >= 0, got -1m0s"}},
		{name: "empty group", args: []string{"-kafka-group="}, want: []string{`-kafka-group must be a consumer group name, got ""`}},
		{name: "zero flush interval", args: []string{"-flush-interval=0"}, want: []string{"-flush-interval must be > 0, got 0s"}},
		{name: "negative checkpoint interval", args: []string{"-checkpoint-interval=-1m"}, want: []string{"-checkpoint-interval must be > 0, got -1m0s"}},
		{name: "zero batch", args: []string{"-max-batch=0"}, want: []string{"-max-batch must be > 0, got 0"}},
		{name: "zero shutdown timeout", args: []string{"-shutdown-timeout=0"}, want: []string{"-shutdown-timeout must be > 0, got 0s"}},
		{name: "short call bounds", args: []string{"-clickhouse-timeout=10ms", "-stuck-timeout=11ms", "-kafka-timeout=1ms", "-checkpoint-interval=1s", "-ready-checkpoint-age=1001ms"}},
		{name: "zero ClickHouse timeout", args: []string{"-clickhouse-timeout=0"}, want: []string{"-clickhouse-timeout must be > 0, got 0s"}},
		{name: "zero Kafka timeout", args: []string{"-kafka-timeout=0"}, want: []string{"-kafka-timeout must be > 0, got 0s"}},
		{name: "leaving before one call can time out", args: []string{"-clickhouse-timeout=1m", "-stuck-timeout=1m"},
			want: []string{"-stuck-timeout must be longer than -clickhouse-timeout (1m0s), got 1m0s"}},
		{name: "not ready within one checkpoint interval", args: []string{"-checkpoint-interval=10m"},
			want: []string{"-ready-checkpoint-age must be longer than -checkpoint-interval (10m0s), got 5m0s"}},
		{name: "a garbage collector target and memory limit", args: []string{"-gc-percent=10", "-memory-limit-mib=512"}},
		{name: "a garbage collector target too low", args: []string{"-gc-percent=9"}, want: []string{"-gc-percent must be >= 10, got 9"}},
		{name: "a negative memory limit", args: []string{"-memory-limit-mib=-1"},
			want: []string{"-memory-limit-mib must be >= 0 (0: a share of the memory available), got -1"}},
		{name: "every mistake is reported at once",
			args: []string{"-max-batch=-5", "-session-gap=0", "-allowed-disorder=-2m"},
			want: []string{"-max-batch must be > 0, got -5", "-session-gap must be > 0, got 0s", "-allowed-disorder must be >= 0, got -2m0s"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, fs := parseFlags(t, tt.args...)
			err := c.Validate()
			var got []string
			if err != nil {
				got = strings.Split(err.Error(), "\n")
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Fatalf("Validate: %q, want %q", got, tt.want)
			}
			for _, msg := range got {
				name := strings.TrimPrefix(strings.Fields(msg)[0], "-")
				if fs.Lookup(name) == nil {
					t.Errorf("%q names no flag of the sessionizer", msg)
				}
			}
		})
	}
}

// New applies the configuration as it is, zero disorder included, and
// refuses what Validate refuses. It does no I/O, so the store and registry
// are never connected.
func TestNewHonoursTheConfig(t *testing.T) {
	opts := func(c Config) Options {
		return Options{Config: c, Kafka: bus.Config{Brokers: config.StringList{"127.0.0.1:1"}, Topic: "events"},
			Store: &store.DB{}, Sites: site.NewRegistry(nil, time.Hour, nil)}
	}
	c, _ := parseFlags(t, "-allowed-disorder=0", "-session-gap=10m", "-split-at-midnight")
	s, err := New(opts(c))
	if err != nil {
		t.Fatal(err)
	}
	if s.rules != c.Rules || s.rules.Disorder != 0 || s.rules.Gap != 10*time.Minute || !s.rules.SplitAtMidnight {
		t.Fatalf("rules in use %+v, configured %+v", s.rules, c.Rules)
	}
	if s.opts.Config != c {
		t.Fatalf("config in use %+v, configured %+v", s.opts.Config, c)
	}
	c, _ = parseFlags(t, "-session-max-length=0")
	if _, err := New(opts(c)); err == nil || !strings.Contains(err.Error(), "-session-max-length must be > 0") {
		t.Fatalf("New with a zero maximum length: %v", err)
	}
	if _, err := New(opts(Config{})); err == nil {
		t.Fatal("New accepted the zero Config")
	}
}

// The README's configuration table documents every sessionizer flag with
// the flag's own default, so the docs cannot drift from DefaultConfig.
func TestREADMEDocumentsFlagDefaults(t *testing.T) {
	f, err := os.Open("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	documented := map[string]string{} // flag name -> default column
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// | `TELLER_X` | `-x` | used by | `default` | meaning |
		cols := strings.Split(sc.Text(), "|")
		if len(cols) < 6 || !strings.HasPrefix(strings.TrimSpace(cols[1]), "`TELLER_") {
			continue
		}
		name := strings.TrimPrefix(strings.Trim(strings.TrimSpace(cols[2]), "`"), "-")
		documented[name] = strings.Trim(strings.TrimSpace(cols[4]), "`")
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	_, fs := parseFlags(t)
	fs.VisitAll(func(fl *flag.Flag) {
		doc, ok := documented[fl.Name]
		if !ok {
			t.Errorf("README.md's configuration table has no row for -%s", fl.Name)
			return
		}
		if d, isDuration := fl.Value.(flag.Getter).Get().(time.Duration); isDuration {
			if parsed, err := time.ParseDuration(doc); err != nil || parsed != d {
				t.Errorf("README.md documents -%s with default %q, the flag's is %s", fl.Name, doc, d)
			}
		} else if doc != fl.DefValue {
			t.Errorf("README.md documents -%s with default %q, the flag's is %q", fl.Name, doc, fl.DefValue)
		}
	})
}

// A member's partitions start at different points of their first
// checkpoint interval, each within it, no two of the first eight within an
// eighth of an interval of each other's.
func TestCheckpointPhasesSpreadPartitions(t *testing.T) {
	const interval = time.Minute
	var phases []time.Duration
	for p := range 8 {
		ph := checkpointPhase(p, interval)
		if ph < 0 || ph >= interval {
			t.Fatalf("partition %d: phase %v outside [0, %v)", p, ph, interval)
		}
		for q, other := range phases {
			if d := (ph - other).Abs(); d < interval/16 {
				t.Fatalf("partitions %d and %d checkpoint %v apart", q, p, d)
			}
		}
		phases = append(phases, ph)
	}
}
