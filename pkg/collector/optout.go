package collector

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/teller-analytics/teller/pkg/site"
)

// Opt-out reasons, the label of teller_collector_opted_out_total.
const (
	optOutGPC = "gpc" // Sec-GPC: 1 (Global Privacy Control)
	optOutDNT = "dnt" // DNT: 1 (Do Not Track)
)

// optOutReason says why the browser asked not to be tracked, or "": GPC
// first, as the signal some laws make binding.
func optOutReason(h http.Header) string {
	switch {
	case strings.TrimSpace(h.Get("Sec-GPC")) == "1":
		return optOutGPC
	case strings.TrimSpace(h.Get("DNT")) == "1":
		return optOutDNT
	}
	return ""
}

// optedOut answers 204 and reports true when st respects DNT / GPC
// (site.Settings.RespectDNT) and the request carries either: nothing is
// published, no visitor cookie is set or counted, and the request counts
// under its reason. It runs before the visitor is identified, so that an
// opted-out browser costs no cookie and no cookieless hash either.
func (c *Collector) optedOut(g *gin.Context, st *site.Site) bool {
	if !st.Settings.RespectDNT {
		return false
	}
	reason := optOutReason(g.Request.Header)
	if reason == "" {
		return false
	}
	c.metrics.optedOut.WithLabelValues(reason).Inc()
	g.AbortWithStatus(http.StatusNoContent)
	return true
}
