package app

import (
	"encoding/xml"
	"flag"
	"io"
	"io/fs"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/teller-analytics/teller/pkg/config"
	"github.com/teller-analytics/teller/schema"
)

func TestDashboardLoginFlags(t *testing.T) {
	const secret = "0123456789abcdef"
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string // error substring, "" for valid
	}{
		{"login secret", []string{"-login-secret", secret}, nil, ""},
		{"deprecated flag", []string{"-session-secret", secret}, nil, ""},
		{"deprecated variable", nil, map[string]string{"TELLER_SESSION_SECRET": secret}, ""},
		{"both, equal", []string{"-login-secret", secret, "-session-secret", secret}, nil, ""},
		{"both, different", []string{"-login-secret", secret}, map[string]string{"TELLER_SESSION_SECRET": secret + "x"}, "-login-secret and its deprecated name -session-secret"},
		{"no secret", nil, nil, "set -login-secret or TELLER_LOGIN_SECRET"},
		{"short secret", []string{"-login-secret", "short"}, nil, "-login-secret has 5 bytes"},
		{"idle below a minute", []string{"-login-secret", secret, "-login-idle-timeout", "30s"}, nil, "-login-idle-timeout=30s"},
		{"idle zero", []string{"-login-secret", secret, "-login-idle-timeout", "0"}, nil, "-login-idle-timeout=0s"},
		{"lifetime below idle", []string{"-login-secret", secret, "-login-lifetime", "1h"}, nil, "-login-lifetime=1h0m0s is shorter than -login-idle-timeout=12h0m0s"},
		{"accounts password alone", []string{"-login-secret", secret, "-accounts-clickhouse-password", "x"}, nil, "-accounts-clickhouse-password is set without -accounts-clickhouse-user"},
		{"password without user", []string{"-login-secret", secret, "-dashboard-user", "", "-dashboard-password", "pw"}, nil, "-dashboard-user is empty"},
		{"no admin password: setup link", []string{"-login-secret", secret}, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c DashboardConfig
			fs := flag.NewFlagSet("dashboard", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			c.RegisterFlags(fs)
			if err := config.Parse(fs, tt.args, func(k string) string { return tt.env[k] }); err != nil {
				t.Fatal(err)
			}
			err := c.validateLogins()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("error %v, want none", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("error %v, want one containing %q", err, tt.want)
			case err == nil && c.LoginSecret != secret:
				t.Errorf("LoginSecret = %q, want %q", c.LoginSecret, secret)
			}
		})
	}
}

// TestDashboardClickHouseUsers: deploy's ClickHouse users file gives the
// read-only user every table of the schema but the account tables, and the
// accounts user those and the tables site admins edit (sites, site_goals).
func TestDashboardClickHouseUsers(t *testing.T) {
	raw, err := os.ReadFile("../../deploy/clickhouse/users.d/teller-dashboard-users.xml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Users struct {
			Reports  xmlUser `xml:"teller_reports"`
			Accounts xmlUser `xml:"teller_accounts"`
		} `xml:"users"`
		Profiles struct {
			ReadOnly struct {
				ReadOnly int `xml:"readonly"`
			} `xml:"teller_readonly"`
		} `xml:"profiles"`
	}
	if err := xml.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Users.Reports.Profile != "teller_readonly" || doc.Profiles.ReadOnly.ReadOnly != 1 {
		t.Errorf("teller_reports has profile %q, readonly=%d; want teller_readonly with readonly=1", doc.Users.Reports.Profile, doc.Profiles.ReadOnly.ReadOnly)
	}
	grant := regexp.MustCompile(`^GRANT ([A-Z, ]+) ON teller\.(\w+)$`)
	granted := func(u xmlUser) map[string]string {
		out := map[string]string{}
		for _, q := range u.Grants {
			m := grant.FindStringSubmatch(strings.TrimSpace(q))
			if m == nil {
				t.Fatalf("unexpected grant %q", q)
			}
			out[m[2]] = m[1]
		}
		return out
	}
	reports, accounts := granted(doc.Users.Reports), granted(doc.Users.Accounts)

	// Tables and views the migrations create (materialized views are
	// written through, never read).
	names, _ := fs.Glob(schema.Files, "*.sql")
	create := regexp.MustCompile(`CREATE (TABLE|VIEW) IF NOT EXISTS (\w+)`)
	var tables []string
	for _, n := range names {
		b, _ := fs.ReadFile(schema.Files, n)
		for _, m := range create.FindAllStringSubmatch(string(b), -1) {
			tables = append(tables, m[2])
		}
	}
	sort.Strings(tables)
	// What the dashboard reads for reports, today; writer-only tables
	// (checkpoints, the collector's import-token hashes) are not granted.
	// The bot report shows admins the rejected events.
	notRead := map[string]bool{"sessionizer_checkpoints": true, "import_tokens": true}
	edited := map[string]bool{"sites": true, "site_goals": true}
	for _, tbl := range tables {
		isAccount := strings.HasPrefix(tbl, "dashboard_")
		switch {
		case isAccount && reports[tbl] != "":
			t.Errorf("the read-only user may read account table %s", tbl)
		case isAccount && accounts[tbl] != "SELECT, INSERT":
			t.Errorf("the accounts user has %q on %s, want SELECT, INSERT", accounts[tbl], tbl)
		case !isAccount && !notRead[tbl] && reports[tbl] != "SELECT":
			t.Errorf("the read-only user has %q on %s, want SELECT (a table reports read)", reports[tbl], tbl)
		case edited[tbl] && accounts[tbl] != "SELECT, INSERT":
			t.Errorf("the accounts user has %q on %s, want SELECT, INSERT (site admins edit it)", accounts[tbl], tbl)
		case !isAccount && !edited[tbl] && tbl != "schema_migrations" && accounts[tbl] != "":
			t.Errorf("the accounts user may use %s", tbl)
		}
	}
	if reports["schema_migrations"] != "SELECT" || accounts["schema_migrations"] != "SELECT" {
		t.Error("both users must read schema_migrations (the pending-migration check)")
	}
}

type xmlUser struct {
	Profile string   `xml:"profile"`
	Grants  []string `xml:"grants>query"`
}
