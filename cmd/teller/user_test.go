package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/teller-analytics/teller/internal/testenv"
	"github.com/teller-analytics/teller/pkg/account"
	"github.com/teller-analytics/teller/pkg/store"
)

func TestUserCommands(t *testing.T) {
	srv := testenv.ClickHouse(t)
	ctx := context.Background()
	env := map[string]string{"TELLER_CLICKHOUSE_ADDR": srv.Addr(), "TELLER_CLICKHOUSE_DATABASE": "cli"}
	getenv := func(k string) string { return env[k] }
	user := func(stdin string, args ...string) (string, error) {
		var out bytes.Buffer
		err := userCommand(ctx, args, getenv, strings.NewReader(stdin), &out, io.Discard)
		return out.String(), err
	}
	if err := run(ctx, []string{"migrate"}, getenv, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	pwFile := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pwFile, []byte("root's long password\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := user("", "add", "-name", "root", "-admin", "-password-file", pwFile); err != nil {
		t.Fatal(err)
	}
	if _, err := user("ann's long password\n", "add", "-name", "ann", "-password-file", "-"); err != nil {
		t.Fatal(err)
	}
	if err := run(ctx, []string{"site", "add", "-id", "shop", "-domain", "shop.example"}, getenv, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	if _, err := user("", "grant", "-name", "ann", "-site", "shop", "-role", "viewer"); err != nil {
		t.Fatal(err)
	}
	out, err := user("", "list")
	if err != nil || !regexp.MustCompile(`ann\s+user\s+shop:viewer`).MatchString(out) || !regexp.MustCompile(`root\s+admin\s+all`).MatchString(out) {
		t.Fatalf("user list: %v\n%s", err, out)
	}
	for name, args := range map[string][]string{
		"no subcommand":      {},
		"unknown":            {"frobnicate"},
		"no name":            {"remove"},
		"no password":        {"add", "-name", "bob"},
		"missing file":       {"add", "-name", "bob", "-password-file", pwFile + ".missing"},
		"unknown site":       {"grant", "-name", "ann", "-site", "nosuch"},
		"bad role":           {"grant", "-name", "ann", "-site", "shop", "-role", "owner"},
		"unknown user":       {"remove", "-name", "nobody"},
		"duplicate user":     {"add", "-name", "ann", "-password-file", pwFile},
		"password too short": {"passwd", "-name", "ann", "-password-file", "-"},
	} {
		if _, err := user("short\n", args...); err == nil {
			t.Errorf("%s: teller user %v succeeded", name, args)
		}
	}

	// passwd is the way back in: the new password works, every login of
	// the user ends.
	db, err := store.Open(ctx, store.Config{Addr: srv.Addr(), Database: "cli"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	a, err := account.New(account.Options{Conn: db.Conn(), Key: make([]byte, 16)})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	in, err := a.SignIn(ctx, account.SignIn{User: "ann", Password: "ann's long password", Address: "192.0.2.1"}, now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := user("ann's new password\n", "passwd", "-name", "ann", "-password-file", "-"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.Resume(ctx, in.ID, now); err == nil {
		t.Error("a login survived teller user passwd")
	}
	if _, err := a.SignIn(ctx, account.SignIn{User: "ann", Password: "ann's new password", Address: "192.0.2.1"}, now); err != nil {
		t.Errorf("the new password: %v", err)
	}
	if _, err := user("", "remove", "-name", "ann"); err != nil {
		t.Fatal(err)
	}
	if out, _ := user("", "list"); strings.Contains(out, "ann") {
		t.Errorf("removed user listed:\n%s", out)
	}
}
