package sessionizer

import (
	"fmt"

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
	r := e.pipe.Row(ev, domains)
	// The collector looked the country up (pkg/geo) and pkg/event
	// validated it: it is stored as sent.
	r.Country = ev.Country
	return r
}

// campaignKey is the session split's view of a row's campaign columns.
func campaignKey(r *store.EventRow) uint64 {
	return session.CampaignKey(r.UTMSource, r.UTMMedium, r.UTMCampaign, r.UTMTerm, r.UTMContent, r.ClickIDType)
}

func withSession(r *store.EventRow, a session.Assignment) {
	r.SessionID, r.SessionStartedMs, r.SessionStartReason = a.SessionID, a.StartMs, a.Reason.String()
	r.IsSessionStart, r.IsLate, r.IsBridging = a.Opens, a.Late, a.Bridging
}

// factsOf is what the session's figures take from a row.
func factsOf(r *store.EventRow) session.Facts {
	kind := session.KindOther
	switch event.Kind(r.Kind) {
	case event.KindPageview:
		kind = session.KindPageview
	case event.KindCustom:
		kind = session.KindCustom
	case event.KindEngagement:
		kind = session.KindEngagement
	}
	return session.Facts{Kind: kind, IsBot: r.IsBot, ScrollDepth: r.ScrollDepth, Attrs: session.Attrs{
		Hostname: r.Hostname, Pathname: r.Pathname, Referrer: r.Referrer, ReferrerDomain: r.ReferrerDomain,
		ReferrerSource: r.ReferrerSource, Channel: r.Channel, UTMSource: r.UTMSource, UTMMedium: r.UTMMedium,
		UTMCampaign: r.UTMCampaign, UTMTerm: r.UTMTerm, UTMContent: r.UTMContent, ClickIDType: r.ClickIDType,
		Browser: r.Browser, BrowserVersion: r.BrowserVersion, OS: r.OS, Device: r.Device,
		ScreenWidth: r.ScreenWidth, ScreenHeight: r.ScreenHeight, Country: r.Country}}
}

// versionRow is a session version as session_versions stores it.
func versionRow(f *session.Figures) store.SessionVersion {
	e := &f.Entry
	return store.SessionVersion{SiteID: f.Site, SessionID: f.SessionID, VisitorID: f.Visitor, StartedMs: f.StartMs,
		StartReason: f.Reason.String(), Version: f.Version, FirstMs: f.FirstMs, LastMs: f.LastMs, Events: f.Events,
		Pageviews: f.Pageviews, CustomEvents: f.CustomEvents, Late: f.Late, Bridging: f.Bridging, IsBot: f.IsBot,
		MaxScroll: f.MaxScroll, EntryPathname: e.Pathname, EntryHostname: e.Hostname, Referrer: e.Referrer,
		ReferrerDomain: e.ReferrerDomain, ReferrerSource: e.ReferrerSource, Channel: e.Channel, UTMSource: e.UTMSource,
		UTMMedium: e.UTMMedium, UTMCampaign: e.UTMCampaign, UTMTerm: e.UTMTerm, UTMContent: e.UTMContent,
		ClickIDType: e.ClickIDType, Browser: e.Browser, BrowserVersion: e.BrowserVersion, OS: e.OS, Device: e.Device,
		ScreenWidth: e.ScreenWidth, ScreenHeight: e.ScreenHeight, ExitPathname: f.ExitPathname,
		Pages: f.Pages, PageViews: f.PageViews, Country: e.Country}
}

// SessionVersions are the session_versions rows the sessionizer writes for
// events rows that already carry their session (SessionID,
// SessionStartedMs, SessionStartReason, IsLate, IsBridging), one per
// session: its figures after all of its rows, given in log order, through
// the same mapping and figures code as a flush. For fixtures and tools
// that write events rows themselves; a row repeated (a redelivery) counts
// once.
func SessionVersions(rows []store.EventRow) ([]store.SessionVersion, error) {
	var t session.Tally
	for i := range rows {
		r := &rows[i]
		reason, ok := session.ParseReason(r.SessionStartReason)
		if !ok {
			return nil, fmt.Errorf("sessionizer: event %s: unknown session start reason %q", r.EventID, r.SessionStartReason)
		}
		facts := factsOf(r)
		t.Add(session.Input{EventID: r.EventID, Site: r.SiteID, Visitor: r.VisitorID, TimeMs: r.TimeMs, Facts: &facts},
			session.Assignment{SessionID: r.SessionID, StartMs: r.SessionStartedMs, Reason: reason, Late: r.IsLate, Bridging: r.IsBridging})
	}
	figs := t.Figures()
	out := make([]store.SessionVersion, len(figs))
	for i := range figs {
		out[i] = versionRow(&figs[i])
	}
	return out, nil
}
