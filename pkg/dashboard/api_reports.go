package dashboard

import (
	"encoding/json"
	"net/http"
	"strings"
	"unicode"

	"github.com/gin-gonic/gin"

	"github.com/teller-analytics/teller/pkg/report"
)

// The JSON twins of the session explorer, realtime, completeness, goals,
// funnels, bots, engagement and event properties. Each answers the rows of
// the report as pkg/report returns them, field names in snake_case
// (report.Row.AvgDurationSec is "avg_duration_sec"), beside the request's
// range (apiRange).

// apiRows answers head plus key: rows, the report's values in snake_case.
func (d *Dashboard) apiRows(c *gin.Context, head apiRange, fields gin.H) {
	out := gin.H{"site": head.Site, "from": head.From, "to": head.To, "timezone": head.Timezone,
		"include_bots": head.IncludeBots, "filters": head.Filters}
	for k, v := range fields {
		s, err := snakeJSON(v)
		if err != nil {
			d.fail(c, true, err)
			return
		}
		out[k] = s
	}
	c.JSON(http.StatusOK, out)
}

// snakeJSON is v as JSON values with every object key in snake_case.
func snakeJSON(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var x any
	if err := json.Unmarshal(b, &x); err != nil {
		return nil, err
	}
	return snakeKeys(x), nil
}

func snakeKeys(x any) any {
	switch t := x.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, v := range t {
			out[snakeCase(k)] = snakeKeys(v)
		}
		return out
	case []any:
		for i := range t {
			t[i] = snakeKeys(t[i])
		}
		return t
	}
	return x
}

// snakeCase turns a Go field name into snake_case: AvgDurationSec is
// avg_duration_sec, ID is id, SincePrevMs is since_prev_ms.
func snakeCase(s string) string {
	r := []rune(s)
	var b strings.Builder
	for i, c := range r {
		if unicode.IsUpper(c) {
			prevLower := i > 0 && (unicode.IsLower(r[i-1]) || unicode.IsDigit(r[i-1]))
			nextLower := i > 0 && i+1 < len(r) && unicode.IsUpper(r[i-1]) && unicode.IsLower(r[i+1])
			if prevLower || nextLower {
				b.WriteByte('_')
			}
			b.WriteRune(unicode.ToLower(c))
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}

// apiSessionList serves GET /api/sites/:id/sessions/list?limit=&cursor=:
// one page of the session list, with the cursor of the next.
func (d *Dashboard) apiSessionList(c *gin.Context) {
	limit, err := parseLimit(c.Query("limit"), apiSessionsLimit)
	if err != nil {
		d.fail(c, true, err)
		return
	}
	_, q, head, ok := d.apiView(c)
	if !ok {
		return
	}
	p, err := d.sessionList(c.Request.Context(), q, limit, c.Query("cursor"))
	if err != nil {
		d.fail(c, true, err)
		return
	}
	d.apiRows(c, head, gin.H{"sessions": p.Rows, "next": p.Next})
}

// apiSessionPath serves GET /api/sites/:id/sessions/:sid.
func (d *Dashboard) apiSessionPath(c *gin.Context) {
	_, q, head, ok := d.apiView(c)
	if !ok {
		return
	}
	det, err := d.sessionPath(c.Request.Context(), q, c.Param("sid"))
	if err != nil {
		d.fail(c, true, err)
		return
	}
	d.apiRows(c, head, gin.H{"session": det.Session, "events": det.Events})
}

// apiVisitor serves GET /api/sites/:id/visitors/:vid.
func (d *Dashboard) apiVisitor(c *gin.Context) {
	_, q, head, ok := d.apiView(c)
	if !ok {
		return
	}
	rows, err := d.visitorSessions(c.Request.Context(), q, c.Param("vid"))
	if err != nil {
		d.fail(c, true, err)
		return
	}
	d.apiRows(c, head, gin.H{"sessions": rows})
}

// apiRealtime serves GET /api/sites/:id/realtime.
func (d *Dashboard) apiRealtime(c *gin.Context) {
	v, _, head, ok := d.apiView(c)
	if !ok {
		return
	}
	rt, err := d.realtime(c.Request.Context(), v)
	if err != nil {
		d.fail(c, true, err)
		return
	}
	d.apiRows(c, head, gin.H{"window_sec": report.RealtimeWindow.Seconds(), "visitors": rt.Visitors, "pages": rt.Pages})
}

// apiCompleteness serves GET /api/sites/:id/completeness.
func (d *Dashboard) apiCompleteness(c *gin.Context) {
	v, q, head, ok := d.apiView(c)
	if !ok {
		return
	}
	days, err := d.completeness(c.Request.Context(), v, q)
	if err != nil {
		d.fail(c, true, err)
		return
	}
	d.apiRows(c, head, gin.H{"days": days})
}

// apiGoals serves GET /api/sites/:id/goals.
func (d *Dashboard) apiGoals(c *gin.Context) {
	_, q, head, ok := d.apiView(c)
	if !ok {
		return
	}
	rows, err := d.goalsReport(c.Request.Context(), q)
	if err != nil {
		d.fail(c, true, err)
		return
	}
	d.apiRows(c, head, gin.H{"goals": rows})
}

// apiFunnel serves GET /api/sites/:id/funnel?step=kind:pattern&step=...
func (d *Dashboard) apiFunnel(c *gin.Context) {
	steps, err := parseSteps(stepValues(c))
	if err != nil {
		d.fail(c, true, err)
		return
	}
	_, q, head, ok := d.apiView(c)
	if !ok {
		return
	}
	rows, err := d.funnel(c.Request.Context(), q, steps)
	if err != nil {
		d.fail(c, true, err)
		return
	}
	d.apiRows(c, head, gin.H{"steps": rows})
}

// apiBots serves GET /api/sites/:id/bots: reasons and their series; the
// refused messages (the whole installation's) for Teller admins only.
func (d *Dashboard) apiBots(c *gin.Context) {
	v, q, head, ok := d.apiView(c)
	if !ok {
		return
	}
	a := c.MustGet(ctxAuth).(*auth)
	admin := a.token == nil && a.user.Admin
	rows, points, rejected, err := d.bots(c.Request.Context(), v, q, admin)
	if err != nil {
		d.fail(c, true, err)
		return
	}
	out := gin.H{"reasons": rows, "series": points}
	if admin {
		out["rejected"] = rejected
	}
	d.apiRows(c, head, out)
}

// apiEngagement serves GET /api/sites/:id/engagement?limit=.
func (d *Dashboard) apiEngagement(c *gin.Context) {
	limit, err := parseLimit(c.Query("limit"), apiBreakdownLimit)
	if err != nil {
		d.fail(c, true, err)
		return
	}
	_, q, head, ok := d.apiView(c)
	if !ok {
		return
	}
	rows, err := d.engagement(c.Request.Context(), q, limit)
	if err != nil {
		d.fail(c, true, err)
		return
	}
	d.apiRows(c, head, gin.H{"pages": rows})
}

// apiEventProps serves GET /api/sites/:id/event_props?event=&limit=.
func (d *Dashboard) apiEventProps(c *gin.Context) {
	limit, err := parseLimit(c.Query("limit"), apiBreakdownLimit)
	if err != nil {
		d.fail(c, true, err)
		return
	}
	_, q, head, ok := d.apiView(c)
	if !ok {
		return
	}
	rows, err := d.eventProps(c.Request.Context(), q, c.Query("event"), limit)
	if err != nil {
		d.fail(c, true, err)
		return
	}
	d.apiRows(c, head, gin.H{"event": c.Query("event"), "props": rows})
}
