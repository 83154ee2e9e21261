package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/teller-analytics/teller/internal/devmode"
	"github.com/teller-analytics/teller/pkg/config"
	"github.com/teller-analytics/teller/pkg/importer"
	"github.com/teller-analytics/teller/pkg/store"
)

// The `teller import` commands load history into a site: a web server's
// access log or another tool's export, sent in batches to the collector's
// POST /api/import under a site's import token, which `teller import token`
// creates, lists and revokes.

const importUsage = `Usage: teller import [flags]            send a file's history to a collector
       teller import token <add|list|revoke> [flags]

  -format combined|umami -file F -site S -collector-url U -token T [-origin https://www.example.com]
      combined: an nginx/Apache access log in the combined log format (needs -origin,
                the pages' scheme://host); umami: Umami's CSV export of website_event
      -token falls back to TELLER_IMPORT_TOKEN (keeps it out of the process list)
  token add -site S -name N     create an import token (printed once; stored as its hash)
  token list -site S            list a site's live import tokens
  token revoke -site S -id ID   revoke one; the collector refuses it from the next batch on
`

// importTokenEnv is where -token falls back to.
const importTokenEnv = "TELLER_IMPORT_TOKEN"

func importCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) > 0 && isHelp(args[0]) {
		fmt.Fprint(stdout, importUsage)
		return nil
	}
	if len(args) > 0 && args[0] == "token" {
		return importToken(ctx, args[1:], getenv, stdout, stderr)
	}
	var format, file, siteID, collectorURL, token, origin string
	var batch int
	fs := newFlags("import", stderr)
	fs.StringVar(&format, "format", "", "combined (nginx/Apache access log) or umami (Umami's website_event CSV export); required")
	fs.StringVar(&file, "file", "", "file to import, - for standard input; required")
	fs.StringVar(&siteID, "site", "", "site id to import into; required")
	fs.StringVar(&collectorURL, "collector-url", "", "collector base URL, e.g. https://stats.example.com; required")
	fs.StringVar(&token, "token", "", "the site's import token (teller import token add); default $"+importTokenEnv)
	fs.StringVar(&origin, "origin", "", "combined: the pages' origin, scheme://host (a log names only paths)")
	fs.IntVar(&batch, "batch", 1000, fmt.Sprintf("events per request, 1..%d", importer.MaxBatchEvents))
	if err := parse(fs, args, getenv, "format", "file", "site", "collector-url", "token", "origin", "batch"); err != nil {
		return err
	}
	if token == "" {
		token = getenv(importTokenEnv)
	}
	var errs []error
	if format != "combined" && format != "umami" {
		errs = append(errs, fmt.Errorf("-format %q: want combined or umami", format))
	}
	if format == "combined" && origin == "" {
		errs = append(errs, errors.New("-origin is required for -format combined (e.g. https://www.example.com)"))
	}
	for name, v := range map[string]string{"file": file, "site": siteID, "collector-url": collectorURL, "token": token} {
		if v == "" {
			errs = append(errs, fmt.Errorf("-%s is required", name))
		}
	}
	if batch < 1 || batch > importer.MaxBatchEvents {
		errs = append(errs, fmt.Errorf("-batch %d: want 1..%d", batch, importer.MaxBatchEvents))
	}
	if err := errors.Join(errs...); err != nil {
		return config.Invalid(fmt.Errorf("import: %w", err))
	}
	in := io.Reader(os.Stdin)
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return fmt.Errorf("import: %w", err)
		}
		defer f.Close()
		in = f
	}
	start := time.Now()
	sender := &importer.Sender{Client: &importer.Client{CollectorURL: collectorURL, Token: token, Site: siteID}, BatchSize: batch,
		Progress: func(t importer.Totals) {
			if t.Batches%10 == 0 {
				fmt.Fprintf(stderr, "import: %d events sent, %d accepted, %d rejected (%.0f events/s)\n",
					t.Sent, t.Accepted, t.Rejected, float64(t.Sent)/time.Since(start).Seconds())
			}
		}}
	emit := func(ev importer.Event) error { return sender.Add(ctx, ev) }
	var st importer.Stats
	var err error
	switch format {
	case "combined":
		st, err = importer.ReadCombined(in, importer.CombinedOptions{Origin: origin}, emit)
	case "umami":
		st, err = importer.ReadUmami(in, emit)
	}
	if err == nil {
		err = sender.Flush(ctx)
	}
	t := sender.Totals()
	fmt.Fprintf(stdout, "read %d lines: %d events, skipped %s\n", st.Lines, st.Events, skippedText(st.Skipped))
	for _, m := range st.Malformed {
		fmt.Fprintln(stdout, "  malformed:", m)
	}
	fmt.Fprintf(stdout, "sent %d events in %d batches in %s: %d accepted, %d rejected\n",
		t.Sent, t.Batches, time.Since(start).Round(time.Millisecond), t.Accepted, t.Rejected)
	for _, r := range t.FirstRejections {
		fmt.Fprintln(stdout, "  rejected:", r)
	}
	if err != nil {
		return fmt.Errorf("import stopped after %d accepted events (re-running it is safe: event ids are stable): %w", t.Accepted, err)
	}
	if t.Rejected > 0 {
		return fmt.Errorf("import: the collector rejected %d of %d events", t.Rejected, t.Sent)
	}
	return nil
}

