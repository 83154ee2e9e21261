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
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/textproto"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/publicsuffix"

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

// waiter is an optional Publisher method (SpoolPublisher has it): false when
// Publish never waits on ctx (a spool append under a policy other than
// fsync always: a write to the page cache), so the publish timeout would
// bound nothing and the request skips its timer (5% of the CPU per request
// in the spool's profile). Publishers without it are bounded.
type waiter interface {
	WaitsOnContext() bool
}

// Countries looks up the country of a client address (pkg/geo).
type Countries interface {
	Country(ip string) string
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
	// pages on www.example.com). A site's own setting wins.
	CookieDomain string
	// CookieMaxAge is the visitor cookie's lifetime, renewed on every event
	// (default DefaultCookieMaxAge, 13 months).
	CookieMaxAge time.Duration
	// Limits are the rate limits; the zero value limits nothing.
	Limits Limits
	// ClientIPHeader, if set, names the header a trusted reverse proxy puts
	// the client address in (its last comma-separated entry counts), e.g.
	// X-Forwarded-For; otherwise the connection's address is the client's.
	ClientIPHeader string
	// Countries gives events their country; nil leaves it empty.
	Countries Countries
	// MaxBodyBytes bounds an event body (default DefaultMaxBodyBytes).
	MaxBodyBytes int64
	// PublishTimeout bounds the wait for Kafka per request (default 10 s).
	PublishTimeout time.Duration
	// DeadLetterTopic, if set, keeps every refusal's (400, 403, 413, 429)
	// raw payload, reason and time there through the Publisher (see
	// DeadLetter), at most DeadLetterRate per reason.
	DeadLetterTopic string
	// DeadLetterRate bounds the dead letters kept per refusal reason; the
	// others are only counted (default DefaultDeadLetterRate).
	DeadLetterRate Rate
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
	// Domain names the site by one of its domains instead of Site (the
	// Plausible API's d); not a member of Teller's JSON.
	Domain string `json:"-"`
}

// MaxAge is the largest age_ms honoured: older events are refused.
const MaxAge = 24 * time.Hour

// DefaultCookieMaxAge is 13 months, what European regulators accept for an
// audience-measurement cookie.
const DefaultCookieMaxAge = 395 * 24 * time.Hour

// Limits are the token buckets every event passes. A Rate with PerSecond 0
// is no limit.
type Limits struct {
	// Client is per client address.
	Client Rate
	// ClientAgent is per client address and user agent: one browser.
	ClientAgent Rate
	// Site is per site, unless the site sets its own (site.Settings).
	Site Rate
	// MaxBuckets bounds the buckets held per kind (default 100,000).
	MaxBuckets int
}

// Collector is the HTTP handler.
type Collector struct {
	opts       Options
	log        *slog.Logger
	metrics    *metrics
	cookieless *identity.Cookieless
	bots       *botCache
	sameSite   *sameSiteCache
	dates      dateCache
	// Token buckets, one limiter per kind so each evicts by its own rate.
	clients, agents, sites *limiter
	refusals               *refusalKeeper
}

// DefaultMaxBodyBytes bounds an event body unless Options say otherwise; the
// snippet keeps its batches under it (TestSnippetLimitsAreTheCollectors).
const DefaultMaxBodyBytes = 16 << 10

