package dashboard

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/teller-analytics/teller/pkg/account"
	"github.com/teller-analytics/teller/pkg/report"
	"github.com/teller-analytics/teller/pkg/site"
)

// The goals and funnel page (/sites/:id/goals): each goal's conversions
// over the view, the forms with which the site's admins add and remove
// goals, and a funnel whose ordered steps are in the URL
// (step=page:/pricing&step=event:Signup), so it can be bookmarked.

type goalsPage struct {
	base
	Site    site.Site
	View    view
	Filters []chip
	Goals   []goalView
	// SiteAdmin shows the forms; ReadOnly says they cannot save.
	SiteAdmin, ReadOnly bool
	Error, Message      string
	GoalsSQL            string
	Funnel              funnelView
	Kinds               []option
}

type goalView struct {
	report.GoalRow
	Rate string
}

type funnelView struct {
	// Steps are the URL's step values; Rows the figures.
	Steps   []string
	Hidden  []hidden
	Rows    []funnelRowView
	Error   string
	SQL     string
	MaxStep int
}

type funnelRowView struct {
	report.FunnelRow
	Label, Conversion, DropOffRate string
}

// goalsReport is the core of the goals report: the site's goals and their
// conversions over q.
func (d *Dashboard) goalsReport(ctx context.Context, q report.Query) ([]report.GoalRow, error) {
	if d.goals == nil {
		return []report.GoalRow{}, nil
	}
	var rows []report.GoalRow
	err := d.timed("goals", func() error {
		goals, err := d.goals.ListGoals(ctx, q.Site)
		if err != nil {
			return err
		}
		rows, err = d.reports.GoalConversions(ctx, q, goals)
		return err
	})
	return rows, err
}

