package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/teller-analytics/teller/pkg/collector"
	"github.com/teller-analytics/teller/pkg/spool"
)

// Defaults of the collector's spool flags.
const (
	DefaultSpoolMaxBytes   = 1 << 30
	DefaultSpoolReadyBytes = 64 << 20
	DefaultSpoolFsync      = "100ms"
	// DefaultSpoolDir is where the collector spools unless told otherwise
	// (the deployment's volume). Accepting from the spool is the default
	// because it is the more durable design and, with the spool's mapped
	// appends and lingering drainer, the cheaper one per request
	// (docs/benchmarks.md, "Spool first by default").
	DefaultSpoolDir = "/var/lib/teller/spool"
	// SpoolNone as -spool-dir makes every request wait for Kafka's
	// acknowledgement instead (the default before the spool was).
	SpoolNone = "none"
	// spoolFlushTimeout bounds the graceful stop's wait for Kafka; what is
	// left stays in the spool for the next start.
	spoolFlushTimeout = 10 * time.Second
)

// SpoolConfig configures the collector's on-disk spool (pkg/spool). With Dir
// empty (the zero value) or SpoolNone the collector waits for Kafka's
// acknowledgement in every request instead; the flag's default is
// DefaultSpoolDir.
type SpoolConfig struct {
	Dir        string
	MaxBytes   int64
	ReadyBytes int64
	Fsync      string
}

// RegisterFlags adds -spool-dir, -spool-max-bytes, -spool-ready-bytes and
// -spool-fsync.
func (c *SpoolConfig) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.Dir, "spool-dir", DefaultSpoolDir, "directory of the on-disk event spool: events are accepted once spooled and drained to Kafka in order (survives Kafka outages and restarts); "+SpoolNone+" waits for Kafka's acknowledgement in every request instead")
	fs.Int64Var(&c.MaxBytes, "spool-max-bytes", DefaultSpoolMaxBytes, "largest spool on disk; when full the collector answers 503")
	fs.Int64Var(&c.ReadyBytes, "spool-ready-bytes", DefaultSpoolReadyBytes, "undelivered spool bytes past which /readyz fails (and dead letters are no longer spooled)")
	fs.StringVar(&c.Fsync, "spool-fsync", DefaultSpoolFsync, "spool fsync policy: always (nothing accepted is lost on power loss), a duration such as 100ms (up to that much can be lost), or never")
}

// Validate reports, naming the flags, what is wrong. It does no I/O.
func (c *SpoolConfig) Validate() error {
	if !c.Enabled() {
		return nil
	}
	var errs []error
	if c.MaxBytes < 1<<20 {
		errs = append(errs, fmt.Errorf("-spool-max-bytes %d: want at least 1048576 (1 MiB)", c.MaxBytes))
	}
	if c.ReadyBytes <= 0 || c.ReadyBytes > c.MaxBytes {
		errs = append(errs, fmt.Errorf("-spool-ready-bytes %d: want 1..-spool-max-bytes (%d)", c.ReadyBytes, c.MaxBytes))
	}
	if _, err := spool.ParseFsync(c.Fsync); err != nil {
		errs = append(errs, fmt.Errorf("-spool-fsync: %w", err))
	}
	return errors.Join(errs...)
}

// Enabled is false when requests wait for Kafka instead (Dir empty or
// SpoolNone).
func (c *SpoolConfig) Enabled() bool { return c.Dir != "" && c.Dir != SpoolNone }

// spooledPublisher opens the spool and starts draining it to sender. stop
// ends the drainer, flushes what it can within spoolFlushTimeout and closes
// the spool: call it after the HTTP server stopped accepting.
func spooledPublisher(ctx context.Context, c SpoolConfig, sender collector.Sender, log *slog.Logger, reg prometheus.Registerer) (*collector.SpoolPublisher, func(), error) {
	fsync, err := spool.ParseFsync(c.Fsync)
	if err != nil {
		return nil, nil, fmt.Errorf("collector: -spool-fsync: %w", err)
	}
	sp, err := spool.Open(spool.Options{Dir: c.Dir, MaxBytes: c.MaxBytes, Fsync: fsync, Logger: log})
	if err != nil {
		return nil, nil, fmt.Errorf("collector: -spool-dir %s (TELLER_SPOOL_DIR; %s to wait for Kafka in every request instead): %w", c.Dir, SpoolNone, err)
	}
	if n := sp.Pending(); n > 0 {
		log.Info("spool holds events from a previous run; draining them first", "bytes", n, "dir", c.Dir)
	}
	pub := collector.NewSpoolPublisher(sp, sender, collector.SpoolOptions{ReadyBytes: c.ReadyBytes, Logger: log, Registerer: reg})
	dctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() { pub.Run(dctx); close(done) }()
	stop := func() {
		cancel()
		<-done
		fctx, fcancel := context.WithTimeout(context.Background(), spoolFlushTimeout)
		defer fcancel()
		if err := pub.Flush(fctx); err != nil {
			log.Warn("spool not fully flushed; the next start sends the rest", "err", err)
		}
		if err := sp.Close(); err != nil {
			log.Error("closing the spool", "err", err)
		}
	}
	return pub, stop, nil
}