// New checks the options and builds a collector.
func New(o Options) (*Collector, error) {
	if o.Publisher == nil || o.Sites == nil || o.Signer == nil {
		return nil, errors.New("collector: Publisher, Sites and Signer are required")
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = DefaultMaxBodyBytes
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
	if o.CookieMaxAge <= 0 {
		o.CookieMaxAge = DefaultCookieMaxAge
	}
	if o.Limits.MaxBuckets <= 0 {
		o.Limits.MaxBuckets = 100_000
	}
	n := o.Limits.MaxBuckets
	return &Collector{opts: o, log: o.Logger, metrics: newMetrics(o.Registerer),
		cookieless: o.Signer.NewCookieless(0), bots: newBotCache(10_000), sameSite: newSameSiteCache(1024),
		clients: newLimiter(n), agents: newLimiter(n), sites: newLimiter(n),
		refusals: newRefusalKeeper(o.DeadLetterRate, o.Registerer)}, nil
}

// Mount adds the collector's routes to r.
func (c *Collector) Mount(r gin.IRoutes) {
	if c.opts.Snippet != nil {
		r.GET("/teller.js", gin.WrapH(c.opts.Snippet))
	}
	r.POST("/api/event", c.handleEvent)
	r.GET("/p.gif", c.handlePixel)
	r.OPTIONS("/api/event", c.handlePreflight)
}

// apiError is the JSON body of every refusal.
type apiError struct {
	Error string `json:"error"`
	Field string `json:"field,omitempty"`
}

func (c *Collector) refuse(g *gin.Context, status int, reason, field, msg string) {
	c.metrics.rejected.WithLabelValues(reason).Inc()
	c.keepRefused(g, reason)
	_ = g.Error(errors.New(msg))
	g.AbortWithStatusJSON(status, apiError{Error: msg, Field: field})
}

// tooMany answers 429 with Retry-After in whole seconds (at least 1).
func (c *Collector) tooMany(g *gin.Context, reason, what string, wait time.Duration) {
	secs := int((wait + time.Second - 1) / time.Second)
	g.Header("Retry-After", strconv.Itoa(max(1, secs)))
	c.refuse(g, http.StatusTooManyRequests, reason, "", what+" sends events faster than allowed; retry later")
}

// clientIP is the client's address: the connection's, or the trusted
// proxy's header's last entry.
func (c *Collector) clientIP(r *http.Request) string {
	if c.opts.ClientIPHeader != "" {
		if v := r.Header.Get(c.opts.ClientIPHeader); v != "" {
			if i := strings.LastIndexByte(v, ','); i >= 0 {
				v = v[i+1:]
			}
			if v = strings.TrimSpace(v); v != "" {
				return v
			}
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func (c *Collector) handleEvent(g *gin.Context) {
	g.Writer.Header()["Cache-Control"] = noStore
	in, ok := c.admit(g)
	if !ok {
		return
	}
	// One allocation holds what the request needs (see acceptScratch).
	sc := new(acceptScratch)
	body, err := readRequestBody(g.Writer, g.Request, c.opts.MaxBodyBytes)
	sc.body.b = body
	g.Request.Body = &sc.body // for refuse's dead letter: what was read, even of a 413
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			c.refuse(g, http.StatusRequestEntityTooLarge, "too_large", "", fmt.Sprintf("body is larger than %d bytes", c.opts.MaxBodyBytes))
			return
		}
		c.refuse(g, http.StatusBadRequest, "read", "", "could not read body: "+err.Error())
		return
	}
	payloads, err := DecodeBody(body)
	if err != nil {
		c.refuseDecode(g, err)
		return
	}
	c.accept(g, in, payloads, false, sc)
}

// readRequestBody reads r's body, at most limit bytes. A body that declares
// its length within the limit (the snippet's always does) is read into a
// buffer of that length, one allocation; net/http's reader already stops at
// the declared length. Any other (chunked, or declared too long) is read
// through MaxBytesReader as before, so a 413's dead letter keeps what was
// read. On a failure the bytes read are returned with the error.
func readRequestBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	if n := r.ContentLength; n >= 0 && n <= limit {
		b := make([]byte, n)
		got, err := io.ReadFull(r.Body, b)
		return b[:got], err
	}
	return io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
}

// pixelGIF is a transparent 1x1 GIF.
var pixelGIF = []byte("GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\x00\x00\x00!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;")

// handlePixel is GET /p.gif, for pages without JavaScript and e-mails.
func (c *Collector) handlePixel(g *gin.Context) {
	g.Writer.Header()["Cache-Control"] = noStore
	in, ok := c.admit(g)
	if !ok {
		return
	}
	p, err := DecodePixel(g.Request.URL.Query(), g.GetHeader("Referer"))
	if err != nil {
		c.refuseDecode(g, err)
		return
	}
	c.accept(g, in, []Payload{p}, true, new(acceptScratch))
}

func (c *Collector) refuseDecode(g *gin.Context, err error) {
	var de *decodeError
	if errors.As(err, &de) {
		reason := "json"
		if de.field != "" {
			reason = de.field
		}
		c.refuse(g, http.StatusBadRequest, reason, de.field, de.msg)
		return
	}
	c.refuse(g, http.StatusBadRequest, "json", "", err.Error())
}

// request is what every event of one request shares.
type request struct {
	now, wall time.Time
	ip, ua    string
}

// admit checks the client's buckets before anything is read: a flood costs
// as little as possible.
func (c *Collector) admit(g *gin.Context) (request, bool) {
	in := request{now: c.opts.now(), wall: time.Now(), ip: c.clientIP(g.Request), ua: g.Request.UserAgent()}
	g.Writer.Header()["Date"] = c.dates.header(in.wall)
	// An unlimited rate (0) needs no bucket, so no key is hashed for it.
	if r := c.opts.Limits.Client; r.PerSecond > 0 {
		if ok, wait := c.clients.allow(c.clients.key('a', in.ip), r, in.wall); !ok {
			c.tooMany(g, "rate_client", "this address", wait)
			return in, false
		}
	}
	if r := c.opts.Limits.ClientAgent; r.PerSecond > 0 {
		if ok, wait := c.agents.allow(c.agents.key('u', in.ip, in.ua), r, in.wall); !ok {
			c.tooMany(g, "rate_browser", "this browser", wait)
			return in, false
		}
	}
	return in, true
}

// siteOf finds the payload's site by id, or by domain for Plausible's API.
func (c *Collector) siteOf(p *Payload) (site.Site, bool) {
	if p.Site != "" {
		return c.opts.Sites.Lookup(p.Site)
	}
	for _, st := range c.opts.Sites.All() {
		if st.OwnsHost(p.Domain) {
			return st, true
		}
	}
	return site.Site{}, false
}

// rejection is one refused event of a batch.
type rejection struct {
	Index int    `json:"index"`
	Error string `json:"error"`
	Field string `json:"field,omitempty"`
}

// accept checks and publishes the events of one request (all of one site).
// A batch keeps its good events: they are published and the answer lists the
// refused ones; when none is good, the first refusal is the answer.
func (c *Collector) accept(g *gin.Context, in request, payloads []Payload, pixel bool, sc *acceptScratch) {
	first := &payloads[0]
	if first.Site == "" && first.Domain == "" {
		c.refuse(g, http.StatusBadRequest, "site", "site", "site is missing")
		return
	}
	st, ok := c.siteOf(first)
	if !ok {
		c.refuse(g, http.StatusForbidden, "unknown_site", "site", fmt.Sprintf("unknown site %.80q: register it first (teller site add)", first.Site+first.Domain))
		return
	}
	// Origin is parsed once, for the source check and CORS alike: the page
	// may read the answer (a refusal too) when its origin is the site's.
	origin := g.GetHeader("Origin")
	header, msg := checkSource(&st, origin, g.GetHeader("Referer"))
	if origin != "" && header != "Origin" {
		sc.origin[0] = origin
		allowOrigin(g, sc.origin[:1:1])
	}
	if header != "" {
		c.refuse(g, http.StatusForbidden, strings.ToLower(header), "", msg)
		return
	}
	if c.optedOut(g, &st) {
		return
	}
	siteRate := c.opts.Limits.Site
	if st.Settings.RateLimit > 0 {
		siteRate = Rate{PerSecond: st.Settings.RateLimit, Burst: st.Settings.RateBurst}
		if siteRate.Burst <= 0 {
			siteRate.Burst = max(1, int(2*siteRate.PerSecond))
		}
	}
	if siteRate.PerSecond > 0 {
		if ok, wait := c.sites.allow(c.sites.key('s', st.ID), siteRate, in.wall); !ok {
			c.tooMany(g, "rate_site", "site "+st.ID, wait)
			return
		}
	}

	var visitor uuid.UUID
	var isNew bool
	var signed string
	if st.Settings.Cookieless() {
		// The address is used for the hash here, and then dropped.
		visitor, isNew = c.cookieless.Visitor(in.now, st.ID, in.ip, in.ua)
	} else {
		visitor, isNew, signed = c.visitor(g)
	}
	sc.key = visitor
	var (
		msgs     = sc.msgs[:0]
		kinds    = sc.kinds[:0]
		ids      = sc.ids[:0]
		times    = sc.times[:0] // ReceivedMs, for Options.Accepted
		rejected []rejection
		pageHost string
		dropped  int
	)
	var batchIDs []uuid.UUID
	if len(payloads) > 1 {
		batchIDs = ascendingIDs(len(payloads))
	}
	for i := range payloads {
		into := &sc.ev
		if i > 0 {
			into = new(event.Event)
		}
		var id uuid.UUID
		if batchIDs != nil {
			id = batchIDs[i]
		} else {
			id = uuid.New()
		}
		ev, host, status, reason, field, msg := c.build(g, in, &st, &payloads[i], id, visitor, isNew, into)
		if status == http.StatusNoContent {
			dropped++
			continue
		}
		if status != 0 {
			if len(payloads) == 1 {
				c.refuse(g, status, reason, field, msg)
				return
			}
			c.metrics.rejected.WithLabelValues(reason).Inc()
			if len(rejected) == 0 {
				c.keepRefused(g, reason) // the batch, once, under its first refusal's reason
			}
			rejected = append(rejected, rejection{Index: i, Error: msg, Field: field})
			continue
		}
		value, err := event.Marshal(ev)
		if err != nil {
			rejected = append(rejected, rejection{Index: i, Error: err.Error()})
			continue
		}
		pageHost = host
		msgs = append(msgs, bus.Message{Key: sc.key[:], Value: value})
		kinds, ids, times = append(kinds, ev.Kind), append(ids, ev.ID), append(times, ev.ReceivedMs)
	}
	if len(msgs) == 0 {
		if dropped > 0 {
			g.AbortWithStatus(http.StatusNoContent)
			return
		}
		g.AbortWithStatusJSON(http.StatusBadRequest, gin.H{"error": "no event of the batch is valid", "rejected": rejected})
		return
	}
	ctx := g.Request.Context()
	if w, ok := c.opts.Publisher.(waiter); !ok || w.WaitsOnContext() {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.opts.PublishTimeout)
		defer cancel()
	}
	start := time.Now()
	err := c.opts.Publisher.Publish(ctx, msgs...)
	c.metrics.publishSeconds.Observe(time.Since(start).Seconds())
	if err != nil {
		c.metrics.publishErrors.Inc()
		c.log.Error("publishing event failed", "site", st.ID, "events", len(msgs), "err", err)
		_ = g.Error(err)
		g.AbortWithStatusJSON(http.StatusServiceUnavailable, apiError{Error: "event queue unavailable; retry later"})
		return
	}
	if !st.Settings.Cookieless() {
		c.setCookie(g, &st, pageHost, visitor, signed, &sc.cookie)
	}
	for i, k := range kinds {
		c.metrics.acceptedKind(k).Inc()
		if c.opts.Accepted != nil {
			c.opts.Accepted.Add(st.ID, times[i])
		}
	}
	if isNew {
		c.metrics.newVisitors.Inc()
	}
	switch {
	case pixel:
		writeFixed(g, http.StatusOK, imageGIF, pixelGIF)
	case len(payloads) == 1:
		// The fixed answer without a JSON encoder: it is on every request.
		writeFixed(g, http.StatusAccepted, jsonUTF8, appendIDAnswer(sc.answer[:0], ids[0]))
	case len(rejected) == 0:
		// A batch without refusals (an app navigation's): written as the
		// single event's answer is, without an encoder.
		writeFixed(g, http.StatusAccepted, jsonUTF8, appendIDsAnswer(sc.answer[:0], ids))
	default:
		g.JSON(http.StatusAccepted, gin.H{"ids": ids, "rejected": rejected})
	}
}

