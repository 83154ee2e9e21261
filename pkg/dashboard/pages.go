package dashboard

import (
	"bytes"
	"context"
	"crypto/subtle"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"sync"

	"github.com/gin-gonic/gin"

	"github.com/teller-analytics/teller/pkg/account"
	"github.com/teller-analytics/teller/pkg/site"
)

//go:embed templates/*.html static/dashboard.css static/favicon.svg static/dashboard.js static/vendor
var files embed.FS

// pages are the parsed templates, one set per page, each with the layout.
type pages struct {
	byName map[string]*template.Template
}

var pageNames = []string{"login", "setup", "index", "site", "account", "users", "tokens", "error", "site_form", "sessions", "session", "visitor", "breakdown", "goals", "bots"}

var funcs = template.FuncMap{
	"count":    formatCount,
	"percent":  formatPercent,
	"duration": formatDuration,
	"float":    formatFloat,
}

func loadPages() (*pages, error) {
	p := &pages{byName: map[string]*template.Template{}}
	for _, name := range pageNames {
		t, err := template.New(name).Funcs(funcs).ParseFS(files, "templates/layout.html", "templates/parts.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("dashboard: parse template %s: %w", name, err)
		}
		p.byName[name] = t
	}
	return p, nil
}

// base is what the layout shows on every page.
type base struct {
	Title string
	// User is the signed-in user, "" on the login page.
	User string
	// Admin shows the link to the users page.
	Admin bool
	// CSRF is the token of every form of a signed-in page (sign-out
	// included).
	CSRF string
	// Scripts loads the chart library and static/dashboard.js: on report
	// pages, which work without them too.
	Scripts bool
}

// render executes a page into a buffer first, so that a template error
// never sends half a page.
func (d *Dashboard) render(c *gin.Context, status int, name string, data any) {
	var buf bytes.Buffer
	if err := d.pages.byName[name].ExecuteTemplate(&buf, "layout", data); err != nil {
		d.log.Error("dashboard: render page", "page", name, "err", err)
		c.Data(http.StatusInternalServerError, "text/plain; charset=utf-8", []byte("internal error\n"))
		return
	}
	c.Data(status, "text/html; charset=utf-8", buf.Bytes())
}

type errorPageData struct {
	base
	Status  int
	Heading string
	Message string
}

func (d *Dashboard) errorPage(c *gin.Context, status int, msg string) {
	data := errorPageData{base: d.base(c, http.StatusText(status)), Status: status, Heading: http.StatusText(status), Message: msg}
	d.render(c, status, "error", data)
}

// base fills the layout's fields from the request's login.
func (d *Dashboard) base(c *gin.Context, title string) base {
	b := base{Title: title}
	if v, ok := c.Get(ctxAuth); ok {
		if a := v.(*auth); a.token == nil {
			b.User, b.Admin, b.CSRF = a.user.Name, a.user.Admin, d.csrf.Token(account.CSRFLogin, a.login.Hash)
		}
	}
	return b
}

// static serves an embedded file, public and briefly cached.
func static(name, contentType string) gin.HandlerFunc {
	body, err := files.ReadFile("static/" + name)
	if err != nil {
		panic(err) // embedded above: cannot happen
	}
	return func(c *gin.Context) {
		c.Header("Cache-Control", "public, max-age=300")
		c.Data(http.StatusOK, contentType, body)
	}
}

type indexPage struct {
	base
	Sites []site.Site
}

// index serves GET /: the sites the user may see.
func (d *Dashboard) index(c *gin.Context) {
	list, err := d.visibleSites(c)
	if err != nil {
		d.fail(c, false, err)
		return
	}
	d.render(c, http.StatusOK, "index", indexPage{base: d.base(c, "Sites"), Sites: list})
}

// visibleSites are the sites the request's user may see: every site for
// an admin, else those granted.
func (d *Dashboard) visibleSites(c *gin.Context) ([]site.Site, error) {
	var list []site.Site
	err := d.timed("sites", func() (err error) {
		list, err = d.sites.ListSites(c.Request.Context())
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list sites: %w", err)
	}
	a := c.MustGet(ctxAuth).(*auth)
	if a.user.Admin {
		return list, nil
	}
	grants, err := d.accounts.Grants(c.Request.Context(), a.user.Name)
	if err != nil {
		return nil, err
	}
	var out []site.Site
	for _, s := range list {
		if grants[s.ID] != "" {
			out = append(out, s)
		}
	}
	return out, nil
}

// grantedSite reads the :id site when the request may act on it with at
// least role: an API token for its one site (viewer), a user by their
// grant. A site that exists but is not granted answers exactly as one that
// does not exist (404, same message), so ids are not disclosed. The grant
// is checked before the site is looked up, so timing does not tell either.
func (d *Dashboard) grantedSite(c *gin.Context, need account.Role) (site.Site, account.Role, error) {
	id := c.Param("id")
	missing := notFound("There is no site %q.", id)
	a := c.MustGet(ctxAuth).(*auth)
	var role account.Role
	switch {
	case a.token != nil:
		role = account.RoleNone
		if subtle.ConstantTimeCompare([]byte(a.token.Site), []byte(id)) == 1 {
			role = account.RoleViewer
		}
	default:
		var err error
		if role, err = d.accounts.Role(c.Request.Context(), a.user, id); err != nil {
			return site.Site{}, "", err
		}
	}
	if !role.AtLeast(need) {
		return site.Site{}, "", missing
	}
	var s site.Site
	var ok bool
	err := d.timed("site", func() (err error) {
		s, ok, err = d.sites.GetSite(c.Request.Context(), id)
		return err
	})
	if err != nil {
		return site.Site{}, "", fmt.Errorf("look up site %q: %w", id, err)
	}
	if !ok {
		return site.Site{}, "", missing
	}
	return s, role, nil
}

// task is one report of a page.
type task struct {
	name string
	run  func(ctx context.Context) error
}

// pageParallelism bounds the reports one page runs at once, so that one
// page's dozen reports cannot take every query slot (Options.MaxQueries)
// from the pages opened beside it.
const pageParallelism = 4

// defaultMaxQueries is Options.MaxQueries' default: below the store's
// default pool of 8 connections.
const defaultMaxQueries = 6

// runAll runs the tasks, at most pageParallelism at once and each holding
// one of the dashboard's query slots, and returns their
// errors joined. The report cores (api.go) time themselves.
func (d *Dashboard) runAll(ctx context.Context, tasks []task) error {
	var wg sync.WaitGroup
	errs := make([]error, len(tasks))
	slots := make(chan struct{}, pageParallelism)
	for i, t := range tasks {
		wg.Go(func() {
			for _, sem := range []chan struct{}{slots, d.queries} {
				select {
				case sem <- struct{}{}:
					defer func() { <-sem }()
				case <-ctx.Done():
					errs[i] = fmt.Errorf("%s: %w", t.name, ctx.Err())
					return
				}
			}
			if errs[i] = t.run(ctx); errs[i] != nil {
				errs[i] = fmt.Errorf("%s: %w", t.name, errs[i])
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}
