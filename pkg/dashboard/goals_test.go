package dashboard_test

import (
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/teller-analytics/teller/pkg/account"
	"github.com/teller-analytics/teller/pkg/report"
)

// TestGoalsAndFunnel: a site admin adds a page goal and an event goal and
// sees their conversions; a viewer sees them but cannot change them; a
// funnel's steps come from the URL; the admin removes a goal.
func TestGoalsAndFunnel(t *testing.T) {
	goals := report.NewGoalStore(srv.DB)
	e := newEnv(t, func(o *envOptions) { o.Dashboard.Goals, o.Dashboard.SiteSaver = goals, srv.DB })
	c := e.client(t)
	c.login()
	tok := c.csrf()
	rng := "from=2024-03-10&to=2024-03-12"

	d := c.mustGet("/sites/example/goals?"+rng, http.StatusOK)
	if !strings.Contains(text(d.id("table-goals")), "No goals yet") {
		t.Fatalf("goals before any: %s", text(d.id("table-goals")))
	}
	for _, g := range []url.Values{
		{"name": {"Signed up"}, "kind": {"page"}, "pattern": {"/signup"}},
		{"name": {"Clicked signup"}, "kind": {"event"}, "pattern": {"signup_click"}},
	} {
		g.Set("csrf", tok)
		if r := c.post("/sites/example/goals", g); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("add goal %v: %d\n%s", g, r.StatusCode, r.Body)
		}
	}
	if r := c.post("/sites/example/goals", url.Values{"csrf": {tok}, "name": {"x"}, "kind": {"page"}, "pattern": {"no-slash"}}); r.StatusCode != http.StatusBadRequest {
		t.Errorf("a page goal without a path: %d", r.StatusCode)
	}
	d = c.mustGet("/sites/example/goals?"+rng, http.StatusOK)
	var got []string
	for _, tr := range within(d.id("table-goals"), "goal") {
		got = append(got, attr(tr, "data-conversions")+" "+attr(tr, "data-rate"))
	}
	// S1 reached /signup, S3 clicked; 6 sessions.
	if want := []string{"1 16.7%", "1 16.7%"}; !reflect.DeepEqual(got, want) {
		t.Errorf("goal conversions %q, want %q", got, want)
	}

	// The funnel: / then /pricing then /signup: S1, S2, S4, S5 saw /, only S1 went on.
	f := c.mustGet("/sites/example/goals?"+rng+"&step=page:/&step=page:/pricing&step=page:/signup", http.StatusOK)
	var steps []string
	for _, tr := range within(f.id("table-funnel"), "funnel-step") {
		steps = append(steps, attr(tr, "data-sessions")+"/"+attr(tr, "data-drop-off"))
	}
	if want := []string{"4/2", "1/3", "1/0"}; !reflect.DeepEqual(steps, want) {
		t.Errorf("funnel %q, want %q", steps, want)
	}
	if r := c.get("/sites/example/goals?" + rng + "&step=nokind&step=page:/"); r.StatusCode != http.StatusOK || !strings.Contains(r.Body, `id="funnel-error"`) {
		t.Errorf("a bad step: %d, no funnel error shown", r.StatusCode)
	}

	// A viewer sees the goals but no forms, and cannot post.
	e.addUser(t, "vic", "vic's long password", map[string]account.Role{"example": account.RoleViewer})
	vc := e.client(t)
	vc.loginAs("vic", "vic's long password")
	vd := vc.mustGet("/sites/example/goals?"+rng, http.StatusOK)
	if len(within(vd.id("table-goals"), "goal")) != 2 || len(vd.all(func(n *html.Node) bool { return attr(n, "id") == "goal-form" })) != 0 {
		t.Error("a viewer does not see the goals, or sees the form")
	}
	first := attr(within(d.id("table-goals"), "goal")[0], "data-goal")
	if r := vc.post("/sites/example/goals/remove", url.Values{"csrf": {vc.csrf()}, "goal": {first}}); r.StatusCode != http.StatusNotFound {
		t.Errorf("a viewer removes a goal: %d", r.StatusCode)
	}

	// The admin removes both.
	for _, tr := range within(d.id("table-goals"), "goal") {
		if r := c.post("/sites/example/goals/remove", url.Values{"csrf": {tok}, "goal": {attr(tr, "data-goal")}}); r.StatusCode != http.StatusSeeOther {
			t.Errorf("remove goal: %d", r.StatusCode)
		}
	}
	if d := c.mustGet("/sites/example/goals?"+rng, http.StatusOK); len(within(d.id("table-goals"), "goal")) != 0 {
		t.Error("removed goals are still listed")
	}
}

// TestBotsPage: the data set's bot session by reason; refused messages are
// shown to Teller admins only.
func TestBotsPage(t *testing.T) {
	e := newEnv(t)
	c := e.client(t)
	c.login()
	d := c.mustGet("/sites/example/bots?from=2024-03-10&to=2024-03-12", http.StatusOK)
	rows := within(d.id("table-bots"), "row")
	if len(rows) != 1 || attr(within(rows[0], "sessions")[0], "data-value") != "1" {
		t.Errorf("bots: %s", text(d.id("table-bots")))
	}
	d.id("table-bot-series")
	d.id("table-rejected")
	e.addUser(t, "bea", "bea's long password", map[string]account.Role{"example": account.RoleViewer})
	vc := e.client(t)
	vc.loginAs("bea", "bea's long password")
	vd := vc.mustGet("/sites/example/bots?from=2024-03-10&to=2024-03-12", http.StatusOK)
	if n := vd.all(func(n *html.Node) bool { return attr(n, "id") == "table-rejected" }); len(n) != 0 {
		t.Error("a site viewer sees the installation's refused messages")
	}
}
