package collector

import (
	"io"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/teller-analytics/teller/pkg/bus"
)

// Every refusal (400, 403, 413, 429) is kept in the dead-letter topic, but
// only as fast as a token bucket per reason allows: a flood of refused
// requests (a forged-origin script, a client past its rate) would otherwise
// become a flood of Kafka records and of spool bytes. Refusals past the
// bucket are counted by reason (teller_collector_dead_letters_not_kept_total)
// and not stored: the refusal counter and this one together say how many
// there were.

// DefaultDeadLetterRate is the dead letters kept per refusal reason unless
// Options.DeadLetterRate says otherwise: a steady 10 a second, bursts of 100.
var DefaultDeadLetterRate = Rate{PerSecond: 10, Burst: 100}

// refusalKeeper decides which refusals become dead letters.
type refusalKeeper struct {
	rate    Rate
	buckets *limiter
	notKept *prometheus.CounterVec
}

func newRefusalKeeper(rate Rate, reg prometheus.Registerer) *refusalKeeper {
	if rate.PerSecond <= 0 {
		rate = DefaultDeadLetterRate
	}
	k := &refusalKeeper{rate: rate,
		// One bucket per reason: reasons are a fixed set of names.
		buckets: newLimiter(limiterShards * 4),
		notKept: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "teller_collector_dead_letters_not_kept_total",
			Help: "Refusals counted but not kept in the dead-letter topic because their reason's dead-letter rate was exceeded, by reason.",
		}, []string{"reason"})}
	if reg != nil {
		reg.MustRegister(k.notKept)
	}
	return k
}

// keepRefused keeps one refusal's input in the dead-letter topic, if the
// reason's bucket has a token: the body when it was read (all of it, or the
// part read before a 413), what is left of it to read otherwise (a 429 is
// answered before reading), and a pixel's query string. The raw client
// address is never part of it.
func (c *Collector) keepRefused(g *gin.Context, reason string) {
	if c.opts.DeadLetterTopic == "" {
		return
	}
	k := c.refusals
	if ok, _ := k.buckets.allow(k.buckets.key('d', reason), k.rate, time.Now()); !ok {
		k.notKept.WithLabelValues(reason).Inc()
		return
	}
	c.DeadLetter(g.Request.Context(), reason, refusedInput(g))
}

// refusedInput is the raw input of a refused request, at most one byte more
// than bus.MaxDeadLetterPayload keeps (so the record says it was cut).
func refusedInput(g *gin.Context) []byte {
	if body, ok := g.Request.Body.(*readBody); ok {
		return body.b
	}
	r := g.Request
	if r.Method == http.MethodGet {
		return []byte(r.URL.RawQuery)
	}
	if r.Body == nil {
		return nil
	}
	// Bounded by the limit and by the server's read timeout; the refusal's
	// answer does not depend on it, so a read error keeps what was read.
	b, _ := io.ReadAll(io.LimitReader(r.Body, bus.MaxDeadLetterPayload+1))
	return b
}
