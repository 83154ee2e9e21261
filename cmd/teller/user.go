package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/teller-analytics/teller/internal/devmode"
	"github.com/teller-analytics/teller/pkg/account"
	"github.com/teller-analytics/teller/pkg/config"
	"github.com/teller-analytics/teller/pkg/store"
)

// The `teller user ...` commands manage dashboard users from a shell: for
// scripts, and as the way in for an admin who is locked out or forgot their
// password. Passwords are read from a file or standard input, never from a
// flag (which would show in the process list and the shell history).

const userUsage = `Usage: teller user <list|add|passwd|remove|grant> [flags]

  list                             list users and their grants
  add -name N [-admin] -password-file F   add a user (F: a file, or - for standard input)
  passwd -name N -password-file F  set a user's password; every login of the user ends
  remove -name N                   remove a user; their logins end
  grant -name N -site S -role R    give a user viewer or admin access to a site (none revokes)
`

func userCommand(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 || isHelp(args[0]) {
		fmt.Fprint(stderr, userUsage)
		if len(args) > 0 {
			return flag.ErrHelp
		}
		return config.Invalid(errors.New("teller user needs a subcommand"))
	}
	sub, rest := args[0], args[1:]
	var name, passwordFile, siteID, role string
	var admin bool
	var flags func(fs *flag.FlagSet) ([]string, func() error)
	switch sub {
	case "list":
	case "add", "passwd", "remove", "grant":
		flags = func(fs *flag.FlagSet) ([]string, func() error) {
			fs.StringVar(&name, "name", "", "user name (required)")
			local := []string{"name"}
			switch sub {
			case "add", "passwd":
				fs.StringVar(&passwordFile, "password-file", "", "file holding the password on its first line, or - for standard input (required)")
				local = append(local, "password-file")
				if sub == "add" {
					fs.BoolVar(&admin, "admin", false, "the user manages users and sees every site")
					local = append(local, "admin")
				}
			case "grant":
				fs.StringVar(&siteID, "site", "", "site id (required)")
				fs.StringVar(&role, "role", "viewer", "viewer, admin (also manages the site's API tokens) or none (revokes)")
				local = append(local, "site", "role")
			}
			return local, func() error {
				var errs []error
				if name == "" {
					errs = append(errs, errors.New("-name is required"))
				}
				if (sub == "add" || sub == "passwd") && passwordFile == "" {
					errs = append(errs, errors.New("-password-file is required (a file, or - for standard input)"))
				}
				if sub == "grant" {
					if siteID == "" {
						errs = append(errs, errors.New("-site is required"))
					}
					if _, err := account.ParseRole(role); err != nil {
						errs = append(errs, fmt.Errorf("-role: %w", err))
					}
				}
				return errors.Join(errs...)
			}
		}
	default:
		fmt.Fprint(stderr, userUsage)
		return config.Invalid(fmt.Errorf("unknown command %q", "user "+sub))
	}
	return runStore(ctx, storeCommand{name: "user " + sub, flags: flags, do: func(db *store.DB, _ *devmode.Stack) error {
		var password string
		if sub == "add" || sub == "passwd" {
			var err error
			if password, err = readPassword(passwordFile, stdin); err != nil {
				return err
			}
		}
		// The key signs only browser forms, which this command has none of.
		key := make([]byte, account.MinKeyLen)
		if _, err := rand.Read(key); err != nil {
			return err
		}
		a, err := account.New(account.Options{Conn: db.Conn(), Key: key})
		if err != nil {
			return err
		}
		switch sub {
		case "list":
			return listUsers(ctx, a, stdout)
		case "add":
			err = a.AddUser(ctx, name, password, admin)
		case "passwd":
			err = a.SetPassword(ctx, name, password)
		case "remove":
			err = a.RemoveUser(ctx, name)
		case "grant":
			r, _ := account.ParseRole(role) // checked with the flags
			if _, ok, gerr := db.GetSite(ctx, siteID); gerr != nil {
				return gerr
			} else if !ok {
				return fmt.Errorf("there is no site %q (teller site list)", siteID)
			}
			err = a.SetRole(ctx, name, siteID, r)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "user %s: %s done\n", name, sub)
		return nil
	}}, rest, getenv, stderr)
}

func readPassword(file string, stdin io.Reader) (string, error) {
	var r io.Reader
	switch file {
	case "":
		return "", errors.New("-password-file is required (a file, or - for standard input)")
	case "-":
		r = stdin
	default:
		f, err := os.Open(file)
		if err != nil {
			return "", fmt.Errorf("-password-file: %w", err)
		}
		defer f.Close()
		r = f
	}
	line, err := bufio.NewReader(io.LimitReader(r, account.MaxPasswordLen+2)).ReadString('\n')
	if err != nil && err != io.EOF {
		return "", fmt.Errorf("read the password: %w", err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}

func listUsers(ctx context.Context, a *account.Accounts, stdout io.Writer) error {
	users, err := a.Users(ctx)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(stdout, 0, 8, 2, ' ', 0)
	fmt.Fprintln(w, "USER\tROLE\tSITES\tCREATED")
	for _, u := range users {
		role, sites := "user", "-"
		if u.Admin {
			role, sites = "admin", "all"
		} else {
			grants, err := a.Grants(ctx, u.Name)
			if err != nil {
				return err
			}
			var list []string
			for s, r := range grants {
				list = append(list, s+":"+string(r))
			}
			sort.Strings(list)
			if len(list) > 0 {
				sites = strings.Join(list, ",")
			}
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", u.Name, role, sites, u.CreatedAt.UTC().Format("2006-01-02"))
	}
	return w.Flush()
}