// Header values every answer of a kind carries, shared rather than made per
// request. Each has length and capacity 1, so an Add after ours appends to a
// copy; nothing in net/http or gin writes a value slice in place.
var (
	noStore  = []string{"no-store"}
	jsonUTF8 = []string{"application/json; charset=utf-8"}
	imageGIF = []string{"image/gif"}
	yes      = []string{"true"}
	vary     = []string{"Origin"}
)

// writeFixed is gin's Data for an answer with a body (200, 202) and a
// shared Content-Type value: Data makes the value's slice on every call.
func writeFixed(g *gin.Context, status int, contentType []string, body []byte) {
	g.Writer.Header()["Content-Type"] = contentType
	g.Status(status)
	_, _ = g.Writer.Write(body)
}

// idAnswerBytes is the length of idAnswer's answer.
const idAnswerBytes = len(`{"id":""}`) + 36

// idAnswer is {"id":"<id>"} in one allocation (id.String and the
// concatenation made three).
func idAnswer(id uuid.UUID) []byte { return appendIDAnswer(make([]byte, 0, idAnswerBytes), id) }

// appendIDAnswer appends idAnswer's answer to b (the request's scratch:
// no allocation).
// appendIDsAnswer appends a batch's answer when none of its events was
// refused: what gin.JSON writes for gin.H{"ids": ids, "rejected": nil}
// (encoding/json sorts the keys), without the encoder (TestBatch).
func appendIDsAnswer(b []byte, ids []uuid.UUID) []byte {
	b = append(b, `{"ids":[`...)
	for i, id := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		b = event.AppendUUID(append(b, '"'), id)
		b = append(b, '"')
	}
	return append(b, `],"rejected":null}`...)
}

