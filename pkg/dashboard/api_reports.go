package dashboard

import (
	"context"
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
// range (apiRange); each route is apiReport given its own parameters and
// report.

// apiFields is a report's answer as named values, which apiRows sends
// with their keys in snake_case beside the range.
type apiFields map[string]any

// apiRows answers head plus key: rows, the report's values in snake_case.
func (d *Dashboard) apiRows(c *gin.Context, head apiRange, fields apiFields) {
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
	d.apiReport(c, err, func(ctx context.Context, r apiRequest) (any, error) {
		p, err := d.sessionList(ctx, r.query, limit, c.Query("cursor"))
		return apiFields{"sessions": p.Rows, "next": p.Next}, err
	})
}

// apiSessionPath serves GET /api/sites/:id/sessions/:sid.
func (d *Dashboard) apiSessionPath(c *gin.Context) {
	d.apiReport(c, nil, func(ctx context.Context, r apiRequest) (any, error) {
		det, err := d.sessionPath(ctx, r.query, c.Param("sid"))
		return apiFields{"session": det.Session, "events": det.Events}, err
	})
}

// apiVisitor serves GET /api/sites/:id/visitors/:vid.
func (d *Dashboard) apiVisitor(c *gin.Context) {
	d.apiReport(c, nil, func(ctx context.Context, r apiRequest) (any, error) {
		rows, err := d.visitorSessions(ctx, r.query, c.Param("vid"))
		return apiFields{"sessions": rows}, err
	})
}

// apiRealtime serves GET /api/sites/:id/realtime.
func (d *Dashboard) apiRealtime(c *gin.Context) {
	d.apiReport(c, nil, func(ctx context.Context, r apiRequest) (any, error) {
		rt, err := d.realtime(ctx, r.view)
		return apiFields{"window_sec": report.RealtimeWindow.Seconds(), "visitors": rt.Visitors, "pages": rt.Pages}, err
	})
}

// apiCompleteness serves GET /api/sites/:id/completeness.
func (d *Dashboard) apiCompleteness(c *gin.Context) {
	d.apiReport(c, nil, func(ctx context.Context, r apiRequest) (any, error) {
		days, err := d.completeness(ctx, r.view, r.query)
		return apiFields{"days": days}, err
	})
}

// apiGoals serves GET /api/sites/:id/goals.
func (d *Dashboard) apiGoals(c *gin.Context) {
	d.apiReport(c, nil, func(ctx context.Context, r apiRequest) (any, error) {
		rows, err := d.goalsReport(ctx, r.query)
		return apiFields{"goals": rows}, err
	})
}

// apiFunnel serves GET /api/sites/:id/funnel?step=kind:pattern&step=...
func (d *Dashboard) apiFunnel(c *gin.Context) {
	steps, err := parseSteps(stepValues(c))
	d.apiReport(c, err, func(ctx context.Context, r apiRequest) (any, error) {
		rows, err := d.funnel(ctx, r.query, steps)
		return apiFields{"steps": rows}, err
	})
}

// apiBots serves GET /api/sites/:id/bots: reasons and their series; the
// refused messages (the whole installation's) for Teller admins only.
func (d *Dashboard) apiBots(c *gin.Context) {
	d.apiReport(c, nil, func(ctx context.Context, r apiRequest) (any, error) {
		a := c.MustGet(ctxAuth).(*auth)
		admin := a.token == nil && a.user.Admin
		rows, points, rejected, err := d.bots(ctx, r.view, r.query, admin)
		out := apiFields{"reasons": rows, "series": points}
		if admin {
			out["rejected"] = rejected
		}
		return out, err
	})
}

// apiEngagement serves GET /api/sites/:id/engagement?limit=.
func (d *Dashboard) apiEngagement(c *gin.Context) {
	limit, err := parseLimit(c.Query("limit"), apiBreakdownLimit)
	d.apiReport(c, err, func(ctx context.Context, r apiRequest) (any, error) {
		rows, err := d.engagement(ctx, r.query, limit)
		return apiFields{"pages": rows}, err
	})
}

// apiEventProps serves GET /api/sites/:id/event_props?event=&limit=.
func (d *Dashboard) apiEventProps(c *gin.Context) {
	limit, err := parseLimit(c.Query("limit"), apiBreakdownLimit)
	d.apiReport(c, err, func(ctx context.Context, r apiRequest) (any, error) {
		rows, err := d.eventProps(ctx, r.query, c.Query("event"), limit)
		return apiFields{"event": c.Query("event"), "props": rows}, err
	})
}
