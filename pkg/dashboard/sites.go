package dashboard

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/teller-analytics/teller/pkg/account"
	"github.com/teller-analytics/teller/pkg/site"
	"github.com/teller-analytics/teller/pkg/snippet"
	"github.com/teller-analytics/teller/pkg/store"
)

// The pages where admins add a site (/sites/new) and a site's admins edit
// it (/sites/:id/settings); the settings page shows the snippet to paste
// and whether events arrive.

// SiteSaver registers or replaces a site; *store.DB satisfies it. It needs
// a ClickHouse user that may insert into sites.
type SiteSaver interface {
	SaveSite(ctx context.Context, s site.Site) error
}

// ActivityReader tells whether a site's events arrive; *store.DB satisfies
// it.
type ActivityReader interface {
	SiteActivity(ctx context.Context, id string, since, now time.Time) (store.Activity, error)
}

// maxDomains bounds the domains of one site a form may send.
const maxDomains = 50

type siteFormPage struct {
	base
	// New is true on /sites/new: the id can be chosen.
	New   bool
	Form  siteForm
	Zones []string
	Error string
	// Message confirms a save (?done=saved).
	Message string
	// Snippet is the tag to paste, Arriving what the events look like;
	// both only for a saved site.
	Snippet  string
	Activity *activityView
	// ReadOnly is set when the dashboard has no writable sites table.
	ReadOnly bool
}

type siteForm struct {
	ID, Name, Domains, Timezone string
	// Settings are the site's settings (site.Fields) as typed, by name.
	Settings []settingInput
}

// settingInput is one setting's form field.
type settingInput struct {
	site.Field
	Value string
}

// settingGroup is one fieldset of the form: the settings of a site.Field
// group, in the order of site.Fields.
type settingGroup struct {
	Legend, ID string
	Settings   []settingInput
}

// Groups are the form's settings by group (site.Field.Group), each group
// where its first setting is.
func (f siteForm) Groups() []settingGroup {
	var out []settingGroup
	at := map[string]int{}
	for _, in := range f.Settings {
		i, ok := at[in.Group]
		if !ok {
			i = len(out)
			at[in.Group] = i
			out = append(out, settingGroup{Legend: in.Group + " settings", ID: strings.ToLower(in.Group) + "-settings"})
		}
		out[i].Settings = append(out[i].Settings, in)
	}
	return out
}

// settingsForm is the form's settings: values, by site.Fields
// name, as stored or as typed.
func settingsForm(value func(name string) string) []settingInput {
	out := make([]settingInput, len(site.Fields))
	for i, f := range site.Fields {
		out[i] = settingInput{Field: f, Value: value(f.Name)}
	}
	return out
}

// postedSiteForm reads the site form of a POST; id is the site's for an
// edit, "" to read it from the form.
func postedSiteForm(c *gin.Context, id string) siteForm {
	if id == "" {
		id = c.PostForm("id")
	}
	return siteForm{ID: id, Name: c.PostForm("name"), Domains: c.PostForm("domains"), Timezone: c.PostForm("timezone"),
		Settings: settingsForm(c.PostForm)}
}

type activityView struct {
	Last      string // "" when none within store.ActivityWindow
	Ago       string
	Today     uint64
	WindowDay int
}

func formOf(s site.Site) siteForm {
	return siteForm{ID: s.ID, Name: s.Name, Domains: strings.Join(s.Domains, "\n"), Timezone: s.Timezone,
		Settings: settingsForm(s.Settings.Value)}
}

// commonZones are offered by the time zone field's list; any IANA name is
// accepted.
var commonZones = []string{"UTC", "Europe/London", "Europe/Berlin", "Europe/Paris", "Europe/Madrid", "Europe/Amsterdam",
	"Europe/Warsaw", "Europe/Kyiv", "America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles",
	"America/Sao_Paulo", "Asia/Kolkata", "Asia/Singapore", "Asia/Tokyo", "Asia/Shanghai", "Australia/Sydney", "Pacific/Auckland"}

// newSiteForm serves GET /sites/new (admins).
func (d *Dashboard) newSiteForm(c *gin.Context) {
	def := site.Site{ID: "new", Domains: []string{"example.com"}}
	def.Normalize() //nolint:errcheck // valid: for the settings' defaults
	d.renderSiteForm(c, http.StatusOK, siteFormPage{New: true, Form: siteForm{Timezone: "UTC", Settings: settingsForm(def.Settings.Value)}})
}

// createSite serves POST /sites (admins): registers a new site and sends
// the admin to its settings page, where the snippet is.
func (d *Dashboard) createSite(c *gin.Context) {
	f := postedSiteForm(c, "")
	page := siteFormPage{New: true, Form: f}
	if d.saver == nil {
		d.renderSiteForm(c, http.StatusServiceUnavailable, page)
		return
	}
	s, err := d.validSite(f)
	if err != nil {
		page.Error = err.Error()
		d.renderSiteForm(c, http.StatusBadRequest, page)
		return
	}
	var exists bool
	if err := d.timed("site", func() (err error) {
		_, exists, err = d.sites.GetSite(c.Request.Context(), s.ID)
		return err
	}); err != nil {
		d.fail(c, false, fmt.Errorf("look up site %q: %w", s.ID, err))
		return
	}
	if exists {
		page.Error = fmt.Sprintf("There is already a site with the id %q: choose another id.", s.ID)
		d.renderSiteForm(c, http.StatusConflict, page)
		return
	}
	if err := d.saver.SaveSite(c.Request.Context(), s); err != nil {
		d.fail(c, false, fmt.Errorf("add site %q: %w", s.ID, err))
		return
	}
	d.log.Info("dashboard: site added", "site", s.ID, "by", c.MustGet(ctxAuth).(*auth).user.Name)
	c.Redirect(http.StatusSeeOther, "/sites/"+url.PathEscape(s.ID)+"/settings?done=added")
}

