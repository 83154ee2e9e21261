// Package service owns what every Teller service shares at its edges: the
// logger from flags, the Prometheus registry, the health (/healthz) and
// readiness (/readyz) endpoints, and serving HTTP until the context ends with
// a graceful shutdown. Its one piece of global state is gin's mode, which gin
// keeps per process, not per engine: NewEngine sets release mode, the same
// value every time, so engines built side by side (tests, the dev mode) agree.
package service

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// LogConfig selects log level and format.
type LogConfig struct {
	Level  string
	Format string
}

// RegisterFlags adds -log-level and -log-format.
func (c *LogConfig) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.Level, "log-level", "info", "log level: debug, info, warn, error")
	fs.StringVar(&c.Format, "log-format", "text", "log format: text or json")
}

// Validate reports a bad -log-level or -log-format. It does no I/O.
func (c LogConfig) Validate() error {
	_, err := c.Logger(io.Discard)
	return err
}

// Logger builds the slog logger the flags describe.
func (c LogConfig) Logger(w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.Level)); err != nil {
		return nil, fmt.Errorf("-log-level %q: %w", c.Level, err)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch strings.ToLower(c.Format) {
	case "text", "":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("-log-format %q: want text or json", c.Format)
}

// NewRegistry returns a registry with the Go and process collectors.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// Check is a readiness probe: nil when the dependency is usable.
type Check func(ctx context.Context) error

// Mount adds /healthz (the process runs), /readyz (every check passes) and
// /metrics to a gin engine.
func Mount(r gin.IRoutes, reg *prometheus.Registry, checks map[string]Check) {
	MountHealth(r, checks)
	h := promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})
	r.GET("/metrics", gin.WrapH(h))
}

// MountHealth adds /healthz and /readyz only.
func MountHealth(r gin.IRoutes, checks map[string]Check) {
	r.GET("/healthz", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) })
	r.GET("/readyz", func(c *gin.Context) {
		ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
		defer cancel()
		failed := gin.H{}
		for name, check := range checks {
			if err := check(ctx); err != nil {
				failed[name] = err.Error()
			}
		}
		if len(failed) > 0 {
			c.JSON(http.StatusServiceUnavailable, gin.H{"status": "not ready", "failed": failed})
			return
		}
		c.JSON(http.StatusOK, gin.H{"status": "ready"})
	})
}

// NewEngine returns a gin engine with recovery and a slog access log:
// failures at warn, refusals at info, everything else at debug.
func NewEngine(log *slog.Logger) *gin.Engine {
	// Process-wide (see the package comment): release mode turns off gin's
	// debug route listing and warnings.
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Use(gin.CustomRecovery(func(c *gin.Context, err any) {
		log.Error("panic in handler", "path", c.Request.URL.Path, "err", err)
		c.AbortWithStatusJSON(http.StatusInternalServerError, gin.H{"error": "internal error"})
	}))
	r.Use(func(c *gin.Context) {
		start := time.Now()
		c.Next()
		status, took := c.Writer.Status(), time.Since(start)
		if status >= 500 {
			log.Warn("request failed", "method", c.Request.Method, "path", c.Request.URL.Path, "status", status, "took", took, "err", c.Errors.String())
		} else if status >= 400 {
			log.Info("request refused", "method", c.Request.Method, "path", c.Request.URL.Path, "status", status, "err", c.Errors.String())
		} else if log.Enabled(c.Request.Context(), slog.LevelDebug) {
			// Checked first: building the arguments costs on every request.
			log.Debug("request", "method", c.Request.Method, "path", c.Request.URL.Path, "status", status, "took", took)
		}
	})
	return r
}

// Serve serves h on addr until ctx ends, then shuts down gracefully within
// 10 s. ready, if not nil, receives the bound address (useful with port 0).
func Serve(ctx context.Context, addr string, h http.Handler, log *slog.Logger, ready func(net.Addr)) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	return ServeListener(ctx, l, h, log, ready)
}

// Timeouts bound how long one connection may hold a server. Every server has
// them: without a read timeout a body sent one byte every few seconds keeps
// a connection (and its goroutine) forever.
type Timeouts struct {
	// Read bounds reading a whole request, headers and body.
	Read time.Duration
	// Write bounds the handler plus writing its answer, from the end of the
	// request's headers.
	Write time.Duration
	// Idle bounds a keep-alive connection waiting for its next request.
	Idle time.Duration
}

// DefaultTimeouts suit every Teller service: the largest request is a
// dashboard report (seconds) or an import batch.
var DefaultTimeouts = Timeouts{Read: 30 * time.Second, Write: 60 * time.Second, Idle: 120 * time.Second}

// RegisterFlags adds -read-timeout, -write-timeout and -idle-timeout with
// the defaults in t.
func (t *Timeouts) RegisterFlags(fs *flag.FlagSet) {
	fs.DurationVar(&t.Read, "read-timeout", t.Read, "longest time to read one HTTP request, headers and body")
	fs.DurationVar(&t.Write, "write-timeout", t.Write, "longest time to handle one HTTP request and write its answer")
	fs.DurationVar(&t.Idle, "idle-timeout", t.Idle, "longest time a keep-alive connection waits for its next request")
}

// Validate reports a timeout that is not positive. It does no I/O.
func (t Timeouts) Validate() error {
	var errs []error
	for _, f := range []struct {
		name string
		d    time.Duration
	}{{"read-timeout", t.Read}, {"write-timeout", t.Write}, {"idle-timeout", t.Idle}} {
		if f.d <= 0 {
			errs = append(errs, fmt.Errorf("-%s %v: want a positive duration such as 10s", f.name, f.d))
		}
	}
	return errors.Join(errs...)
}

// ServeListener is Serve on an existing listener, with DefaultTimeouts.
func ServeListener(ctx context.Context, l net.Listener, h http.Handler, log *slog.Logger, ready func(net.Addr)) error {
	return ServeListenerTimeouts(ctx, l, h, DefaultTimeouts, ready)
}

// ServeListenerTimeouts is ServeListener with the given timeouts (a zero
// field takes DefaultTimeouts').
func ServeListenerTimeouts(ctx context.Context, l net.Listener, h http.Handler, t Timeouts, ready func(net.Addr)) error {
	if t.Read <= 0 {
		t.Read = DefaultTimeouts.Read
	}
	if t.Write <= 0 {
		t.Write = DefaultTimeouts.Write
	}
	if t.Idle <= 0 {
		t.Idle = DefaultTimeouts.Idle
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: min(10*time.Second, t.Read), ReadTimeout: t.Read,
		WriteTimeout: t.Write, IdleTimeout: t.Idle, MaxHeaderBytes: 64 << 10}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	if ready != nil {
		ready(l.Addr())
	}
	select {
	case err := <-errc:
		return fmt.Errorf("serve %s: %w", l.Addr(), err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shut down %s: %w", l.Addr(), err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