func appendIDAnswer(b []byte, id uuid.UUID) []byte {
	b = event.AppendUUID(append(b, `{"id":"`...), id)
	return append(b, `"}`...)
}

// acceptScratch is a request's storage for what one event needs (the read
// body, the event, its message's key, the header values made per request,
// the slices' first elements, the answer): one allocation per request; a
// batch grows past it as append does.
type acceptScratch struct {
	body   readBody
	answer [idAnswerBytes]byte
	ev     event.Event
	origin [1]string // Access-Control-Allow-Origin's value
	cookie [1]string // Set-Cookie's value
	key    uuid.UUID // the messages' key, the visitor
	msgs   [1]bus.Message
	kinds  [1]event.Kind
	ids    [1]uuid.UUID
	times  [1]int64
}

// ascendingIDs are n new random event ids in ascending order. A batch's
// events usually share the receive millisecond, and the session rules order
// events of one millisecond by id (sessions.md): ids ascending in the
// batch's order make that order the one the browser sent them in, so an
// app navigation's page view (after the engagement of the page left) is
// the later event, and the exit page when the session ends there.
func ascendingIDs(n int) []uuid.UUID {
	ids := make([]uuid.UUID, n)
	for i := range ids {
		ids[i] = uuid.New()
	}
	slices.SortFunc(ids, func(a, b uuid.UUID) int { return bytes.Compare(a[:], b[:]) })
	return ids
}

