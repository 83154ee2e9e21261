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
)

// Cookies.
const (
	// SessionCookie holds the login session's token.
	SessionCookie = "teller_session"
	// PreLoginCookie binds the login form's CSRF token to the browser that
	// loaded the form.
	PreLoginCookie = "teller_csrf"
)

// CSRFField is the form field that carries the CSRF token.
const CSRFField = "csrf"

// CSRF token kinds.
const (
	csrfLogin   = "login"
	csrfSession = "session"
)

// ctxSession is the gin context key of the current LoginSession.
const ctxSession = "teller.session"

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
	if _, ok, err := d.currentSession(c); err == nil && ok {
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
		CSRF: d.csrf.token(csrfLogin, binding), Next: next, Username: user, Error: msg})
}

// preLogin returns the pre-login cookie's value, setting a new one if the
// browser has none.
func (d *Dashboard) preLogin(c *gin.Context) (string, error) {
	if ck, err := c.Request.Cookie(PreLoginCookie); err == nil && ck.Value != "" {
		return ck.Value, nil
	}
	v, err := randomToken()
	if err != nil {
		return "", err
	}
	setCookie(c, PreLoginCookie, v, time.Time{})
	return v, nil
}

// login serves POST /login: CSRF check, throttle, credentials, session.
func (d *Dashboard) login(c *gin.Context) {
	now := d.clock()
	user, password := c.PostForm("username"), c.PostForm("password")
	next := safeNext(c.PostForm("next"))
	ck, err := c.Request.Cookie(PreLoginCookie)
	if err != nil || !d.csrf.valid(csrfLogin, ck.Value, c.PostForm(CSRFField)) {
		d.metrics.loginFailures.WithLabelValues("csrf").Inc()
		d.errorPage(c, http.StatusForbidden, "The sign-in form has expired or did not come from this site. Load the sign-in page again and retry.")
		return
	}
	key := limitKey(d.clientIP(c))
	if wait, blocked := d.limiter.blocked(key, now); blocked {
		d.metrics.loginFailures.WithLabelValues("throttled").Inc()
		minutes := int(math.Ceil(wait.Minutes()))
		c.Header("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		d.renderLogin(c, http.StatusTooManyRequests, next, user,
			fmt.Sprintf("Too many failed sign-ins from your address. Try again in %d minute%s.", minutes, plural(minutes)))
		return
	}
	ok, err := d.accounts.Authenticate(c.Request.Context(), user, password)
	if err != nil {
		d.fail(c, false, fmt.Errorf("check credentials: %w", err))
		return
	}
	if !ok {
		d.limiter.fail(key, now)
		d.metrics.loginFailures.WithLabelValues("credentials").Inc()
		d.log.Info("dashboard: failed sign-in", "client", key)
		d.renderLogin(c, http.StatusUnauthorized, next, user, "Wrong user name or password.")
		return
	}
	d.limiter.reset(key)
	sess, err := d.sessions.Start(c.Request.Context(), user, now)
	if err != nil {
		d.fail(c, false, fmt.Errorf("start login session: %w", err))
		return
	}
	setCookie(c, SessionCookie, sess.Token, sess.Expires)
	clearCookie(c, PreLoginCookie)
	c.Redirect(http.StatusSeeOther, next)
}

// logout serves POST /logout.
func (d *Dashboard) logout(c *gin.Context) {
	sess := c.MustGet(ctxSession).(LoginSession)
	if !d.csrf.valid(csrfSession, sess.ID, c.PostForm(CSRFField)) {
		d.errorPage(c, http.StatusForbidden, "The sign-out form has expired or did not come from this site. Reload the page and retry.")
		return
	}
	if err := d.sessions.End(c.Request.Context(), sess.Token); err != nil {
		d.fail(c, false, fmt.Errorf("end login session: %w", err))
		return
	}
	clearCookie(c, SessionCookie)
	c.Redirect(http.StatusSeeOther, "/login")
}

// requireLogin lets signed-in requests through with their LoginSession in
// the context. Others get 401 JSON (api) or a redirect to the login form.
func (d *Dashboard) requireLogin(api bool) gin.HandlerFunc {
	return func(c *gin.Context) {
		sess, ok, err := d.currentSession(c)
		if err != nil {
			d.fail(c, api, err)
			c.Abort()
			return
		}
		if !ok {
			switch {
			case api:
				c.AbortWithStatusJSON(http.StatusUnauthorized, gin.H{"error": "authentication required: sign in at /login"})
			case c.Request.Method == http.MethodGet:
				c.Redirect(http.StatusSeeOther, "/login?next="+url.QueryEscape(c.Request.URL.RequestURI()))
				c.Abort()
			default:
				c.Redirect(http.StatusSeeOther, "/login")
				c.Abort()
			}
			return
		}
		c.Set(ctxSession, sess)
		c.Next()
	}
}

// currentSession resumes the request's login session, renewing its cookie
// when the store renewed it and deleting a cookie that is no longer valid.
func (d *Dashboard) currentSession(c *gin.Context) (LoginSession, bool, error) {
	ck, err := c.Request.Cookie(SessionCookie)
	if err != nil || ck.Value == "" {
		return LoginSession{}, false, nil
	}
	ctx := c.Request.Context()
	sess, err := d.sessions.Resume(ctx, ck.Value, d.clock())
	if errors.Is(err, ErrNoSession) {
		clearCookie(c, SessionCookie)
		return LoginSession{}, false, nil
	}
	if err != nil {
		return LoginSession{}, false, fmt.Errorf("resume login session: %w", err)
	}
	active, err := d.accounts.Active(ctx, sess.User)
	if err != nil {
		return LoginSession{}, false, fmt.Errorf("check account %s: %w", sess.User, err)
	}
	if !active {
		_ = d.sessions.End(ctx, sess.Token)
		clearCookie(c, SessionCookie)
		return LoginSession{}, false, nil
	}
	if sess.Token != ck.Value {
		setCookie(c, SessionCookie, sess.Token, sess.Expires)
	}
	return sess, true, nil
}

func (d *Dashboard) clientIP(c *gin.Context) string {
	if d.trust {
		return c.ClientIP()
	}
	return c.RemoteIP()
}

// setCookie sets an HttpOnly, SameSite=Lax cookie for the whole dashboard,
// Secure when the request came over TLS (directly or through a proxy that
// says so). A zero expires makes a browser-session cookie.
func setCookie(c *gin.Context, name, value string, expires time.Time) {
	ck := &http.Cookie{Name: name, Value: value, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: isTLS(c)}
	if !expires.IsZero() {
		ck.Expires = expires.UTC()
	}
	http.SetCookie(c.Writer, ck)
}

func clearCookie(c *gin.Context, name string) {
	http.SetCookie(c.Writer, &http.Cookie{Name: name, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: isTLS(c)})
}

func isTLS(c *gin.Context) bool {
	return c.Request.TLS != nil || strings.EqualFold(c.GetHeader("X-Forwarded-Proto"), "https")
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