// parseSteps reads funnel steps "kind:pattern" (page:/pricing, event:Signup).
func parseSteps(values []string) ([]report.FunnelStep, error) {
	if len(values) > report.MaxFunnelSteps {
		return nil, badRequest("%d funnel steps: at most %d", len(values), report.MaxFunnelSteps)
	}
	out := make([]report.FunnelStep, 0, len(values))
	for _, v := range values {
		kind, pattern, ok := strings.Cut(v, ":")
		s := report.FunnelStep{Kind: report.GoalKind(kind), Pattern: pattern}
		if !ok {
			return nil, badRequest("funnel step %q: want page:/path or event:Name", clipText(v))
		}
		if err := s.Validate(); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// funnel is the core of the funnel report.
func (d *Dashboard) funnel(ctx context.Context, q report.Query, steps []report.FunnelStep) ([]report.FunnelRow, error) {
	var rows []report.FunnelRow
	err := d.timed("funnel", func() (err error) {
		rows, err = d.reports.Funnel(ctx, q, steps)
		return err
	})
	return rows, err
}

// clipText shortens what a stranger sent before it goes into a message.
func clipText(s string) string {
	if r := []rune(s); len(r) > 80 {
		return string(r[:80]) + "..."
	}
	return s
}

// stepValues are the non-empty step= values of a request.
func stepValues(c *gin.Context) []string {
	var out []string
	for _, s := range c.QueryArray("step") {
		if s = strings.TrimSpace(s); s != "" && s != "page:" && s != "event:" {
			out = append(out, s)
		}
	}
	return out
}

// goalsPage serves GET /sites/:id/goals.
func (d *Dashboard) goalsPage(c *gin.Context) {
	d.renderGoals(c, http.StatusOK, "", goalDoneMessages[c.Query("done")])
}

var goalDoneMessages = map[string]string{"added": "The goal is added.", "removed": "The goal is removed."}

func (d *Dashboard) renderGoals(c *gin.Context, status int, errMsg, msg string) {
	s, role, v, q, err := d.siteView(c)
	if err != nil {
		d.fail(c, false, err)
		return
	}
	page := goalsPage{base: d.base(c, "Goals · "+s.Name), Site: s, View: v, Filters: chips(v),
		SiteAdmin: role.AtLeast(account.RoleAdmin), ReadOnly: d.goals == nil || d.saver == nil, Error: errMsg, Message: msg,
		Kinds: []option{{string(report.GoalPage), "Page (exact path, or a prefix ending in *)"}, {string(report.GoalEvent), "Custom event (its name)"}}}
	var gl, fl report.SQLLog
	rows, err := d.goalsReport(report.WithSQLLog(c.Request.Context(), &gl), q)
	if err != nil {
		d.fail(c, false, err)
		return
	}
	for _, r := range rows {
		page.Goals = append(page.Goals, goalView{GoalRow: r, Rate: formatPercent(r.Rate)})
	}
	page.GoalsSQL = sqlText(&gl)
	page.Funnel.Steps = stepValues(c)
	page.Funnel.MaxStep = report.MaxFunnelSteps
	for k, vals := range v.values() {
		for _, x := range vals {
			page.Funnel.Hidden = append(page.Funnel.Hidden, hidden{k, x})
		}
	}
	if len(page.Funnel.Steps) > 0 {
		steps, err := parseSteps(page.Funnel.Steps)
		if err == nil {
			var fr []report.FunnelRow
			fr, err = d.funnel(report.WithSQLLog(c.Request.Context(), &fl), q, steps)
			for i, r := range fr {
				page.Funnel.Rows = append(page.Funnel.Rows, funnelRowView{FunnelRow: r, Label: page.Funnel.Steps[i],
					Conversion: formatPercent(r.Conversion), DropOffRate: formatPercent(r.DropOffRate)})
			}
			page.Funnel.SQL = sqlText(&fl)
		}
		var he *httpError
		switch {
		case err == nil:
		case errors.As(err, &he), errors.Is(err, report.ErrInvalidQuery):
			page.Funnel.Error = err.Error()
		default:
			d.fail(c, false, err)
			return
		}
	}
	d.render(c, status, "goals", page)
}

// addGoal serves POST /sites/:id/goals (the site's admins).
func (d *Dashboard) addGoal(c *gin.Context) {
	s, _, err := d.grantedSite(c, account.RoleAdmin)
	if err != nil {
		d.fail(c, false, err)
		return
	}
	if d.goals == nil || d.saver == nil {
		d.renderGoals(c, http.StatusServiceUnavailable, "This dashboard cannot change goals: it has no ClickHouse user that may write them.", "")
		return
	}
	g := report.Goal{Site: s.ID, Name: strings.TrimSpace(c.PostForm("name")), Kind: report.GoalKind(c.PostForm("kind")),
		Pattern: strings.TrimSpace(c.PostForm("pattern"))}
	if _, err := d.goals.SaveGoal(c.Request.Context(), g); err != nil {
		if errors.Is(err, report.ErrInvalidQuery) {
			d.renderGoals(c, http.StatusBadRequest, err.Error(), "")
			return
		}
		d.fail(c, false, fmt.Errorf("add goal to %s: %w", s.ID, err))
		return
	}
	c.Redirect(http.StatusSeeOther, "/sites/"+url.PathEscape(s.ID)+"/goals?done=added")
}

// removeGoal serves POST /sites/:id/goals/remove (the site's admins).
func (d *Dashboard) removeGoal(c *gin.Context) {
	s, _, err := d.grantedSite(c, account.RoleAdmin)
	if err != nil {
		d.fail(c, false, err)
		return
	}
	if d.goals == nil || d.saver == nil {
		d.renderGoals(c, http.StatusServiceUnavailable, "This dashboard cannot change goals: it has no ClickHouse user that may write them.", "")
		return
	}
	if err := d.goals.DeleteGoal(c.Request.Context(), s.ID, c.PostForm("goal")); err != nil {
		if errors.Is(err, report.ErrInvalidQuery) {
			d.renderGoals(c, http.StatusBadRequest, err.Error(), "")
			return
		}
		d.fail(c, false, fmt.Errorf("remove goal of %s: %w", s.ID, err))
		return
	}
	c.Redirect(http.StatusSeeOther, "/sites/"+url.PathEscape(s.ID)+"/goals?done=removed")
}