// build turns one payload into an event, written into into, or says why
// not: status 0 is an event to publish, 204 a bot the site drops, anything
// else a refusal.
func (c *Collector) build(g *gin.Context, in request, st *site.Site, p *Payload, id, visitor uuid.UUID, isNew bool, into *event.Event) (
	ev *event.Event, host string, status int, reason, field, msg string) {
	page, err := event.ParsePageURL(p.URL)
	if err != nil {
		return nil, "", http.StatusBadRequest, "url", "url", err.Error()
	}
	if !st.OwnsHost(page.Hostname()) {
		return nil, "", http.StatusBadRequest, "foreign_host", "url",
			fmt.Sprintf("page host %.80q is not a domain of site %q (domains: %s)", page.Hostname(), st.ID, strings.Join(st.Domains, ", "))
	}
	if p.AgeMs < 0 || time.Duration(p.AgeMs)*time.Millisecond > MaxAge {
		return nil, "", http.StatusBadRequest, "age", "age_ms", fmt.Sprintf("age_ms must be 0..%d", MaxAge.Milliseconds())
	}
	if p.Name == "" {
		switch p.Kind {
		case event.KindPageview, event.KindEngagement:
			p.Name = string(p.Kind)
		}
	}
	ev = into
	*ev = event.Event{
		V: event.Version, ID: id, Site: st.ID, Visitor: visitor, NewVisitor: isNew,
		ReceivedMs: in.now.UnixMilli() - p.AgeMs,
		Kind:       p.Kind, Name: p.Name,
		// The campaign is read from the URL as sent; the stored URL and
		// referrer keep only the allow-listed query parameters.
		Campaign: campaign.FromQuery(page.RawQuery),
		URL:      StripURL(p.URL, st.Settings.QueryParams),
		// Title and referrer are the page's, not the site owner's code: a long
		// one is cut (on a character boundary) rather than losing the event.
		Referrer:    StripURL(event.Clip(p.Referrer, event.MaxURLLength), st.Settings.QueryParams),
		Title:       event.Clip(p.Title, event.MaxTitleLength),
		UserAgent:   event.Clip(in.ua, event.MaxUserAgent),
		ScreenWidth: p.ScreenWidth, ScreenHeight: p.ScreenHeight,
		Props:     p.Props,
		EngagedMs: p.EngagedMs, ScrollDepth: p.ScrollDepth,
	}
	if ev.URL == p.URL { // no parameter stripped: page is its parse
		ev.UsePageURL(page)
	}
	if err := ev.Validate(); err != nil {
		return nil, "", http.StatusBadRequest, "invalid", fieldOf(err), err.Error()
	}
	if st.Settings.DropBots() {
		if reason := c.bots.reason(g.Request.Header, in.ua); reason != "" {
			class, _, _ := strings.Cut(reason, ":")
			c.metrics.droppedBots.WithLabelValues(class).Inc()
			return nil, "", http.StatusNoContent, "", "", ""
		}
	} else if prefetch(g.Request.Header) {
		// Kept, and flagged; crawlers and headless browsers are flagged
		// downstream from the user agent.
		ev.Bot = "prefetch"
	}
	if c.opts.Countries != nil {
		ev.Country = c.opts.Countries.Country(in.ip)
	}
	return ev, page.Hostname(), 0, "", "", ""
}

