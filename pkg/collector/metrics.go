package collector

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/teller-analytics/teller/pkg/event"
)

type metrics struct {
	accepted         *prometheus.CounterVec
	rejected         *prometheus.CounterVec
	droppedBots      *prometheus.CounterVec
	optedOut         *prometheus.CounterVec
	newVisitors      prometheus.Counter
	badCookies       prometheus.Counter
	publishErrors    prometheus.Counter
	deadLetterErrors prometheus.Counter
	publishSeconds   prometheus.Histogram
	// acceptedKinds are accepted's children for the valid kinds, resolved
	// once instead of a label lookup per event.
	acceptedKinds map[event.Kind]prometheus.Counter
}

// acceptedKind is the accepted counter of kind k.
func (m *metrics) acceptedKind(k event.Kind) prometheus.Counter {
	if c, ok := m.acceptedKinds[k]; ok {
		return c
	}
	return m.accepted.WithLabelValues(string(k))
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		accepted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "teller_collector_events_accepted_total", Help: "Events accepted and published, by kind.",
		}, []string{"kind"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "teller_collector_events_rejected_total", Help: "Requests refused, by reason.",
		}, []string{"reason"}),
		droppedBots: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "teller_collector_bots_dropped_total", Help: "Events dropped because their site drops bots, by class (prefetch, crawler, headless, ...).",
		}, []string{"class"}),
		optedOut: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "teller_collector_opted_out_total", Help: "Requests answered 204 and not stored because their site respects Do Not Track / Global Privacy Control and the browser sent it, by reason (dnt, gpc).",
		}, []string{"reason"}),
		newVisitors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "teller_collector_new_visitors_total", Help: "Visitor cookies issued for browsers without a valid one.",
		}),
		badCookies: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "teller_collector_invalid_cookies_total", Help: "Visitor cookies whose signature did not verify.",
		}),
		publishErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "teller_collector_publish_errors_total", Help: "Events that could not be published (answered 503).",
		}),
		deadLetterErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "teller_collector_dead_letter_errors_total", Help: "Refused events that could not be kept in the dead-letter topic.",
		}),
		publishSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "teller_collector_publish_seconds", Help: "Time to publish one event to Kafka.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
		}),
	}
	m.acceptedKinds = map[event.Kind]prometheus.Counter{}
	for _, k := range []event.Kind{event.KindPageview, event.KindCustom, event.KindEngagement} {
		m.acceptedKinds[k] = m.accepted.WithLabelValues(string(k))
	}
	if reg != nil {
		reg.MustRegister(m.accepted, m.rejected, m.droppedBots, m.optedOut, m.newVisitors, m.badCookies, m.publishErrors, m.deadLetterErrors, m.publishSeconds)
	}
	return m
}