// siteSettings serves GET /sites/:id/settings (the site's admins).
func (d *Dashboard) siteSettings(c *gin.Context) {
	s, _, err := d.grantedSite(c, account.RoleAdmin)
	if err != nil {
		d.fail(c, false, err)
		return
	}
	d.renderSiteForm(c, http.StatusOK, siteFormPage{Form: formOf(s), Message: siteDoneMessages[c.Query("done")]})
}

// saveSite serves POST /sites/:id/settings (the site's admins). The id
// cannot change: it is in every stored event.
func (d *Dashboard) saveSite(c *gin.Context) {
	old, _, err := d.grantedSite(c, account.RoleAdmin)
	if err != nil {
		d.fail(c, false, err)
		return
	}
	f := postedSiteForm(c, old.ID)
	page := siteFormPage{Form: f}
	if d.saver == nil {
		d.renderSiteForm(c, http.StatusServiceUnavailable, page)
		return
	}
	s, err := d.validSite(f)
	if err != nil {
		page.Error = err.Error()
		d.renderSiteForm(c, http.StatusBadRequest, page)
		return
	}
	s.CreatedAt = old.CreatedAt
	if err := d.saver.SaveSite(c.Request.Context(), s); err != nil {
		d.fail(c, false, fmt.Errorf("save site %q: %w", s.ID, err))
		return
	}
	d.log.Info("dashboard: site saved", "site", s.ID, "by", c.MustGet(ctxAuth).(*auth).user.Name)
	c.Redirect(http.StatusSeeOther, "/sites/"+url.PathEscape(s.ID)+"/settings?done=saved")
}

var siteDoneMessages = map[string]string{
	"added": "The site is added. Paste the snippet below into its pages; events show here within seconds.",
	"saved": "The settings are saved. The collector and the sessionizer pick them up within a minute.",
}

// validSite checks a form with pkg/site's rules.
func (d *Dashboard) validSite(f siteForm) (site.Site, error) {
	domains := site.SplitList(f.Domains)
	if len(domains) > maxDomains {
		return site.Site{}, fmt.Errorf("%d domains: at most %d are allowed", len(domains), maxDomains)
	}
	s := site.Site{ID: f.ID, Name: strings.TrimSpace(f.Name), Domains: domains, Timezone: strings.TrimSpace(f.Timezone)}
	if len(s.Name) > 200 {
		return site.Site{}, errors.New("the name is longer than 200 characters")
	}
	for _, in := range f.Settings {
		if err := s.Settings.Set(in.Name, in.Value); err != nil {
			return site.Site{}, errors.New(strings.TrimPrefix(err.Error(), site.ErrInvalid.Error()+": "))
		}
	}
	if err := s.Normalize(); err != nil {
		return site.Site{}, errors.New(strings.TrimPrefix(err.Error(), site.ErrInvalid.Error()+": "))
	}
	return s, nil
}

func (d *Dashboard) renderSiteForm(c *gin.Context, status int, p siteFormPage) {
	title := "Add a site"
	if !p.New {
		title = "Settings · " + p.Form.Name
		p.Snippet = snippet.Tag(d.collectorURL, p.Form.ID)
		if d.activity != nil {
			a, err := d.siteActivity(c.Request.Context(), p.Form.ID, p.Form.Timezone)
			if err != nil {
				d.fail(c, false, err)
				return
			}
			p.Activity = &a
		}
	}
	p.base, p.Zones, p.ReadOnly = d.base(c, title), commonZones, d.saver == nil
	if p.ReadOnly && p.Error == "" && status != http.StatusOK {
		p.Error = "This dashboard cannot change sites: start it with -accounts-clickhouse-user set to a user that may insert into sites."
	}
	d.render(c, status, "site_form", p)
}

// siteActivity reads the latest event and today's count, in the site's
// zone.
func (d *Dashboard) siteActivity(ctx context.Context, id, zone string) (activityView, error) {
	s := site.Site{Timezone: zone}
	loc := s.Location()
	now := d.clock()
	y, m, dd := now.In(loc).Date()
	var a store.Activity
	err := d.timed("activity", func() (err error) {
		a, err = d.activity.SiteActivity(ctx, id, time.Date(y, m, dd, 0, 0, 0, 0, loc), now)
		return err
	})
	if err != nil {
		return activityView{}, fmt.Errorf("activity of %s: %w", id, err)
	}
	v := activityView{Today: a.Since, WindowDay: int(store.ActivityWindow.Hours() / 24)}
	if !a.Last.IsZero() {
		v.Last = a.Last.In(loc).Format("2006-01-02 15:04:05 MST")
		v.Ago = formatDuration(max(now.Sub(a.Last), 0).Seconds()) + " ago"
	}
	return v, nil
}