// readBody stands for the request's body once handleEvent has read it, so
// refusedInput keeps what was read. It replaces the gin context's key map,
// which cost a map and an interface per request. (The server closes the
// body it made itself.)
type readBody struct{ b []byte }

func (*readBody) Read([]byte) (int, error) { return 0, io.EOF }
func (*readBody) Close() error             { return nil }

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
// signed is the cookie value to send back: the browser's own when the
// current key signed it (no second HMAC per answer), else "" (sign anew).
func (c *Collector) visitor(g *gin.Context) (id uuid.UUID, isNew bool, signed string) {
	v, ok := cookieValue(g.Request.Header, identity.CookieName)
	if !ok {
		v, _ = g.Cookie(identity.CookieName)
	}
	if v == "" {
		return identity.NewVisitorID(), true, ""
	}
	id, stale, err := c.opts.Signer.Verify(v)
	if err != nil {
		c.metrics.badCookies.Inc()
		c.log.Debug("visitor cookie refused; issuing a new id", "err", err)
		return identity.NewVisitorID(), true, ""
	}
	if stale {
		return id, false, ""
	}
	return id, false, v
}

// fastCookies is the most cookies cookieValue reads itself; a header with
// more goes to net/http, which applies its own limit (GODEBUG
// httpcookiemaxnum, 3,000 by default).
const fastCookies = 64

