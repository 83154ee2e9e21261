package enrich

import (
	"sort"

	"github.com/teller-analytics/teller/pkg/event"
	"github.com/teller-analytics/teller/pkg/store"
)

// The standard steps, one per group of columns. Each fills only its own.

// PageURLStep fills hostname (lower case) and pathname (escaped, "/" when
// empty) from the page URL.
type PageURLStep struct{}

// Apply implements Step.
func (PageURLStep) Apply(_ *event.Event, page *Page, row *store.EventRow) {
	if page.URL == nil {
		return
	}
	row.Hostname = page.Host
	row.Pathname = page.URL.EscapedPath()
	if row.Pathname == "" {
		row.Pathname = "/"
	}
}

// CampaignStep fills the utm_* and click_id_type columns from the page's
// campaign.
type CampaignStep struct{}

// Apply implements Step.
func (CampaignStep) Apply(_ *event.Event, page *Page, row *store.EventRow) {
	c := &page.Campaign
	row.UTMSource, row.UTMMedium, row.UTMCampaign = c.Source, c.Medium, c.Name
	row.UTMTerm, row.UTMContent, row.ClickIDType = c.Term, c.Content, c.ClickIDType
}

// ReferrerStep fills referrer_domain, referrer_source and channel
// (ClassifyReferrer), from the referrer and the page's host and campaign.
type ReferrerStep struct{}

// Apply implements Step.
func (ReferrerStep) Apply(ev *event.Event, page *Page, row *store.EventRow) {
	ref := classifyReferrer(ev.Referrer, page.Host, page.Campaign, page.SiteHosts)
	row.ReferrerDomain, row.ReferrerSource, row.Channel = ref.Domain, ref.Source, ref.Channel
}

// UserAgentStep fills browser, browser_version, os, device, is_bot and
// bot_reason from the User-Agent.
type UserAgentStep struct {
	Parser *UAParser
}

// Apply implements Step.
func (s UserAgentStep) Apply(ev *event.Event, _ *Page, row *store.EventRow) {
	ua := s.Parser.Parse(ev.UserAgent)
	row.Browser, row.BrowserVersion, row.OS, row.Device = ua.Browser, ua.BrowserVersion, ua.OS, ua.Device
	row.IsBot, row.BotReason = ua.Bot, ua.BotReason
	if !row.IsBot && ev.Bot != "" {
		// What the collector saw in the request itself (a prefetch).
		row.IsBot, row.BotReason = true, ev.Bot
	}
}

// PropsStep fills props_keys and props_values, sorted by key so that a replay
// writes identical rows.
type PropsStep struct{}

// Apply implements Step.
func (PropsStep) Apply(ev *event.Event, _ *Page, row *store.EventRow) {
	if len(ev.Props) == 0 {
		return
	}
	row.PropsKeys = make([]string, 0, len(ev.Props))
	for k := range ev.Props {
		row.PropsKeys = append(row.PropsKeys, k)
	}
	sort.Strings(row.PropsKeys)
	row.PropsValues = make([]string, len(row.PropsKeys))
	for i, k := range row.PropsKeys {
		row.PropsValues[i] = ev.Props[k]
	}
}
