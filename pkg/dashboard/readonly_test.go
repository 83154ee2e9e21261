package dashboard_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/teller-analytics/teller/internal/testenv"
	"github.com/teller-analytics/teller/pkg/report"
	"github.com/teller-analytics/teller/pkg/store"
)

// TestReadOnlyClickHouseUsers runs the dashboard as deploy/clickhouse sets
// it up, on the real ClickHouse 18.16: reports through a readonly=1 user,
// the account tables through a user that may use their database only (18.16
// grants per database, so they live in a database of their own there).
func TestReadOnlyClickHouseUsers(t *testing.T) {
	ctx := context.Background()
	accountsDB := newAccountsDB(t) // migrated by the default user, as `teller migrate` would
	reportsDB := srv.DB.Database()
	users := fmt.Sprintf(`<?xml version="1.0"?>
<yandex>
    <profiles><teller_readonly><readonly>1</readonly></teller_readonly></profiles>
    <users>
        <teller_reports>
            <password>reports-pw</password>
            <networks><ip>127.0.0.1</ip></networks>
            <profile>teller_readonly</profile>
            <quota>default</quota>
            <allow_databases><database>%s</database></allow_databases>
        </teller_reports>
        <teller_accounts>
            <password>accounts-pw</password>
            <networks><ip>127.0.0.1</ip></networks>
            <profile>default</profile>
            <quota>default</quota>
            <allow_databases><database>%s</database></allow_databases>
        </teller_accounts>
    </users>
</yandex>
`, reportsDB, accountsDB.Database())
	dir := filepath.Join(srv.CH.Dir(), "users.d")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "teller-dashboard-test.xml"), []byte(users), 0o644); err != nil {
		t.Fatal(err)
	}
	open := func(user, pw, database string) *store.DB {
		t.Helper()
		var db *store.DB
		var err error
		// The server rereads users.d within a few seconds.
		testenv.Eventually(t, 30*time.Second, "ClickHouse knows user "+user, func() bool {
			db, err = store.Open(ctx, store.Config{Addr: srv.CH.Addr(), Database: database, User: user, Password: pw}, nil)
			if err != nil {
				t.Log(err)
			}
			return err == nil
		})
		t.Cleanup(func() { db.Close() })
		return db
	}
	reports := open("teller_reports", "reports-pw", reportsDB)
	accounts := open("teller_accounts", "accounts-pw", accountsDB.Database())

	// The grants are real: the reports user writes nothing, the accounts
	// user reads no report data.
	for what, err := range map[string]error{
		"reports user inserts":     reports.Conn().Exec(ctx, "INSERT INTO sites (site_id) SELECT 'x'"),
		"reports user creates":     reports.Conn().Exec(ctx, "CREATE TABLE t (x UInt8) ENGINE = Memory"),
		"accounts user reads data": accounts.Conn().Exec(ctx, "SELECT count() FROM "+reportsDB+".events"),
	} {
		if err == nil {
			t.Errorf("%s: allowed", what)
		}
	}

	e := newEnv(t, func(o *envOptions) {
		o.Dashboard.Reports, o.Dashboard.Sites = report.New(reports), reports
	}, func(o *envOptions) { o.AccountsDB = accounts })
	c := e.client(t)
	c.login()
	d := c.mustGet(mainRange, http.StatusOK)
	for id, want := range map[string]string{"kpi-visitors": "4", "kpi-sessions": "6", "kpi-pageviews": "10"} {
		if got := attr(d.id(id), "data-value"); got != want {
			t.Errorf("#%s = %s, want %s", id, got, want)
		}
	}
	var sum map[string]any
	getJSON(t, c, "/api/sites/example/summary?from=2024-03-10&to=2024-03-12", http.StatusOK, &sum)
	if sum["sessions"] != 6.0 {
		t.Errorf("API summary through the read-only user: %v", sum)
	}
	// Logins are written through the accounts user.
	if r := c.post("/logout", map[string][]string{"csrf": {c.csrf()}}); r.StatusCode != http.StatusSeeOther || c.signedIn() {
		t.Errorf("logout through the accounts user: %d", r.StatusCode)
	}
	if r := c.get("/"); !strings.Contains(r.Header.Get("Location"), "/login") {
		t.Errorf("signed out: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
}
