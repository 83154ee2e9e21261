package enrich

import (
	"net/url"
	"strings"
	"sync"

	"github.com/teller-analytics/teller/pkg/enrich/campaign"
	"github.com/teller-analytics/teller/pkg/event"
	"github.com/teller-analytics/teller/pkg/store"
)

// Step is one enrichment: it fills its own columns of the row from the event
// and the page. Steps read nothing another step wrote, so their order does not
// matter, and each can be tested alone. Apply must not keep page or row after
// it returns: the pipe reuses them for the next event.
type Step interface {
	Apply(ev *event.Event, page *Page, row *store.EventRow)
}

// Page is what the steps share about an event besides the event itself: its
// page URL, parsed once, and its site's hosts.
type Page struct {
	// URL is the event's page URL (event.PageURL: parsed once, by Validate;
	// steps must not modify it); nil when it is not a valid page URL, which
	// only a caller that skipped Validate sees.
	URL *url.URL
	// Host is URL's host name, lower case, without port.
	Host string
	// Campaign is the event's campaign as CampaignOf reads it: the stored
	// columns, the channel and the session split all use this one value.
	Campaign event.Campaign
	// SiteHosts are the domains of the event's site: a referrer on one of
	// them is internal.
	SiteHosts []string
}

// NewPage parses the event's page URL for the steps.
func NewPage(ev *event.Event, siteHosts []string) Page {
	var p Page
	p.parse(ev, siteHosts)
	return p
}

// parse fills p in place: the pipe's page lives in recycled scratch.
func (p *Page) parse(ev *event.Event, siteHosts []string) {
	*p = Page{SiteHosts: siteHosts}
	rawQuery := ""
	if u, err := ev.PageURL(); err == nil {
		p.URL, p.Host, rawQuery = u, strings.ToLower(u.Hostname()), u.RawQuery
	}
	p.Campaign = campaignOf(rawQuery, &ev.Campaign)
}

// CampaignOf is the campaign an event is reported and split by: the one
// parser's reading of its URL (pkg/enrich/campaign), so that events written by
// an older collector, or by another producer, get the same columns, channel
// and campaign split as new ones; only when the URL carries no campaign is the
// event's own Campaign used (trimmed), for producers that set it directly.
func CampaignOf(ev *event.Event) event.Campaign {
	rawQuery := ""
	if u, err := ev.PageURL(); err == nil {
		rawQuery = u.RawQuery
	}
	return campaignOf(rawQuery, &ev.Campaign)
}

func campaignOf(rawQuery string, sent *event.Campaign) event.Campaign {
	if rawQuery != "" {
		if c := campaign.FromQuery(rawQuery); !c.IsZero() {
			return c
		}
	}
	if sent.IsZero() {
		return event.Campaign{}
	}
	return campaign.Normalize(*sent)
}

// Pipe maps an event to its row: the event's own fields, then every step.
// It is safe for concurrent use when its steps are (the standard ones are).
type Pipe struct {
	steps []Step
	// scratch recycles the page and row the steps work on: passed to an
	// interface method they would escape, costing two heap allocations
	// (about 700 bytes) per event.
	scratch sync.Pool
}

// scratch is one event's working set.
type scratch struct {
	page Page
	row  store.EventRow
}

// NewPipe chains steps.
func NewPipe(steps ...Step) *Pipe {
	return &Pipe{steps: steps, scratch: sync.Pool{New: func() any { return new(scratch) }}}
}

// StandardSteps are the enrichments every event row gets: page URL,
// campaign, referrer and channel, user agent and bot verdict, props.
func StandardSteps(ua *UAParser) []Step {
	return []Step{PageURLStep{}, CampaignStep{}, ReferrerStep{}, UserAgentStep{Parser: ua}, PropsStep{}}
}

// Row maps ev, an event of the site with the domains siteHosts, to its row.
// The session columns (session id, start, reason, flags) and the Kafka
// position are the sessionizer's to fill.
func (p *Pipe) Row(ev *event.Event, siteHosts []string) store.EventRow {
	w := p.scratch.Get().(*scratch)
	w.page.parse(ev, siteHosts)
	w.row = store.EventRow{
		EventID: ev.ID, SiteID: ev.Site, VisitorID: ev.Visitor,
		TimeMs: ev.ReceivedMs, Kind: string(ev.Kind), Name: ev.Name, URL: ev.URL, Title: ev.Title,
		Referrer:    ev.Referrer,
		ScreenWidth: uint16(ev.ScreenWidth), ScreenHeight: uint16(ev.ScreenHeight),
		EngagedMs: uint32(min(ev.EngagedMs, 1<<32-1)), ScrollDepth: uint8(ev.ScrollDepth),
	}
	for _, s := range p.steps {
		s.Apply(ev, &w.page, &w.row)
	}
	// The scratch keeps this event's strings alive until its next use: at
	// most one event per P, and cheaper than clearing it (write barriers).
	r := w.row
	p.scratch.Put(w)
	return r
}
