// Package config owns Teller's configuration contract: every setting is a
// command-line flag with an environment-variable fallback named TELLER_<FLAG>
// (flag -clickhouse-addr falls back to TELLER_CLICKHOUSE_ADDR). A flag given on
// the command line wins over the environment, which wins over the default.
//
// Components register their own flags (see RegisterFlags methods across pkg/);
// this package only applies the environment overlay and prints help that names
// each variable. It holds no global state.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
)

// EnvName is the environment variable that backs the flag called name.
func EnvName(flagName string) string {
	return "TELLER_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// Parse parses args into fs, then fills every flag not given on the command
// line from its TELLER_ variable, if that is set and non-empty. getenv is
// usually os.Getenv; tests pass their own.
//
// It returns flag.ErrHelp after printing usage when -help or -h is given.
func Parse(fs *flag.FlagSet, args []string, getenv func(string) string) error {
	fs.Usage = func() { PrintUsage(fs.Output(), fs) }
	if err := fs.Parse(args); err != nil {
		return err
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		if given[f.Name] {
			return
		}
		v := getenv(EnvName(f.Name))
		if v == "" {
			return
		}
		if err := fs.Set(f.Name, v); err != nil {
			errs = append(errs, fmt.Errorf("environment %s=%q: %w", EnvName(f.Name), v, err))
		}
	})
	return errors.Join(errs...)
}

// PrintUsage writes one line per flag: name, environment variable, default
// and description, sorted by name.
func PrintUsage(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprintf(w, "Usage of %s:\n", fs.Name())
	var flags []*flag.Flag
	fs.VisitAll(func(f *flag.Flag) { flags = append(flags, f) })
	sort.Slice(flags, func(i, j int) bool { return flags[i].Name < flags[j].Name })
	for _, f := range flags {
		def := f.DefValue
		if def == "" {
			def = `""`
		}
		fmt.Fprintf(w, "  -%s (env %s, default %s)\n      %s\n", f.Name, EnvName(f.Name), def, f.Usage)
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
