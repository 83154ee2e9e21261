package dashboard

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/teller-analytics/teller/pkg/account"
)

// Cookie names, as sent over plain HTTP; over HTTPS each has the __Host-
// prefix (see pkg/account).
const (
	LoginCookie    = account.LoginCookie
	PreLoginCookie = account.PreLoginCookie
	DeviceCookie   = account.DeviceCookie
)

// CSRFField is the form field that carries the CSRF token.
const CSRFField = "csrf"

// ctxAuth is the gin context key of the request's *auth.
const ctxAuth = "teller.auth"

// auth is who a request acts for: a signed-in user, or an API token.
type auth struct {
	login account.Login
	user  account.User
	token *account.Token
}

type loginPage struct {
	base
	CSRF     string
	Next     string
	Username string // as typed, shown again after a failure
	Error    string
}

// loginForm serves GET /login. A signed-in user goes on to next.
func (d *Dashboard) loginForm(c *gin.Context) {
	next := safeNext(c.Query("next"))
	if _, ok, err := d.currentLogin(c); err == nil && ok {
		c.Redirect(http.StatusSeeOther, next)
		return
	}
	d.renderLogin(c, http.StatusOK, next, "", "")
}

func (d *Dashboard) renderLogin(c *gin.Context, status int, next, user, msg string) {
	binding, err := d.preLogin(c)
	if err != nil {
		d.fail(c, false, err)
		return
	}
	d.render(c, status, "login", loginPage{base: base{Title: "Sign in"},
		CSRF: d.csrf.Token(account.CSRFPreLogin, binding), Next: next, Username: user, Error: msg})
}

// preLogin returns the pre-login cookie's value, setting a new one if the
// browser has none.
func (d *Dashboard) preLogin(c *gin.Context) (string, error) {
	if v := account.ReadCookie(c.Request, PreLoginCookie); v != "" {
		return v, nil
	}
	v, err := account.RandomID()
	if err != nil {
		return "", err
	}
	account.SetCookie(c.Writer, c.Request, PreLoginCookie, v, time.Time{})
	return v, nil
}

// preLoginCSRF checks the CSRF token of a form posted before sign-in.
func (d *Dashboard) preLoginCSRF(c *gin.Context) bool {
	return d.csrf.Valid(account.CSRFPreLogin, account.ReadCookie(c.Request, PreLoginCookie), c.PostForm(CSRFField))
}

// login serves POST /login: CSRF check, limits, credentials, a new login.
func (d *Dashboard) login(c *gin.Context) {
	now := d.clock()
	user, password := c.PostForm("username"), c.PostForm("password")
	next := safeNext(c.PostForm("next"))
	if !d.preLoginCSRF(c) {
		d.metrics.loginFailures.WithLabelValues("csrf").Inc()
		d.errorPage(c, http.StatusForbidden, "The sign-in form has expired or did not come from this site. Load the sign-in page again and retry.")
		return
	}
	addr := d.clientIP(c)
	in, err := d.accounts.SignIn(c.Request.Context(), account.SignIn{User: user, Password: password, Address: addr,
		UserAgent: c.GetHeader("User-Agent"), Device: account.ReadCookie(c.Request, DeviceCookie),
		Previous: account.ReadCookie(c.Request, LoginCookie)}, now)
	var throttled *account.ThrottledError
	switch {
	case errors.As(err, &throttled):
		d.metrics.loginFailures.WithLabelValues("throttled").Inc()
		d.tooMany(c, throttled)
		d.renderLogin(c, http.StatusTooManyRequests, next, user, throttledMessage(throttled))
		return
	case errors.Is(err, account.ErrCredentials):
		d.metrics.loginFailures.WithLabelValues("credentials").Inc()
		d.log.Info("dashboard: failed sign-in", "client", account.AddressKey(addr))
		d.renderLogin(c, http.StatusUnauthorized, next, user, "Wrong user name or password.")
		return
	case err != nil:
		d.fail(c, false, fmt.Errorf("sign in: %w", err))
		return
	}
	account.SetCookie(c.Writer, c.Request, LoginCookie, in.ID, in.Login.Expires)
	account.SetCookie(c.Writer, c.Request, DeviceCookie, in.Device, now.Add(account.DeviceTTL()))
	account.ClearCookie(c.Writer, c.Request, PreLoginCookie)
	c.Redirect(http.StatusSeeOther, next)
}

func (d *Dashboard) tooMany(c *gin.Context, t *account.ThrottledError) {
	c.Header("Retry-After", strconv.Itoa(int(math.Ceil(t.Wait.Seconds()))))
}

