package dashboard

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/teller-analytics/teller/pkg/account"
	"github.com/teller-analytics/teller/pkg/site"
)

// The pages where people manage their own login and password (/account),
// the users and their grants (/users, admins only), a site's API tokens
// (/sites/:id/tokens, the site's admins) and the first admin (/setup).

type setupPage struct {
	base
	CSRF, Token, Username, Error string
}

// setupForm serves GET /setup?token=: the form that creates the first
// admin, while the one-time setup token is valid.
func (d *Dashboard) setupForm(c *gin.Context) {
	token := c.Query("token")
	if !d.accounts.ValidSetupToken(token) {
		d.errorPage(c, http.StatusNotFound, "This setup link is not valid (any more). Sign in instead.")
		return
	}
	d.renderSetup(c, http.StatusOK, token, "", "")
}

func (d *Dashboard) renderSetup(c *gin.Context, status int, token, user, msg string) {
	binding, err := d.preLogin(c)
	if err != nil {
		d.fail(c, false, err)
		return
	}
	d.render(c, status, "setup", setupPage{base: base{Title: "Set up Teller"},
		CSRF: d.csrf.Token(account.CSRFPreLogin, binding), Token: token, Username: user, Error: msg})
}

// setup serves POST /setup: creates the first admin and sends them to the
// sign-in form.
func (d *Dashboard) setup(c *gin.Context) {
	token, user, pw := c.PostForm("token"), c.PostForm("username"), c.PostForm("password")
	if !d.preLoginCSRF(c) {
		d.errorPage(c, http.StatusForbidden, "The setup form has expired or did not come from this site. Open the setup link again.")
		return
	}
	if !d.accounts.ValidSetupToken(token) {
		d.errorPage(c, http.StatusNotFound, "This setup link is not valid (any more). Sign in instead.")
		return
	}
	if pw != c.PostForm("confirm") {
		d.renderSetup(c, http.StatusBadRequest, token, user, "The two passwords differ.")
		return
	}
	err := d.accounts.Setup(c.Request.Context(), token, user, pw)
	if errors.Is(err, account.ErrInvalid) {
		d.renderSetup(c, http.StatusBadRequest, token, user, err.Error())
		return
	}
	if err != nil {
		d.fail(c, false, fmt.Errorf("set up the first admin: %w", err))
		return
	}
	c.Redirect(http.StatusSeeOther, "/login")
}

type accountPage struct {
	base
	Logins []loginView
	// Managed are the sites whose API tokens the user manages.
	Managed []site.Site
	Message string
	Error   string
}

type loginView struct {
	Handle, Device, Address, Created, LastUsed string
	Current                                    bool
}

// accountPage serves GET /account: the user's active logins (each can be
// ended) and the password form.
func (d *Dashboard) accountPage(c *gin.Context) {
	d.renderAccount(c, http.StatusOK, c.Query("done"), "")
}

func (d *Dashboard) renderAccount(c *gin.Context, status int, msg, errMsg string) {
	a := c.MustGet(ctxAuth).(*auth)
	list, err := d.accounts.ActiveLogins(c.Request.Context(), a.user, d.clock())
	if err != nil {
		d.fail(c, false, fmt.Errorf("list logins: %w", err))
		return
	}
	p := accountPage{base: d.base(c, "Your account"), Message: doneMessages[msg], Error: errMsg}
	sites, err := d.visibleSites(c)
	if err != nil {
		d.fail(c, false, err)
		return
	}
	for _, s := range sites {
		if role, err := d.accounts.Role(c.Request.Context(), a.user, s.ID); err != nil {
			d.fail(c, false, err)
			return
		} else if role.AtLeast(account.RoleAdmin) {
			p.Managed = append(p.Managed, s)
		}
	}
	for _, l := range list {
		p.Logins = append(p.Logins, loginView{Handle: l.Handle(), Device: d.deviceSummary(l.UserAgent), Address: l.Address,
			Created: l.Created.UTC().Format("2006-01-02 15:04 MST"), LastUsed: l.LastUsed.UTC().Format("2006-01-02 15:04 MST"),
			Current: l.Hash == a.login.Hash})
	}
	d.render(c, status, "account", p)
}

// doneMessages are the confirmations a redirect may show (?done=...).
var doneMessages = map[string]string{
	"password": "Your password is changed. Every other login of yours has ended.",
	"ended":    "The login has ended.",
	"added":    "The user is added.",
	"removed":  "The user is removed; their logins have ended.",
	"granted":  "The access is saved.",
	"revoked":  "The token is revoked.",
}

