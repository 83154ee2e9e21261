// Package collector owns the HTTP edge that browsers talk to: it serves the
// tracking snippet, accepts events at POST /api/event, recognises the browser
// by its signed visitor cookie (setting one on first visit), checks the event
// against the site registry, stamps it with the collector's clock and hands it
// to a Publisher. It answers 202 only once the publisher has made the event
// durable; bad input gets 4xx with a JSON error naming the problem.
//
// It does not sessionize, enrich or store: those happen downstream. It only
// reads the page URL's campaign into the event, with pkg/enrich/campaign, the
// parser enrichment uses too.
package collector

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/teller-analytics/teller/pkg/bus"
	"github.com/teller-analytics/teller/pkg/enrich/campaign"
	"github.com/teller-analytics/teller/pkg/event"
	"github.com/teller-analytics/teller/pkg/identity"
	"github.com/teller-analytics/teller/pkg/site"
)

// Publisher makes accepted events durable (Kafka in production). It is the
// seam where an on-disk spool can stand in front of Kafka.
type Publisher interface {
	Publish(ctx context.Context, msgs ...bus.Message) error
}

// Sites finds registered sites.
type Sites interface {
	Lookup(id string) (site.Site, bool)
	All() []site.Site
}

// Options configure a collector. Required: Publisher, Sites, Signer.
type Options struct {
	Publisher Publisher
	Sites     Sites
	Signer    *identity.Signer
	// Snippet serves GET /teller.js; nil leaves the route out.
	Snippet http.Handler
	// CookieDomain, if set, is the visitor cookie's Domain attribute, so one
	// cookie covers a site's subdomains (collector on stats.example.com,
	// pages on www.example.com).
	CookieDomain string
	// MaxBodyBytes bounds an event body (default 16 KiB).
	MaxBodyBytes int64
	// PublishTimeout bounds the wait for Kafka per request (default 10 s).
	PublishTimeout time.Duration
	// DeadLetterTopic, if set, keeps every 400 refusal's raw payload, reason
	// and time there through the Publisher (see DeadLetter).
	DeadLetterTopic string
	// Logger; default slog.Default().
	Logger *slog.Logger
	// Registerer receives the collector's metrics; nil for none.
	Registerer prometheus.Registerer
	// Accepted counts every accepted event for the data-completeness
	// report (an *Acceptances); nil counts nothing.
	Accepted Counter

	// now is the clock events are stamped with. Unexported: only tests in
	// this module set it (through SetClock), never the public HTTP API.
	now func() time.Time
}

// SetClock replaces the clock that stamps events. Tests use it to replay
// visits across hours without sleeping.
func (o *Options) SetClock(now func() time.Time) { o.now = now }

// Payload is the JSON body of POST /api/event, as the snippet sends it.
type Payload struct {
	Site         string            `json:"site"`
	Kind         event.Kind        `json:"kind"`
	Name         string            `json:"name"`
	URL          string            `json:"url"`
	Referrer     string            `json:"referrer"`
	Title        string            `json:"title"`
	ScreenWidth  int               `json:"screen_width"`
	ScreenHeight int               `json:"screen_height"`
	Props        map[string]string `json:"props"`
	EngagedMs    int64             `json:"engaged_ms"`
	ScrollDepth  int               `json:"scroll_depth"`
	// AgeMs is how long ago, on the browser's clock, the event happened
	// relative to sending it (queued events). Bounded to MaxAge.
	AgeMs int64 `json:"age_ms"`
}

// MaxAge is the largest age_ms honoured: older events are refused.
const MaxAge = 24 * time.Hour

// Collector is the HTTP handler.
type Collector struct {
	opts    Options
	log     *slog.Logger
	metrics *metrics
}

