package dashboard

import (
	"context"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/teller-analytics/teller/pkg/report"
	"github.com/teller-analytics/teller/pkg/site"
)

// The bot and spam report (/sites/:id/bots): what was flagged as a bot, by
// reason and over time, and, for Teller admins, the messages the
// sessionizer refused (those name no site reliably, so they are the whole
// installation's and not shown to a site's viewers).

const botRows = 100

type botsPage struct {
	base
	Site site.Site
	View view
	Rows []report.BotRow
	// Reasons head the series table; Series has one line per bucket.
	Reasons []string
	Series  []botBucket
	// Rejected is only for admins (ShowRejected).
	ShowRejected bool
	Rejected     []report.RejectedRow
	SQL          string
}

type botBucket struct {
	Label    string
	Sessions []uint64 // per reason, in Reasons order
}

// bots is the core of the bot report: reasons, their series and (when
// admin) the refused messages.
func (d *Dashboard) bots(ctx context.Context, v view, q report.Query, admin bool) ([]report.BotRow, []report.BotPoint, []report.RejectedRow, error) {
	interval, err := report.ParseInterval(v.Interval)
	if err != nil {
		return nil, nil, nil, err
	}
	if interval == "" {
		interval = report.DefaultInterval(q.From, q.To)
	}
	var rows []report.BotRow
	var points []report.BotPoint
	var rejected []report.RejectedRow
	err = d.timed("bots", func() (err error) {
		if rows, err = d.reports.Bots(ctx, q, botRows); err != nil {
			return err
		}
		if points, err = d.reports.BotSeries(ctx, q, v.Range.Loc, interval); err != nil {
			return err
		}
		if admin {
			rejected, err = d.reports.Rejected(ctx, q.From, q.To, v.Range.Loc)
		}
		return err
	})
	return rows, points, rejected, err
}

// botsPage serves GET /sites/:id/bots.
func (d *Dashboard) botsPage(c *gin.Context) {
	s, _, v, q, err := d.siteView(c)
	if err != nil {
		d.fail(c, false, err)
		return
	}
	admin := c.MustGet(ctxAuth).(*auth).user.Admin
	var l report.SQLLog
	rows, points, rejected, err := d.bots(report.WithSQLLog(c.Request.Context(), &l), v, q, admin)
	if err != nil {
		d.fail(c, false, err)
		return
	}
	page := botsPage{base: d.base(c, "Bots and spam · "+s.Name), Site: s, View: v, Rows: rows,
		ShowRejected: admin, Rejected: rejected, SQL: sqlText(&l)}
	index := map[string]int{}
	for _, p := range points {
		if _, ok := index[p.Reason]; !ok {
			index[p.Reason] = len(page.Reasons)
			page.Reasons = append(page.Reasons, p.Reason)
		}
	}
	for _, p := range points {
		if n := len(page.Series); n == 0 || page.Series[n-1].Label != p.Label {
			page.Series = append(page.Series, botBucket{Label: p.Label, Sessions: make([]uint64, len(page.Reasons))})
		}
		page.Series[len(page.Series)-1].Sessions[index[p.Reason]] = p.Sessions
	}
	d.render(c, http.StatusOK, "bots", page)
}