func skippedText(m map[string]int64) string {
	if len(m) == 0 {
		return "none"
	}
	var parts []string
	for _, k := range []string{"method", "status", "asset", "event_type", "malformed", "empty"} {
		if m[k] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", m[k], k))
		}
	}
	return strings.Join(parts, ", ")
}

func importToken(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || isHelp(args[0]) {
		fmt.Fprint(stderr, importUsage)
		if len(args) > 0 {
			return flag.ErrHelp
		}
		return config.Invalid(errors.New("teller import token needs a subcommand: add, list or revoke"))
	}
	sub, rest := args[0], args[1:]
	if sub != "add" && sub != "list" && sub != "revoke" {
		fmt.Fprint(stderr, importUsage)
		return config.Invalid(fmt.Errorf("unknown command %q", "import token "+sub))
	}
	var siteID, name, id string
	flags := func(fs *flag.FlagSet) ([]string, func() error) {
		fs.StringVar(&siteID, "site", "", "site id (required)")
		local := []string{"site"}
		switch sub {
		case "add":
			fs.StringVar(&name, "name", "", "what the token is for (required)")
			local = append(local, "name")
		case "revoke":
			fs.StringVar(&id, "id", "", "token id, as listed (required)")
			local = append(local, "id")
		}
		return local, func() error {
			var errs []error
			if siteID == "" {
				errs = append(errs, errors.New("-site is required"))
			}
			if sub == "add" && name == "" {
				errs = append(errs, errors.New("-name is required"))
			}
			if sub == "revoke" && id == "" {
				errs = append(errs, errors.New("-id is required"))
			}
			return errors.Join(errs...)
		}
	}
	return runStore(ctx, storeCommand{name: "import token " + sub, flags: flags, do: func(db *store.DB, _ *devmode.Stack) error {
		tokens := importer.NewTokens(db.Conn())
		switch sub {
		case "add":
			if _, ok, err := db.GetSite(ctx, siteID); err != nil {
				return err
			} else if !ok {
				return fmt.Errorf("import token add: unknown site %q (teller site list)", siteID)
			}
			secret, tok, err := tokens.Create(ctx, siteID, name, time.Now())
			if err != nil {
				return err
			}
			fmt.Fprintf(stderr, "import token %s for site %s created; it is shown only now:\n", tok.ID, tok.Site)
			fmt.Fprintln(stdout, secret)
			return nil
		case "list":
			list, err := tokens.List(ctx, siteID)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tCREATED")
			for _, t := range list {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", t.ID, t.Name, t.Created.Format(time.RFC3339))
			}
			return tw.Flush()
		default:
			if err := tokens.Revoke(ctx, siteID, id); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "import token %s of site %s revoked\n", id, siteID)
			return nil
		}
	}}, rest, getenv, stderr)
}