// New checks the options and builds a collector.
func New(o Options) (*Collector, error) {
	if o.Publisher == nil || o.Sites == nil || o.Signer == nil {
		return nil, errors.New("collector: Publisher, Sites and Signer are required")
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = 16 << 10
	}
	if o.PublishTimeout <= 0 {
		o.PublishTimeout = 10 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.now == nil {
		o.now = time.Now
	}
	return &Collector{opts: o, log: o.Logger, metrics: newMetrics(o.Registerer)}, nil
}

// Mount adds the collector's routes to r.
func (c *Collector) Mount(r gin.IRoutes) {
	if c.opts.Snippet != nil {
		r.GET("/teller.js", gin.WrapH(c.opts.Snippet))
	}
	r.POST("/api/event", c.handleEvent)
	r.OPTIONS("/api/event", c.handlePreflight)
}

// apiError is the JSON body of every refusal.
type apiError struct {
	Error string `json:"error"`
	Field string `json:"field,omitempty"`
}

func (c *Collector) refuse(g *gin.Context, status int, reason, field, msg string) {
	c.metrics.rejected.WithLabelValues(reason).Inc()
	if body, ok := g.Get(bodyKey); ok && status == http.StatusBadRequest {
		c.DeadLetter(g.Request.Context(), reason, body.([]byte))
	}
	_ = g.Error(errors.New(msg))
	g.AbortWithStatusJSON(status, apiError{Error: msg, Field: field})
}

func (c *Collector) handleEvent(g *gin.Context) {
	now := c.opts.now()
	g.Header("Cache-Control", "no-store")
	body, err := io.ReadAll(http.MaxBytesReader(g.Writer, g.Request.Body, c.opts.MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			c.refuse(g, http.StatusRequestEntityTooLarge, "too_large", "", fmt.Sprintf("body is larger than %d bytes", c.opts.MaxBodyBytes))
			return
		}
		c.refuse(g, http.StatusBadRequest, "read", "", "could not read body: "+err.Error())
		return
	}
	g.Set(bodyKey, body)
	var p Payload
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		c.refuse(g, http.StatusBadRequest, "json", "", "body is not a valid event: "+err.Error())
		return
	}
	if dec.More() {
		c.refuse(g, http.StatusBadRequest, "json", "", "body has data after the event object")
		return
	}
	if p.Site == "" {
		c.refuse(g, http.StatusBadRequest, "site", "site", "site is missing")
		return
	}
	st, ok := c.opts.Sites.Lookup(p.Site)
	if !ok {
		c.refuse(g, http.StatusBadRequest, "unknown_site", "site", fmt.Sprintf("unknown site %q: register it first (teller site add)", p.Site))
		return
	}
	c.cors(g, &st)
	page, err := event.ParsePageURL(p.URL)
	if err != nil {
		c.refuse(g, http.StatusBadRequest, "url", "url", err.Error())
		return
	}
	if !st.OwnsHost(page.Hostname()) {
		c.refuse(g, http.StatusBadRequest, "foreign_host", "url",
			fmt.Sprintf("page host %q is not a domain of site %q (domains: %s)", page.Hostname(), st.ID, strings.Join(st.Domains, ", ")))
		return
	}
	if p.AgeMs < 0 || time.Duration(p.AgeMs)*time.Millisecond > MaxAge {
		c.refuse(g, http.StatusBadRequest, "age", "age_ms", fmt.Sprintf("age_ms must be 0..%d", MaxAge.Milliseconds()))
		return
	}
	if p.Name == "" {
		switch p.Kind {
		case event.KindPageview, event.KindEngagement:
			p.Name = string(p.Kind)
		}
	}

	visitor, isNew := c.visitor(g)
	ev := event.Event{
		V: event.Version, ID: uuid.New(), Site: st.ID, Visitor: visitor, NewVisitor: isNew,
		ReceivedMs: now.UnixMilli() - p.AgeMs,
		// Title and referrer are the page's, not the site owner's code: a long
		// one is cut (on a character boundary) rather than losing the event.
		Kind: p.Kind, Name: p.Name, URL: p.URL,
		Referrer: event.Clip(p.Referrer, event.MaxURLLength), Title: event.Clip(p.Title, event.MaxTitleLength),
		UserAgent:   event.Clip(g.Request.UserAgent(), event.MaxUserAgent),
		ScreenWidth: p.ScreenWidth, ScreenHeight: p.ScreenHeight,
		Campaign: campaign.FromQuery(page.RawQuery), Props: p.Props,
		EngagedMs: p.EngagedMs, ScrollDepth: p.ScrollDepth,
	}
	if err := ev.Validate(); err != nil {
		c.refuse(g, http.StatusBadRequest, "invalid", fieldOf(err), err.Error())
		return
	}
	value, err := event.Marshal(&ev)
	if err != nil {
		c.refuse(g, http.StatusBadRequest, "invalid", "", err.Error())
		return
	}
	ctx, cancel := context.WithTimeout(g.Request.Context(), c.opts.PublishTimeout)
	defer cancel()
	start := time.Now()
	err = c.opts.Publisher.Publish(ctx, bus.Message{Key: visitor[:], Value: value})
	c.metrics.publishSeconds.Observe(time.Since(start).Seconds())
	if err != nil {
		c.metrics.publishErrors.Inc()
		c.log.Error("publishing event failed", "site", st.ID, "err", err)
		_ = g.Error(err)
		g.AbortWithStatusJSON(http.StatusServiceUnavailable, apiError{Error: "event queue unavailable; retry later"})
		return
	}
	c.setCookie(g, visitor)
	c.metrics.accepted.WithLabelValues(string(ev.Kind)).Inc()
	if c.opts.Accepted != nil {
		c.opts.Accepted.Add(st.ID, ev.ReceivedMs)
	}
	if isNew {
		c.metrics.newVisitors.Inc()
	}
	g.JSON(http.StatusAccepted, gin.H{"id": ev.ID})
}