// changePassword serves POST /account/password. Every login of the user
// ends (on every instance); this browser gets a new one.
func (d *Dashboard) changePassword(c *gin.Context) {
	a := c.MustGet(ctxAuth).(*auth)
	now := d.clock()
	next := c.PostForm("new")
	if next != c.PostForm("confirm") {
		d.renderAccount(c, http.StatusBadRequest, "", "The two new passwords differ.")
		return
	}
	u, err := d.accounts.ChangePassword(c.Request.Context(), a.user, c.PostForm("current"), next, d.clientIP(c), now)
	var throttled *account.ThrottledError
	switch {
	case errors.As(err, &throttled):
		d.tooMany(c, throttled)
		d.renderAccount(c, http.StatusTooManyRequests, "", throttledMessage(throttled))
		return
	case errors.Is(err, account.ErrCredentials):
		d.renderAccount(c, http.StatusUnauthorized, "", "The current password is wrong.")
		return
	case errors.Is(err, account.ErrInvalid):
		d.renderAccount(c, http.StatusBadRequest, "", err.Error())
		return
	case err != nil:
		d.fail(c, false, fmt.Errorf("change password: %w", err))
		return
	}
	id, l, err := d.accounts.StartLogin(c.Request.Context(), u, c.GetHeader("User-Agent"), d.clientIP(c), now)
	if err != nil {
		d.fail(c, false, fmt.Errorf("start login: %w", err))
		return
	}
	account.SetCookie(c.Writer, c.Request, LoginCookie, id, l.Expires)
	c.Redirect(http.StatusSeeOther, "/account?done=password")
}

// endLogin serves POST /account/logins/end: ends one of the user's logins.
func (d *Dashboard) endLogin(c *gin.Context) {
	a := c.MustGet(ctxAuth).(*auth)
	err := d.accounts.EndLoginByHandle(c.Request.Context(), a.user, c.PostForm("login"), d.clock())
	if errors.Is(err, account.ErrNotFound) {
		d.renderAccount(c, http.StatusNotFound, "", "That login has ended already.")
		return
	}
	if err != nil {
		d.fail(c, false, fmt.Errorf("end login: %w", err))
		return
	}
	c.Redirect(http.StatusSeeOther, "/account?done=ended")
}

type usersPage struct {
	base
	Users   []userView
	Sites   []site.Site
	Message string
	Error   string
}

type userView struct {
	Name, Created string
	Admin, Self   bool
	Grants        []grantView
}

type grantView struct{ Site, Role string }

// usersPage serves GET /users (admins): users, their grants, and the forms
// to add, remove and grant.
func (d *Dashboard) usersPage(c *gin.Context) {
	d.renderUsers(c, http.StatusOK, c.Query("done"), "")
}

func (d *Dashboard) renderUsers(c *gin.Context, status int, msg, errMsg string) {
	ctx := c.Request.Context()
	a := c.MustGet(ctxAuth).(*auth)
	users, err := d.accounts.Users(ctx)
	if err != nil {
		d.fail(c, false, fmt.Errorf("list users: %w", err))
		return
	}
	sites, err := d.sites.ListSites(ctx)
	if err != nil {
		d.fail(c, false, fmt.Errorf("list sites: %w", err))
		return
	}
	p := usersPage{base: d.base(c, "Users"), Sites: sites, Message: doneMessages[msg], Error: errMsg}
	for _, u := range users {
		v := userView{Name: u.Name, Admin: u.Admin, Self: u.Name == a.user.Name, Created: u.CreatedAt.UTC().Format(time.DateOnly)}
		grants, err := d.accounts.Grants(ctx, u.Name)
		if err != nil {
			d.fail(c, false, fmt.Errorf("list grants: %w", err))
			return
		}
		for s, r := range grants {
			v.Grants = append(v.Grants, grantView{Site: s, Role: string(r)})
		}
		sort.Slice(v.Grants, func(i, j int) bool { return v.Grants[i].Site < v.Grants[j].Site })
		p.Users = append(p.Users, v)
	}
	d.render(c, status, "users", p)
}

// addUser serves POST /users.
func (d *Dashboard) addUser(c *gin.Context) {
	err := d.accounts.AddUser(c.Request.Context(), c.PostForm("username"), c.PostForm("password"), c.PostForm("admin") == "1")
	switch {
	case errors.Is(err, account.ErrInvalid), errors.Is(err, account.ErrExists):
		d.renderUsers(c, http.StatusBadRequest, "", err.Error())
	case err != nil:
		d.fail(c, false, fmt.Errorf("add user: %w", err))
	default:
		c.Redirect(http.StatusSeeOther, "/users?done=added")
	}
}

