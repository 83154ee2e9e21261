// Package testenv starts the real servers integration tests need: a local
// ClickHouse (internal/chlocal) and an in-process Kafka-protocol broker
// (franz-go's kfake) on loopback ports. Tests fail, never skip, when a server
// cannot start: a green run must mean the product worked.
package testenv

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/teller-analytics/teller/internal/chlocal"
	"github.com/teller-analytics/teller/pkg/store"
)

// Logger is a quiet logger for services under test (TELLER_TEST_LOG=debug
// shows everything).
func Logger(t testing.TB) *slog.Logger {
	level := slog.LevelWarn
	if os.Getenv("TELLER_TEST_LOG") == "debug" {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})).With("test", t.Name())
}

// ClickHouse starts a ClickHouse server for the test and stops it after.
func ClickHouse(t testing.TB) *chlocal.Server {
	t.Helper()
	srv, err := chlocal.Start(context.Background(), chlocal.Options{Dir: t.TempDir(), Logger: Logger(t)})
	if err != nil {
		t.Fatalf("start ClickHouse (run scripts/install-deps.sh to install it): %v", err)
	}
	t.Cleanup(func() { _ = srv.Stop() })
	return srv
}

// StoreConfig is a store configuration for srv with a database of its own.
func StoreConfig(srv *chlocal.Server, database string) store.Config {
	return store.Config{Addr: srv.Addr(), Database: database, User: "default", DialTimeout: 5 * time.Second}
}

// OpenStore opens and migrates a database on srv.
func OpenStore(t testing.TB, srv *chlocal.Server, database string) *store.DB {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, StoreConfig(srv, database), Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return db
}

// Kafka starts a kfake cluster with the topic seeded and returns its
// bootstrap addresses.
func Kafka(t testing.TB, topic string, partitions int32) []string {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(partitions, topic))
	if err != nil {
		t.Fatalf("start kfake: %v", err)
	}
	t.Cleanup(c.Close)
	return c.ListenAddrs()
}

// ClientQuery runs a query with clickhouse-client, as a person would on the
// documented tables, and returns its TabSeparated output, trimmed.
func ClientQuery(t testing.TB, srv *chlocal.Server, database, query string) string {
	t.Helper()
	_, port, _ := strings.Cut(srv.Addr(), ":")
	cmd := exec.Command("clickhouse-client", "--host", "127.0.0.1", "--port", port, "--database", database, "--query", query)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("clickhouse-client %q: %v\n%s", query, err, out)
	}
	return strings.TrimSpace(string(out))
}

// Eventually polls cond every 100 ms until it is true or the timeout passes.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Uint parses a clickhouse-client number.
func Uint(t testing.TB, s string) uint64 {
	t.Helper()
	n, err := strconv.ParseUint(strings.TrimSpace(s), 10, 64)
	if err != nil {
		t.Fatalf("not a number: %q", s)
	}
	return n
}

// SelfCPU is this process's user plus system CPU time so far.
func SelfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
