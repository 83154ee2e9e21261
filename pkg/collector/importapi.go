package collector

// The history import endpoint, POST /api/import: batches of events with
// explicit timestamps and visitors, trusted only under a site's import token
// and published to a topic of their own (see pkg/importer's package comment
// for why: the partition clock).

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/teller-analytics/teller/pkg/bus"
	"github.com/teller-analytics/teller/pkg/enrich/campaign"
	"github.com/teller-analytics/teller/pkg/event"
	"github.com/teller-analytics/teller/pkg/importer"
)

// ImportTokens finds a live import token by its secret.
type ImportTokens interface {
	Lookup(ctx context.Context, secret string) (importer.Token, bool, error)
}

// ImportOptions configure the import endpoint. Required: Publisher, Sites,
// Tokens.
type ImportOptions struct {
	// Publisher publishes to the import topic, never the live one.
	Publisher Publisher
	Sites     Sites
	Tokens    ImportTokens
	// Horizon is how far back an event may lie (default importer.DefaultHorizon).
	Horizon time.Duration
	// PublishTimeout bounds the wait for Kafka per batch (default 30 s).
	PublishTimeout time.Duration
	Logger         *slog.Logger
	// Registerer receives the endpoint's metrics; nil for none.
	Registerer prometheus.Registerer

	now func() time.Time
}

// SetClock replaces the clock that bounds event times (tests only).
func (o *ImportOptions) SetClock(now func() time.Time) { o.now = now }

// ImportAPI serves POST /api/import.
type ImportAPI struct {
	opts     ImportOptions
	log      *slog.Logger
	accepted prometheus.Counter
	rejected *prometheus.CounterVec
}

// NewImportAPI checks the options and builds the endpoint.
func NewImportAPI(o ImportOptions) (*ImportAPI, error) {
	if o.Publisher == nil || o.Sites == nil || o.Tokens == nil {
		return nil, errors.New("collector: import: Publisher, Sites and Tokens are required")
	}
	if o.Horizon <= 0 {
		o.Horizon = importer.DefaultHorizon
	}
	if o.PublishTimeout <= 0 {
		o.PublishTimeout = 30 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.now == nil {
		o.now = time.Now
	}
	a := &ImportAPI{opts: o, log: o.Logger,
		accepted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "teller_collector_import_events_accepted_total", Help: "Imported events published to the import topic.",
		}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "teller_collector_import_rejected_total", Help: "Import requests refused whole, or single events of a batch refused, by reason.",
		}, []string{"reason"}),
	}
	if o.Registerer != nil {
		o.Registerer.MustRegister(a.accepted, a.rejected)
	}
	return a, nil
}

// Mount adds POST /api/import to r.
func (a *ImportAPI) Mount(r gin.IRoutes) { r.POST("/api/import", a.handle) }

func (a *ImportAPI) refuse(g *gin.Context, status int, reason, msg string) {
	a.rejected.WithLabelValues(reason).Inc()
	_ = g.Error(errors.New(msg))
	g.AbortWithStatusJSON(status, apiError{Error: msg})
}

