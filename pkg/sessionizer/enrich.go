package sessionizer

import (
	"net/url"
	"sort"
	"strings"

	"github.com/teller-analytics/teller/pkg/enrich"
	"github.com/teller-analytics/teller/pkg/event"
	"github.com/teller-analytics/teller/pkg/session"
	"github.com/teller-analytics/teller/pkg/store"
)

// enricher turns an event and its session decision into a row.
type enricher struct {
	sites Sites
	ua    *enrich.UAParser
}

func newEnricher(sites Sites) *enricher {
	return &enricher{sites: sites, ua: enrich.NewUAParser(50000)}
}

func (e *enricher) row(ev *event.Event, a session.Assignment) store.EventRow {
	r := store.EventRow{
		EventID: ev.ID, SiteID: ev.Site, VisitorID: ev.Visitor, SessionID: a.SessionID,
		TimeMs: ev.ReceivedMs, Kind: string(ev.Kind), Name: ev.Name, URL: ev.URL, Title: ev.Title,
		Referrer:  ev.Referrer,
		UTMSource: ev.Campaign.Source, UTMMedium: ev.Campaign.Medium, UTMCampaign: ev.Campaign.Name,
		UTMTerm: ev.Campaign.Term, UTMContent: ev.Campaign.Content, ClickIDType: ev.Campaign.ClickIDType,
		ScreenWidth: uint16(ev.ScreenWidth), ScreenHeight: uint16(ev.ScreenHeight),
		EngagedMs: uint32(min(ev.EngagedMs, 1<<32-1)), ScrollDepth: uint8(ev.ScrollDepth),
		SessionStartedMs: a.StartMs, SessionStartReason: a.Reason.String(),
		IsSessionStart: a.Opens, IsLate: a.Late, IsBridging: a.Bridging,
	}
	if u, err := url.Parse(ev.URL); err == nil {
		r.Hostname = strings.ToLower(u.Hostname())
		r.Pathname = u.EscapedPath()
		if r.Pathname == "" {
			r.Pathname = "/"
		}
	}
	var domains []string
	if st, ok := e.sites.Lookup(ev.Site); ok {
		domains = st.Domains
	}
	ref := enrich.ClassifyReferrer(ev.Referrer, ev.URL, domains)
	r.ReferrerDomain, r.ReferrerSource, r.Channel = ref.Domain, ref.Source, ref.Channel
	ua := e.ua.Parse(ev.UserAgent)
	r.Browser, r.BrowserVersion, r.OS, r.Device = ua.Browser, ua.BrowserVersion, ua.OS, ua.Device
	r.IsBot, r.BotReason = ua.Bot, ua.BotReason
	if len(ev.Props) > 0 {
		// Sorted, so a replay writes identical rows.
		r.PropsKeys = make([]string, 0, len(ev.Props))
		for k := range ev.Props {
			r.PropsKeys = append(r.PropsKeys, k)
		}
		sort.Strings(r.PropsKeys)
		r.PropsValues = make([]string, len(r.PropsKeys))
		for i, k := range r.PropsKeys {
			r.PropsValues[i] = ev.Props[k]
		}
	}
	return r
}
