package sessionizer

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	events, written, versions, duplicates, rejected, late, clickhouseErrors, checkpoints, offsetResets, restarts prometheus.Counter
	sessions                                                                                                     *prometheus.CounterVec
	openSessions, stateBytes                                                                                     *prometheus.GaugeVec
	assigned                                                                                                     prometheus.Gauge
	flushSeconds                                                                                                 prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer) *metrics {
	c := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Name: "teller_sessionizer_" + name, Help: help})
	}
	m := &metrics{
		events:           c("events_total", "Events sessionized (replays after a restart count again)."),
		written:          c("rows_written_total", "Event rows written to ClickHouse."),
		versions:         c("session_versions_written_total", "Session version rows written to ClickHouse (one per changed session per flush)."),
		duplicates:       c("duplicate_events_total", "Redeliveries of an event id its open session already holds: not written again, no figure changed."),
		rejected:         c("messages_rejected_total", "Kafka messages kept in rejected_events instead of events."),
		late:             c("late_events_total", "Events older than the partition clock minus the allowed disorder."),
		clickhouseErrors: c("clickhouse_errors_total", "Failed ClickHouse reads and writes (all retried)."),
		checkpoints:      c("checkpoints_total", "Checkpoints written."),
		offsetResets:     c("offset_resets_total", "Checkpoint offsets outside the partition's log, reset to its start."),
		restarts:         c("partition_restarts_total", "Partition consumers restarted from their checkpoint after a failure."),
		sessions: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "teller_sessionizer_sessions_started_total",
			Help: "Sessions opened, by start reason."}, []string{"reason"}),
		openSessions: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "teller_sessionizer_open_sessions",
			Help: "Sessions held in memory, by partition."}, []string{"partition"}),
		stateBytes: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "teller_sessionizer_checkpoint_state_bytes",
			Help: "Size of the last checkpointed state, by partition."}, []string{"partition"}),
		assigned: prometheus.NewGauge(prometheus.GaugeOpts{Name: "teller_sessionizer_assigned_partitions",
			Help: "Partitions assigned to this member."}),
		flushSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "teller_sessionizer_flush_seconds",
			Help: "Time to write one batch to ClickHouse.", Buckets: prometheus.ExponentialBuckets(0.005, 2, 12)}),
	}
	if reg != nil {
		reg.MustRegister(m.events, m.written, m.versions, m.duplicates, m.rejected, m.late, m.clickhouseErrors, m.checkpoints, m.offsetResets, m.restarts,
			m.sessions, m.openSessions, m.stateBytes, m.assigned, m.flushSeconds)
	}
	return m
}
