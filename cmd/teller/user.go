package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"

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
	if len(args) == 0 {
		fmt.Fprint(stderr, userUsage)
		return errors.New("teller user needs a subcommand")
	}
	sub, rest := args[0], args[1:]
	var cfg store.Config
	var name, passwordFile, siteID, role string
	var admin bool
	fs := newFlags("user "+sub, stderr)
	cfg.RegisterFlags(fs)
	switch sub {
	case "list":
	case "add", "passwd":
		fs.StringVar(&name, "name", "", "user name (required)")
		fs.StringVar(&passwordFile, "password-file", "", "file holding the password on its first line, or - for standard input (required)")
		if sub == "add" {
			fs.BoolVar(&admin, "admin", false, "the user manages users and sees every site")
		}
	case "remove":
		fs.StringVar(&name, "name", "", "user name (required)")
	case "grant":
		fs.StringVar(&name, "name", "", "user name (required)")
		fs.StringVar(&siteID, "site", "", "site id (required)")
		fs.StringVar(&role, "role", "viewer", "viewer, admin (also manages the site's API tokens) or none (revokes)")
	default:
		fmt.Fprint(stderr, userUsage)
		return fmt.Errorf("unknown command %q", "user "+sub)
	}
	if err := config.Parse(fs, rest, getenv); err != nil {
		return err
	}
	if sub != "list" && name == "" {
		return fmt.Errorf("teller user %s: -name is required", sub)
	}
	var password string
	if passwordFile != "" || sub == "add" || sub == "passwd" {
		var err error
		if password, err = readPassword(passwordFile, stdin); err != nil {
			return err
		}
	}
	r, err := account.ParseRole(role)
	if sub == "grant" && (err != nil || siteID == "") {
		return errors.New("teller user grant: -site and -role (viewer, admin or none) are required")
	}
	db, err := openStore(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	defer db.Close()
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