// bodyKey holds the request body in the gin context for refuse's dead letter.
const bodyKey = "teller.body"

// deadLetterTimeout bounds how long a refusal waits to keep its dead letter.
const deadLetterTimeout = 2 * time.Second

// DeadLetter keeps refused input in the dead-letter topic (Options.
// DeadLetterTopic; a no-op without one): the raw payload cut to
// bus.MaxDeadLetterPayload, the reason, the time and the site when the
// payload names one. A failure is logged and counted, never returned: the
// client's answer is the refusal either way.
func (c *Collector) DeadLetter(ctx context.Context, reason string, payload []byte) {
	if c.opts.DeadLetterTopic == "" {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, deadLetterTimeout)
	defer cancel()
	m := bus.NewDeadLetter(c.opts.now(), reason, payload).Message(c.opts.DeadLetterTopic)
	if err := c.opts.Publisher.Publish(ctx, m); err != nil {
		c.metrics.deadLetterErrors.Inc()
		c.log.Warn("keeping a refused event in the dead-letter topic failed", "reason", reason, "err", err)
	}
}

// visitor returns the id from a valid cookie, or a new one.
func (c *Collector) visitor(g *gin.Context) (uuid.UUID, bool) {
	v, err := g.Cookie(identity.CookieName)
	if err != nil || v == "" {
		return identity.NewVisitorID(), true
	}
	id, _, err := c.opts.Signer.Verify(v)
	if err != nil {
		c.metrics.badCookies.Inc()
		c.log.Debug("visitor cookie refused; issuing a new id", "err", err)
		return identity.NewVisitorID(), true
	}
	return id, false
}

// cookieMaxAge is 400 days, the most browsers keep a cookie.
const cookieMaxAge = 400 * 24 * time.Hour

func (c *Collector) setCookie(g *gin.Context, id uuid.UUID) {
	secure := g.Request.TLS != nil || strings.EqualFold(g.GetHeader("X-Forwarded-Proto"), "https")
	http.SetCookie(g.Writer, &http.Cookie{
		Name: identity.CookieName, Value: c.opts.Signer.Sign(id), Path: "/",
		Domain: c.opts.CookieDomain, MaxAge: int(cookieMaxAge.Seconds()),
		HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode,
	})
}

// cors allows the page's origin to read the answer and send credentials,
// when that origin is one of the site's hosts.
func (c *Collector) cors(g *gin.Context, st *site.Site) {
	origin := g.GetHeader("Origin")
	if origin == "" {
		return
	}
	u, err := url.Parse(origin)
	if err != nil || !st.OwnsHost(u.Hostname()) {
		return
	}
	h := g.Writer.Header()
	h.Set("Access-Control-Allow-Origin", origin)
	h.Set("Access-Control-Allow-Credentials", "true")
	h.Add("Vary", "Origin")
}

func (c *Collector) handlePreflight(g *gin.Context) {
	origin := g.GetHeader("Origin")
	u, err := url.Parse(origin)
	if origin == "" || err != nil {
		g.AbortWithStatus(http.StatusNoContent)
		return
	}
	for _, st := range c.opts.Sites.All() {
		if st.OwnsHost(u.Hostname()) {
			c.cors(g, &st)
			h := g.Writer.Header()
			h.Set("Access-Control-Allow-Methods", "POST")
			h.Set("Access-Control-Allow-Headers", "Content-Type")
			h.Set("Access-Control-Max-Age", "86400")
			break
		}
	}
	g.AbortWithStatus(http.StatusNoContent)
}

// fieldOf extracts the field an event validation error names, for the JSON
// answer's "field" member.
func fieldOf(err error) string {
	msg := strings.TrimPrefix(err.Error(), event.ErrInvalid.Error()+": ")
	f, _, _ := strings.Cut(msg, " ")
	return f
}