// cookieValue is gin's Context.Cookie(name) (net/http's Request.Cookie,
// then url.QueryUnescape) for a name that is a token, without the two
// allocations per request: the first cookie of that name whose value,
// without its double quotes, is made of valid cookie bytes. ok is false when
// the header has more than fastCookies cookies (the caller asks gin then).
// TestCookieValueIsGins and FuzzCookieValueIsGins hold it to gin.
func cookieValue(h http.Header, name string) (value string, ok bool) {
	lines := h["Cookie"]
	n := 0
	for _, line := range lines {
		if n += strings.Count(line, ";") + 1; n > fastCookies {
			return "", false
		}
	}
	for _, line := range lines {
		line = textproto.TrimString(line)
		for len(line) > 0 {
			var part string
			part, line, _ = strings.Cut(line, ";")
			part = textproto.TrimString(part)
			k, v, _ := strings.Cut(part, "=")
			if part == "" || textproto.TrimString(k) != name {
				continue
			}
			if len(v) > 1 && v[0] == '"' && v[len(v)-1] == '"' {
				v = v[1 : len(v)-1]
			}
			if !validCookieValue(v) {
				continue
			}
			u, _ := url.QueryUnescape(v) // "" when it does not unescape, as gin's
			return u, true
		}
	}
	return "", true
}

// validCookieValue is net/http's rule for the bytes of a cookie value.
func validCookieValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if b := v[i]; b < 0x20 || b >= 0x7f || b == '"' || b == ';' || b == '\\' {
			return false
		}
	}
	return true
}

// setCookie sets (or renews) the visitor cookie. SameSite follows the
// site's setting; "auto" is Lax when the collector and the page share a
// registrable domain (a first-party cookie) and None otherwise, which
// browsers accept only with Secure. into holds the header's value when it is
// the answer's only cookie.
func (c *Collector) setCookie(g *gin.Context, st *site.Site, pageHost string, id uuid.UUID, signed string, into *[1]string) {
	if signed == "" {
		signed = c.opts.Signer.Sign(id)
	}
	secure := g.Request.TLS != nil || strings.EqualFold(g.GetHeader("X-Forwarded-Proto"), "https")
	sameSite := http.SameSiteLaxMode
	switch st.Settings.SameSite {
	case site.SameSiteStrict:
		sameSite = http.SameSiteStrictMode
	case site.SameSiteNone:
		sameSite, secure = http.SameSiteNoneMode, true
	case site.SameSiteLax:
	default:
		if !c.sameSite.same(hostWithoutPort(g.Request.Host), pageHost) {
			sameSite, secure = http.SameSiteNoneMode, true
		}
	}
	domain := c.opts.CookieDomain
	if st.Settings.CookieDomain != "" {
		domain = st.Settings.CookieDomain
	}
	ck := http.Cookie{
		Name: identity.CookieName, Value: signed, Path: "/",
		Domain: domain, MaxAge: int(c.opts.CookieMaxAge.Seconds()),
		HttpOnly: true, Secure: secure, SameSite: sameSite,
	}
	h := g.Writer.Header()
	if v := h["Set-Cookie"]; len(v) > 0 {
		h["Set-Cookie"] = append(v, visitorCookie(&ck))
		return
	}
	into[0] = visitorCookie(&ck)
	h["Set-Cookie"] = into[:1:1]
}

// hostWithoutPort is a Host header's host: without its port when it has
// one, else the whole value, as when net.SplitHostPort fails (whose error,
// made on every port-less Host behind a proxy, is skipped).
func hostWithoutPort(hostport string) string {
	i := strings.LastIndexByte(hostport, ':')
	if i < 0 || strings.IndexByte(hostport[i:], ']') >= 0 {
		return hostport // no port: "example.com", "[::1]"
	}
	if host, _, err := net.SplitHostPort(hostport); err == nil {
		return host
	}
	return hostport
}

