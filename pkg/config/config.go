// Package config owns Teller's configuration contract: every setting is a
// command-line flag, most with an environment-variable fallback. A flag given
// on the command line wins over the environment, which wins over the default.
//
// Which variable backs a flag is decided here, by an Env naming rule:
//   - Services: TELLER_<FLAG> (flag -clickhouse-addr falls back to
//     TELLER_CLICKHOUSE_ADDR); see Service.
//   - Tools with flags of their own (the dev mode, the load generator) use
//     their own prefix, TELLER_<TOOL>_<FLAG> (Prefixed), so a shell set up for
//     the services does not change them and a variable says whose it is.
//   - One-shot commands keep their per-call flags (-id, -domain, -url...)
//     out of the environment (Except): TELLER_ID would say nothing.
//
// Components register their own flags (see RegisterFlags methods across pkg/);
// this package applies the environment overlay, prints help that names each
// variable, prints the effective configuration without secrets, and marks
// configuration errors (ErrUsage, exit status 2). It holds no global state.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"sort"
	"strconv"
	"strings"
)

// EnvName is the environment variable that backs the service flag called name.
func EnvName(flagName string) string {
	return "TELLER_" + envSuffix(flagName)
}

func envSuffix(flagName string) string {
	return strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// Env names the environment variable backing a flag; "" means the flag has
// none.
type Env func(flagName string) string

// Service is the services' rule: every flag falls back to TELLER_<FLAG>.
func Service(flagName string) string { return EnvName(flagName) }

// Prefixed is a tool's rule: every flag falls back to TELLER_<PREFIX>_<FLAG>
// (Prefixed("loadgen"): -rate falls back to TELLER_LOADGEN_RATE).
func Prefixed(prefix string) Env {
	p := "TELLER_" + envSuffix(prefix) + "_"
	return func(flagName string) string { return p + envSuffix(flagName) }
}

// Except is env without a variable for the flags named local.
func Except(env Env, local ...string) Env {
	skip := map[string]bool{}
	for _, name := range local {
		skip[name] = true
	}
	return func(flagName string) string {
		if skip[flagName] {
			return ""
		}
		return env(flagName)
	}
}

// ErrUsage marks configuration errors: a bad flag or variable, a missing
// required setting. Commands exit with status 2 on them.
var ErrUsage = errors.New("invalid configuration")

// Invalid marks err as a configuration error (errors.Is(err, ErrUsage)); its
// message stays err's. Nil stays nil.
func Invalid(err error) error {
	if err == nil || errors.Is(err, ErrUsage) {
		return err
	}
	return usageError{err}
}

type usageError struct{ err error }

func (e usageError) Error() string   { return e.err.Error() }
func (e usageError) Unwrap() []error { return []error{ErrUsage, e.err} }

// Parse is ParseEnv with the services' rule, Service.
func Parse(fs *flag.FlagSet, args []string, getenv func(string) string) error {
	return ParseEnv(fs, args, getenv, Service)
}

// ParseEnv parses args into fs, then fills every flag not given on the
// command line from the variable env names for it, if that is set and
// non-empty. getenv is usually os.Getenv; tests pass their own.
//
// It returns flag.ErrHelp after printing usage when -help or -h is given;
// other errors are configuration errors (ErrUsage) naming the flag or
// variable.
func ParseEnv(fs *flag.FlagSet, args []string, getenv func(string) string, env Env) error {
	fs.Usage = func() { PrintUsageEnv(fs.Output(), fs, env) }
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return Invalid(err)
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		name := env(f.Name)
		if given[f.Name] || name == "" {
			return
		}
		v := getenv(name)
		if v == "" {
			return
		}
		if err := fs.Set(f.Name, v); err != nil {
			errs = append(errs, fmt.Errorf("environment %s=%q: %w", name, v, err))
		}
	})
	return Invalid(errors.Join(errs...))
}

// Given reports whether the flag got a value from the command line or the
// environment (after Parse), as opposed to its default.
func Given(fs *flag.FlagSet, name string) bool {
	given := false
	fs.Visit(func(f *flag.Flag) { given = given || f.Name == name })
	return given
}

// PrintUsage is PrintUsageEnv with the services' rule.
func PrintUsage(w io.Writer, fs *flag.FlagSet) { PrintUsageEnv(w, fs, Service) }

// PrintUsageEnv writes one line per flag: name, environment variable, default
// and description, sorted by name.
func PrintUsageEnv(w io.Writer, fs *flag.FlagSet, env Env) {
	fmt.Fprintf(w, "Usage of %s:\n", fs.Name())
	for _, f := range sorted(fs) {
		def := f.DefValue
		if def == "" {
			def = `""`
		}
		where := "no environment variable"
		if name := env(f.Name); name != "" {
			where = "env " + name
		}
		fmt.Fprintf(w, "  -%s (%s, default %s)\n      %s\n", f.Name, where, def, f.Usage)
	}
}

func sorted(fs *flag.FlagSet) []*flag.Flag {
	var flags []*flag.Flag
	fs.VisitAll(func(f *flag.Flag) { flags = append(flags, f) })
	sort.Slice(flags, func(i, j int) bool { return flags[i].Name < flags[j].Name })
	return flags
}

// IsSecret reports whether a flag holds a secret, which -check-config and
// logs never print: its name ends in -password or -secret (the convention
// every Teller flag follows: -clickhouse-password, -cookie-secret, ...).
func IsSecret(flagName string) bool {
	return strings.HasSuffix(flagName, "password") || strings.HasSuffix(flagName, "secret")
}

// PrintEffective writes the configuration fs holds after Parse, one flag a
// line with where its value came from (flag or variable, or default).
// Secrets (IsSecret) print as "(set)" or "(empty)", never their value.
func PrintEffective(w io.Writer, fs *flag.FlagSet, env Env) {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	for _, f := range sorted(fs) {
		v := f.Value.String()
		switch {
		case IsSecret(f.Name) && v == "":
			v = "(empty)"
		case IsSecret(f.Name):
			v = "(set)"
		default:
			v = fmt.Sprintf("%q", v)
		}
		source := "default"
		if given[f.Name] {
			source = "set"
			if name := env(f.Name); name != "" {
				source = "set by -" + f.Name + " or " + name
			}
		}
		fmt.Fprintf(w, "%s = %s (%s)\n", f.Name, v, source)
	}
}

// StringList is a flag.Value holding a comma-separated list, such as Kafka
// brokers or site domains.
type StringList []string

func (l *StringList) String() string { return strings.Join(*l, ",") }

// Set replaces the list with the comma-separated items of v, trimmed, without
// empty items.
func (l *StringList) Set(v string) error {
	*l = (*l)[:0]
	for _, item := range strings.Split(v, ",") {
		if item = strings.TrimSpace(item); item != "" {
			*l = append(*l, item)
		}
	}
	return nil
}

// CheckHostPort reports, naming the flag, whether addr is not host:port with
// a port number (0-65535). An empty host is accepted only when listen is
// true (":8081" listens on every interface).
func CheckHostPort(flagName, addr string, listen bool) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("-%s %q: want host:port: %w", flagName, addr, err)
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || (n == 0 && !listen) {
		return fmt.Errorf("-%s %q: port %q is not a port number", flagName, addr, port)
	}
	if host == "" && !listen {
		return fmt.Errorf("-%s %q: host is missing", flagName, addr)
	}
	return nil
}
