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

// campaign is the campaign the session split compares: the same one the row's
// columns and channel come from.
func (e *enricher) campaign(ev *event.Event) event.Campaign { return enrich.CampaignOf(ev) }

func (e *enricher) row(ev *event.Event, a session.Assignment) store.EventRow {
	var domains []string
	if st, ok := e.sites.Lookup(ev.Site); ok {
		domains = st.Domains
	}
	r := e.pipe.Row(ev, domains)
	r.SessionID, r.SessionStartedMs, r.SessionStartReason = a.SessionID, a.StartMs, a.Reason.String()
	r.IsSessionStart, r.IsLate, r.IsBridging = a.Opens, a.Late, a.Bridging
	return r
}