// base64URLDotted reports whether v is made of base64url and dots only (the
// signed visitor id), which a cookie carries as it is. It reads a table: it
// runs over every answer's cookie value.
func base64URLDotted(v string) bool {
	for i := 0; i < len(v); i++ {
		if !base64URLDottedBytes[v[i]] {
			return false
		}
	}
	return v != ""
}

// base64URLDottedBytes marks the bytes base64URLDotted allows.
var base64URLDottedBytes = func() (t [256]bool) {
	for b := range 256 {
		t[b] = b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '-' || b == '_' || b == '.'
	}
	return t
}()

// visitorCookie is ck.String() for the visitor cookie, written directly
// when it needs none of String's checks (no Domain, a value of signed
// base64url, so nothing to quote or drop): it is on every accepted request,
// and String sanitizes and validates each field. TestVisitorCookieIsString
// holds it to String.
func visitorCookie(ck *http.Cookie) string {
	if ck.Domain != "" || !base64URLDotted(ck.Value) || ck.MaxAge <= 0 || ck.Path != "/" || !ck.HttpOnly {
		return ck.String()
	}
	var b strings.Builder
	b.Grow(len(ck.Name) + len(ck.Value) + 80)
	b.WriteString(ck.Name)
	b.WriteByte('=')
	b.WriteString(ck.Value)
	b.WriteString("; Path=/; Max-Age=")
	var digits [20]byte
	b.Write(strconv.AppendInt(digits[:0], int64(ck.MaxAge), 10))
	b.WriteString("; HttpOnly")
	if ck.Secure {
		b.WriteString("; Secure")
	}
	switch ck.SameSite {
	case http.SameSiteNoneMode:
		b.WriteString("; SameSite=None")
	case http.SameSiteLaxMode:
		b.WriteString("; SameSite=Lax")
	case http.SameSiteStrictMode:
		b.WriteString("; SameSite=Strict")
	}
	return b.String()
}

// SameRegistrableDomain reports whether two hosts share a registrable domain
// (eTLD+1 by the public suffix list): then a cookie set by one is first-party
// on the other.
func SameRegistrableDomain(a, b string) bool {
	a, b = strings.TrimSuffix(strings.ToLower(a), "."), strings.TrimSuffix(strings.ToLower(b), ".")
	if a == b {
		return true
	}
	ra, err := publicsuffix.EffectiveTLDPlusOne(a)
	if err != nil {
		return false
	}
	rb, err := publicsuffix.EffectiveTLDPlusOne(b)
	return err == nil && ra == rb
}

// cors allows the page's origin to read the answer and send credentials,
// when that origin is one of the site's hosts.
func (c *Collector) cors(g *gin.Context, st *site.Site) {
	origin := g.GetHeader("Origin")
	if origin == "" || fromSite(st, origin) != nil {
		return
	}
	allowOrigin(g, []string{origin})
}

// allowOrigin sets the CORS headers for origin (the header's value: one
// element, no spare capacity), which the caller checked.
func allowOrigin(g *gin.Context, origin []string) {
	// The keys are canonical already: the map is written directly rather
	// than through Set and Add, which canonicalize them on every request.
	h := g.Writer.Header()
	h["Access-Control-Allow-Origin"] = origin
	h["Access-Control-Allow-Credentials"] = yes
	if v := h["Vary"]; len(v) > 0 {
		h["Vary"] = append(v, "Origin")
	} else {
		h["Vary"] = vary
	}
}

func (c *Collector) handlePreflight(g *gin.Context) {
	origin := g.GetHeader("Origin")
	if origin == "" {
		g.AbortWithStatus(http.StatusNoContent)
		return
	}
	for _, st := range c.opts.Sites.All() {
		if fromSite(&st, origin) == nil {
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