func (a *ImportAPI) handle(g *gin.Context) {
	now := a.opts.now()
	g.Header("Cache-Control", "no-store")
	secret, ok := strings.CutPrefix(g.GetHeader("Authorization"), "Bearer ")
	if !ok || secret == "" {
		g.Header("WWW-Authenticate", `Bearer realm="teller import"`)
		a.refuse(g, http.StatusUnauthorized, "token", "import needs an import token: Authorization: Bearer <token> (teller import token add)")
		return
	}
	tok, ok, err := a.opts.Tokens.Lookup(g.Request.Context(), strings.TrimSpace(secret))
	if err != nil {
		a.log.Error("import token lookup failed", "err", err)
		a.refuse(g, http.StatusServiceUnavailable, "token_store", "import tokens cannot be checked right now; retry later")
		return
	}
	if !ok {
		g.Header("WWW-Authenticate", `Bearer realm="teller import", error="invalid_token"`)
		a.refuse(g, http.StatusUnauthorized, "token", "import token unknown or revoked")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(g.Writer, g.Request.Body, importer.MaxBatchBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			a.refuse(g, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("body is larger than %d bytes: send smaller batches", importer.MaxBatchBytes))
			return
		}
		a.refuse(g, http.StatusBadRequest, "read", "could not read body: "+err.Error())
		return
	}
	var b importer.Batch
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil {
		a.refuse(g, http.StatusBadRequest, "json", "body is not an import batch: "+err.Error())
		return
	}
	switch {
	case b.Site != tok.Site:
		a.refuse(g, http.StatusForbidden, "site", fmt.Sprintf("this token imports into site %q, not %q", tok.Site, b.Site))
		return
	case len(b.Events) == 0:
		a.refuse(g, http.StatusBadRequest, "empty", "batch has no events")
		return
	case len(b.Events) > importer.MaxBatchEvents:
		a.refuse(g, http.StatusRequestEntityTooLarge, "too_many", fmt.Sprintf("batch has %d events; at most %d", len(b.Events), importer.MaxBatchEvents))
		return
	}
	st, ok := a.opts.Sites.Lookup(b.Site)
	if !ok {
		a.refuse(g, http.StatusBadRequest, "unknown_site", fmt.Sprintf("unknown site %q: register it first (teller site add)", b.Site))
		return
	}

	bounds := importer.Bounds{Now: now, Horizon: a.opts.Horizon}
	type good struct {
		at  int64
		msg bus.Message
	}
	var res importer.Result
	keep := make([]good, 0, len(b.Events))
	for i := range b.Events {
		ev, err := a.toEvent(&b.Events[i], b.Site, bounds, st.OwnsHost)
		if err == nil {
			var value []byte
			if value, err = event.Marshal(&ev); err == nil {
				keep = append(keep, good{at: ev.ReceivedMs, msg: bus.Message{Key: ev.Visitor[:], Value: value}})
				continue
			}
		}
		a.rejected.WithLabelValues("event").Inc()
		res.Rejected = append(res.Rejected, importer.Rejection{Index: i, Error: err.Error()})
	}
	// In time order, so that the batch moves its partitions' clocks forward
	// once instead of flagging its own earlier events late.
	slices.SortStableFunc(keep, func(x, y good) int { return cmp.Compare(x.at, y.at) })
	msgs := make([]bus.Message, len(keep))
	for i := range keep {
		msgs[i] = keep[i].msg
	}
	if len(msgs) > 0 {
		ctx, cancel := context.WithTimeout(g.Request.Context(), a.opts.PublishTimeout)
		defer cancel()
		if err := a.opts.Publisher.Publish(ctx, msgs...); err != nil {
			a.log.Error("publishing imported events failed", "site", st.ID, "events", len(msgs), "err", err)
			a.refuse(g, http.StatusServiceUnavailable, "publish", "import queue unavailable; retry the batch later (event ids make that safe)")
			return
		}
	}
	res.Accepted = len(msgs)
	a.accepted.Add(float64(len(msgs)))
	g.JSON(http.StatusOK, res)
}

// toEvent checks one imported event and makes it an event.Event, the same
// message the live endpoint publishes, with the import's time and visitor.
func (a *ImportAPI) toEvent(in *importer.Event, site string, bounds importer.Bounds, ownsHost func(string) bool) (event.Event, error) {
	if err := in.Check(bounds); err != nil {
		return event.Event{}, err
	}
	page, err := event.ParsePageURL(in.URL)
	if err != nil {
		return event.Event{}, err
	}
	if !ownsHost(page.Hostname()) {
		return event.Event{}, fmt.Errorf("page host %q is not a domain of site %q", page.Hostname(), site)
	}
	name := in.Name
	if name == "" && (in.Kind == event.KindPageview || in.Kind == event.KindEngagement) {
		name = string(in.Kind)
	}
	id := in.ID
	if id == uuid.Nil {
		id = uuid.New()
	}
	ev := event.Event{
		V: event.Version, ID: id, Site: site, Visitor: importer.VisitorID(site, in.Visitor), NewVisitor: in.NewVisitor,
		ReceivedMs: in.TimeMs, Kind: in.Kind, Name: name, URL: in.URL,
		Referrer: event.Clip(in.Referrer, event.MaxURLLength), Title: event.Clip(in.Title, event.MaxTitleLength),
		UserAgent:   event.Clip(in.UserAgent, event.MaxUserAgent),
		ScreenWidth: in.ScreenWidth, ScreenHeight: in.ScreenHeight,
		Campaign: campaign.FromQuery(page.RawQuery), Props: in.Props,
		EngagedMs: in.EngagedMs, ScrollDepth: in.ScrollDepth,
	}
	return ev, ev.Validate()
}
