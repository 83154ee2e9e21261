package dashboard

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	reportSeconds *prometheus.HistogramVec
	loginFailures *prometheus.CounterVec
	csrfRefusals  prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		reportSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "teller_dashboard_report_seconds",
			Help:    "Time to answer one report (summary, timeseries, a breakdown by its dimension, sessions, session_list, session_path, visitor_sessions, realtime, completeness, goals, funnel, bots, page_engagement, event_props) or site lookup (site, sites, activity), seconds.",
			Buckets: []float64{.005, .01, .025, .05, .1, .2, .3, .5, 1, 2.5, 5, 10},
		}, []string{"report"}),
		loginFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "teller_dashboard_login_failures_total",
			Help: "Refused logins, by reason: credentials (wrong user or password), throttled (too many failures from the address or for the user name), csrf (missing or bad form token).",
		}, []string{"reason"}),
		csrfRefusals: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "teller_dashboard_csrf_refusals_total",
			Help: "Refused forms of signed-in users (sign-out, password change, users, API tokens) without a valid CSRF token.",
		}),
	}
	for _, c := range []prometheus.Collector{m.reportSeconds, m.loginFailures, m.csrfRefusals} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("dashboard: register metrics: %w", err)
		}
	}
	for _, r := range []string{"credentials", "throttled", "csrf"} {
		m.loginFailures.WithLabelValues(r)
	}
	return m, nil
}
