package sessionizer

import "github.com/prometheus/client_golang/prometheus"

// metrics are the sessionizer's Prometheus metrics; docs/sessionizer.md
// documents each one.
type metrics struct {
	events, written, versions, duplicates, rejected, late, bridging, clickhouseErrors, checkpoints, offsetResets, restarts prometheus.Counter
	groupLeaves, kafkaErrors, writeWaitSeconds                                                                             prometheus.Counter
	sessions                                                                                                               *prometheus.CounterVec
	callErrors                                                                                                             *prometheus.CounterVec
	openSessions, stateBytes, lag, checkpointAge                                                                           *prometheus.GaugeVec
	assigned, member                                                                                                       prometheus.Gauge
	flushSeconds                                                                                                           prometheus.Histogram
	callSeconds                                                                                                            *prometheus.HistogramVec
	// freshness is, per event row, the time from the collector receiving
	// the event to the insert that made it queryable returning.
	freshness prometheus.Histogram

	// The rules' protections (pkg/session): quarantined events, sessions
	// closed at the open-session cap, and the record of closed sessions' ids.
	quarantined, closedEarly, forgottenIDs prometheus.Counter
	recentIDs, recentHorizon               *prometheus.GaugeVec
}

// freshnessBuckets resolve the goal "queryable within 2 s at the 99th
// percentile" (docs/benchmarks.md): 100 ms steps up to 2 s, coarser to 10 s.
var freshnessBuckets = []float64{0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.7, 1.8, 1.9, 2,
	2.5, 3, 4, 5, 7.5, 10, 30, 60}

func newMetrics(reg prometheus.Registerer) *metrics {
	c := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Name: "teller_sessionizer_" + name, Help: help})
	}
	byPartition := func(name, help string) *prometheus.GaugeVec {
		return prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "teller_sessionizer_" + name, Help: help}, []string{"partition"})
	}
	m := &metrics{
		events:           c("events_total", "Events sessionized (replays after a restart count again)."),
		written:          c("rows_written_total", "Event rows written to ClickHouse."),
		versions:         c("session_versions_written_total", "Session version rows written to ClickHouse (one per changed session per flush)."),
		duplicates:       c("duplicate_events_total", "Redeliveries of an event id its open session already holds: not written again, no figure changed."),
		rejected:         c("messages_rejected_total", "Kafka messages kept in rejected_events instead of events."),
		late:             c("late_events_total", "Events older than the partition clock minus the allowed disorder."),
		bridging:         c("bridging_events_total", "Event rows written that fitted more than one session and joined them (replays count again)."),
		clickhouseErrors: c("clickhouse_errors_total", "Failed ClickHouse reads and writes (all retried)."),
		checkpoints:      c("checkpoints_total", "Checkpoints written."),
		offsetResets:     c("offset_resets_total", "Checkpoint offsets outside the partition's log, reset to its start."),
		restarts:         c("partition_restarts_total", "Partition consumers restarted from their checkpoint after a failure."),
		groupLeaves:      c("group_leaves_total", "Times this member left its consumer group because every ClickHouse call failed for -stuck-timeout."),
		kafkaErrors:      c("kafka_errors_total", "Failed Kafka requests of the lag measurement."),
		writeWaitSeconds: c("write_wait_seconds_total", "Time partitions spent not reading because both buffers were full: the next batch waited for the write in flight."),
		sessions: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "teller_sessionizer_sessions_started_total",
			Help: "Sessions opened, by start reason."}, []string{"reason"}),
		callErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "teller_sessionizer_clickhouse_call_errors_total",
			Help: "ClickHouse calls that failed or passed -clickhouse-timeout, by call."}, []string{"call"}),
		openSessions:  byPartition("open_sessions", "Sessions held in memory, by partition."),
		stateBytes:    byPartition("checkpoint_state_bytes", "Size of the last checkpointed state, by partition."),
		lag:           byPartition("consumer_lag", "Messages in the partition past what this member has written to ClickHouse or checkpointed."),
		checkpointAge: byPartition("checkpoint_age_seconds", "How long the partition has held messages its last checkpoint does not cover (0 while it covers them all)."),
		assigned: prometheus.NewGauge(prometheus.GaugeOpts{Name: "teller_sessionizer_assigned_partitions",
			Help: "Partitions assigned to this member."}),
		member: prometheus.NewGauge(prometheus.GaugeOpts{Name: "teller_sessionizer_group_member",
			Help: "1 while this member holds a generation of its consumer group, 0 while it joins or stays out."}),
		flushSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "teller_sessionizer_flush_seconds",
			Help: "Time to write one batch to ClickHouse.", Buckets: prometheus.ExponentialBuckets(0.005, 2, 12)}),
		freshness: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "teller_sessionizer_event_freshness_seconds",
			Help:    "Per event row, from the collector receiving the event to the ClickHouse insert that made it queryable returning (imported history: its age).",
			Buckets: freshnessBuckets}),
		quarantined: c("events_quarantined_total", "Events dated more than -max-clock-skew ahead of their Kafka record, kept in rejected_events, not sessionized."),
		closedEarly: c("sessions_closed_at_cap_total", "Sessions closed early because their partition held -max-open-sessions."),
		forgottenIDs: c("ids_forgotten_early_total",
			"Event ids of closed sessions forgotten before a day because the record held -remember-ids: a redelivery of one would count again."),
		recentIDs: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "teller_sessionizer_remembered_ids",
			Help: "Event ids of closed sessions remembered to catch redeliveries, by partition."}, []string{"partition"}),
		recentHorizon: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "teller_sessionizer_remembered_ids_horizon_seconds",
			Help: "How far back in event time the record of closed sessions' ids reaches (a day once full, less when -remember-ids cuts it), by partition."}, []string{"partition"}),
		callSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "teller_sessionizer_clickhouse_call_seconds",
			Help:    "Time of one ClickHouse call (one insert, checkpoint or load), failed or not, by call.",
			Buckets: prometheus.ExponentialBuckets(0.002, 2, 15)}, []string{"call"}),
	}
	if reg != nil {
		reg.MustRegister(m.quarantined, m.closedEarly, m.forgottenIDs, m.recentIDs, m.recentHorizon)
		reg.MustRegister(m.events, m.written, m.versions, m.duplicates, m.rejected, m.late, m.bridging, m.clickhouseErrors, m.checkpoints,
			m.offsetResets, m.restarts, m.groupLeaves, m.kafkaErrors, m.writeWaitSeconds, m.sessions, m.callErrors, m.openSessions,
			m.stateBytes, m.lag, m.checkpointAge, m.assigned, m.member, m.flushSeconds, m.callSeconds, m.freshness)
	}
	return m
}