// removeUser serves POST /users/remove. Admins cannot remove themselves, so
// that there is always one left.
func (d *Dashboard) removeUser(c *gin.Context) {
	a := c.MustGet(ctxAuth).(*auth)
	name := c.PostForm("username")
	if name == a.user.Name {
		d.renderUsers(c, http.StatusBadRequest, "", "You cannot remove yourself; ask another admin.")
		return
	}
	err := d.accounts.RemoveUser(c.Request.Context(), name)
	switch {
	case errors.Is(err, account.ErrNotFound):
		d.renderUsers(c, http.StatusNotFound, "", err.Error())
	case err != nil:
		d.fail(c, false, fmt.Errorf("remove user: %w", err))
	default:
		c.Redirect(http.StatusSeeOther, "/users?done=removed")
	}
}

// grant serves POST /users/grant: a user's role on a site (none revokes).
func (d *Dashboard) grant(c *gin.Context) {
	ctx := c.Request.Context()
	role, err := account.ParseRole(c.PostForm("role"))
	if err != nil {
		d.renderUsers(c, http.StatusBadRequest, "", err.Error())
		return
	}
	siteID := c.PostForm("site")
	if _, ok, err := d.sites.GetSite(ctx, siteID); err != nil {
		d.fail(c, false, fmt.Errorf("look up site %q: %w", siteID, err))
		return
	} else if !ok {
		d.renderUsers(c, http.StatusBadRequest, "", fmt.Sprintf("There is no site %q.", siteID))
		return
	}
	err = d.accounts.SetRole(ctx, c.PostForm("username"), siteID, role)
	switch {
	case errors.Is(err, account.ErrNotFound):
		d.renderUsers(c, http.StatusNotFound, "", err.Error())
	case err != nil:
		d.fail(c, false, fmt.Errorf("grant: %w", err))
	default:
		c.Redirect(http.StatusSeeOther, "/users?done=granted")
	}
}

type tokensPage struct {
	base
	Site    site.Site
	Tokens  []account.Token
	Created string // the new token, shown once
	Message string
	Error   string
}

// tokensPage serves GET /sites/:id/tokens (the site's admins): its API
// tokens and the forms to create and revoke them.
func (d *Dashboard) tokensPage(c *gin.Context) {
	s, _, err := d.grantedSite(c, account.RoleAdmin)
	if err != nil {
		d.fail(c, false, err)
		return
	}
	d.renderTokens(c, http.StatusOK, s, "", c.Query("done"), "")
}

func (d *Dashboard) renderTokens(c *gin.Context, status int, s site.Site, created, msg, errMsg string) {
	list, err := d.accounts.Tokens(c.Request.Context(), s.ID)
	if err != nil {
		d.fail(c, false, fmt.Errorf("list API tokens: %w", err))
		return
	}
	d.render(c, status, "tokens", tokensPage{base: d.base(c, "API tokens · "+s.Name), Site: s, Tokens: list,
		Created: created, Message: doneMessages[msg], Error: errMsg})
}

// createToken serves POST /sites/:id/tokens and shows the token once.
func (d *Dashboard) createToken(c *gin.Context) {
	s, _, err := d.grantedSite(c, account.RoleAdmin)
	if err != nil {
		d.fail(c, false, err)
		return
	}
	a := c.MustGet(ctxAuth).(*auth)
	secret, _, err := d.accounts.CreateToken(c.Request.Context(), s.ID, c.PostForm("name"), a.user.Name, d.clock())
	switch {
	case errors.Is(err, account.ErrInvalid):
		d.renderTokens(c, http.StatusBadRequest, s, "", "", err.Error())
	case err != nil:
		d.fail(c, false, fmt.Errorf("create API token: %w", err))
	default:
		d.renderTokens(c, http.StatusOK, s, secret, "", "")
	}
}

// revokeToken serves POST /sites/:id/tokens/revoke.
func (d *Dashboard) revokeToken(c *gin.Context) {
	s, _, err := d.grantedSite(c, account.RoleAdmin)
	if err != nil {
		d.fail(c, false, err)
		return
	}
	err = d.accounts.RevokeToken(c.Request.Context(), s.ID, c.PostForm("token"))
	switch {
	case errors.Is(err, account.ErrNotFound):
		d.renderTokens(c, http.StatusNotFound, s, "", "", err.Error())
	case err != nil:
		d.fail(c, false, fmt.Errorf("revoke API token: %w", err))
	default:
		c.Redirect(http.StatusSeeOther, "/sites/"+url.PathEscape(s.ID)+"/tokens?done=revoked")
	}
}

// deviceSummary names a login's browser from its user agent, briefly:
// "Firefox 131 on Linux (desktop)".
func (d *Dashboard) deviceSummary(ua string) string {
	p := d.ua.Parse(ua)
	name := strings.TrimSpace(p.Browser + " " + p.BrowserVersion)
	if name == "" {
		name = "Unknown browser"
	}
	if p.OS != "" {
		name += " on " + p.OS
	}
	if p.Device != "" {
		name += " (" + p.Device + ")"
	}
	return name
}
