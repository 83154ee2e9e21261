package sessionizer

import (
	"github.com/teller-analytics/teller/pkg/enrich"
	"github.com/teller-analytics/teller/pkg/event"
	"github.com/teller-analytics/teller/pkg/session"
	"github.com/teller-analytics/teller/pkg/store"
)

// enricher turns an event and its session decision into a row: pkg/enrich's
// pipe makes the row, this adds what only the sessionizer knows.
type enricher struct {
	sites Sites
	pipe  *enrich.Pipe
}

func newEnricher(sites Sites) *enricher {
	return &enricher{sites: sites, pipe: enrich.NewPipe(enrich.StandardSteps(enrich.NewUAParser(50000))...)}
}

// row maps an event to its row (pkg/enrich's pipe, parsing the page URL
// once); withSession adds the session decision, which reads the row's
// campaign columns, so the split compares exactly what is stored.
func (e *enricher) row(ev *event.Event) store.EventRow {
	var domains []string
	if st, ok := e.sites.Lookup(ev.Site); ok {
		domains = st.Domains
	}
	return e.pipe.Row(ev, domains)
}

// campaignKey is the session split's view of a row's campaign columns.
func campaignKey(r *store.EventRow) uint64 {
	return session.CampaignKey(r.UTMSource, r.UTMMedium, r.UTMCampaign, r.UTMTerm, r.UTMContent, r.ClickIDType)
}

func withSession(r *store.EventRow, a session.Assignment) {
	r.SessionID, r.SessionStartedMs, r.SessionStartReason = a.SessionID, a.StartMs, a.Reason.String()
	r.IsSessionStart, r.IsLate, r.IsBridging = a.Opens, a.Late, a.Bridging
}