func throttledMessage(t *account.ThrottledError) string {
	minutes := int(math.Ceil(t.Wait.Minutes()))
	if t.ByAddress {
		return fmt.Sprintf("Too many failed sign-ins from your address. Try again in %d minute%s.", minutes, plural(minutes))
	}
	return fmt.Sprintf("Too many failed sign-ins for this user. Try again in %d minute%s, or from a browser that signed in as this user before.",
		minutes, plural(minutes))
}

// logout serves POST /logout: the login ends on the server, for every
// instance, and the cookie is deleted.
func (d *Dashboard) logout(c *gin.Context) {
	a := c.MustGet(ctxAuth).(*auth)
	if err := d.accounts.EndLogin(c.Request.Context(), a.login); err != nil {
		d.fail(c, false, fmt.Errorf("end login: %w", err))
		return
	}
	account.ClearCookie(c.Writer, c.Request, LoginCookie)
	c.Redirect(http.StatusSeeOther, "/login")
}

// requireLogin lets through requests of a signed-in user, or for the API
// of a valid API token, with their *auth in the context; every other
// method than GET must carry the login's CSRF token. Others get 401 JSON
// (api) or a redirect to the sign-in form.
func (d *Dashboard) requireLogin(api bool) gin.HandlerFunc {
	return func(c *gin.Context) {
		if api {
			if bearer, ok := strings.CutPrefix(c.GetHeader("Authorization"), "Bearer "); ok {
				d.tokenAuth(c, strings.TrimSpace(bearer))
				return
			}
		}
		a, ok, err := d.currentLogin(c)
		if err != nil {
			d.fail(c, api, err)
			c.Abort()
			return
		}
		if !ok {
			switch {
			case api:
				c.AbortWithStatusJSON(http.StatusUnauthorized, gin.H{"error": "authentication required: sign in at /login or send Authorization: Bearer <API token>"})
			case c.Request.Method == http.MethodGet:
				c.Redirect(http.StatusSeeOther, "/login?next="+url.QueryEscape(c.Request.URL.RequestURI()))
				c.Abort()
			default:
				c.Redirect(http.StatusSeeOther, "/login")
				c.Abort()
			}
			return
		}
		c.Set(ctxAuth, a)
		if c.Request.Method != http.MethodGet && c.Request.Method != http.MethodHead &&
			!d.csrf.Valid(account.CSRFLogin, a.login.Hash, c.PostForm(CSRFField)) {
			d.metrics.csrfRefusals.Inc()
			d.errorPage(c, http.StatusForbidden, "The form has expired or did not come from this site. Reload the page and retry.")
			c.Abort()
			return
		}
		c.Next()
	}
}

// tokenAuth authenticates an API request by its Bearer token: read-only
// (GET), one site (checked by grantedSite).
func (d *Dashboard) tokenAuth(c *gin.Context, secret string) {
	t, ok, err := d.accounts.TokenFor(c.Request.Context(), secret)
	switch {
	case err != nil:
		d.fail(c, true, fmt.Errorf("look up API token: %w", err))
		c.Abort()
	case !ok:
		c.AbortWithStatusJSON(http.StatusUnauthorized, gin.H{"error": "the API token is not valid (revoked or mistyped)"})
	case c.Request.Method != http.MethodGet:
		c.AbortWithStatusJSON(http.StatusMethodNotAllowed, gin.H{"error": "API tokens are read-only"})
	default:
		c.Set(ctxAuth, &auth{token: &t})
		c.Next()
	}
}

// currentLogin resumes the request's login, deleting a cookie that is no
// longer valid.
func (d *Dashboard) currentLogin(c *gin.Context) (*auth, bool, error) {
	id := account.ReadCookie(c.Request, LoginCookie)
	if id == "" {
		return nil, false, nil
	}
	l, u, err := d.accounts.Resume(c.Request.Context(), id, d.clock())
	if errors.Is(err, account.ErrNoLogin) {
		account.ClearCookie(c.Writer, c.Request, LoginCookie)
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("resume login: %w", err)
	}
	return &auth{login: l, user: u}, true, nil
}

// requireAdmin lets through admin users only; others get 404, as if the
// page did not exist.
func (d *Dashboard) requireAdmin(c *gin.Context) {
	if a := c.MustGet(ctxAuth).(*auth); a.token != nil || !a.user.Admin {
		d.fail(c, false, notFound("There is no such page."))
		return
	}
	c.Next()
}

func (d *Dashboard) clientIP(c *gin.Context) string {
	if d.trust {
		return c.ClientIP()
	}
	return c.RemoteIP()
}

// safeNext keeps a post-login target on this site: a path, never a URL
// with a host ("//evil.example", "/\evil.example", "https://...").
func safeNext(next string) string {
	if next == "" || next[0] != '/' || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") ||
		strings.ContainsAny(next, "\r\n\t\\") {
		return "/"
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return "/"
	}
	return next
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
