// Package chtest runs Teller's schema and queries on two ClickHouse engines
// in the same test: release 18.16, the oldest Teller supports (a server
// started by internal/chlocal, reached over the native protocol with
// clickhouse-go, as in production), and a current release, 26.7, in-process
// (libchdb from npm's chdb package, in a temporary folder). Each Engine is a
// database with every migration applied, reached through store.Querier —
// the interface the migration runner and pkg/report depend on — plus an
// Insert for fixtures.
//
// A check on both engines is one call:
//
//	got := chtest.Same(t, engines, "summary", func(e *chtest.Engine) (report.Summary, error) {
//		return report.New(e).Summary(ctx, q)
//	})
//
// It fails unless both engines answer without error and alike. Migrations
// need no line at all: every file in schema/ is applied to both engines.
//
// The current release needs libchdb.so (scripts/install-deps.sh test
// installs it; see ChdbLibPath). Without it a test fails, except under a
// plain go test with CI unset, where its 26.7 part is skipped with the
// reason. It is for tests only; no product code may import it.
package chtest

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/teller-analytics/teller/internal/chlocal"
	"github.com/teller-analytics/teller/pkg/store"
)

// Inserter writes fixture rows: PrepareBatch on 18.16 (what the product
// does), INSERT ... VALUES of literals on chdb.
type Inserter interface {
	Insert(ctx context.Context, table string, columns []string, rows [][]any) error
}

// DB is one database on one engine.
type DB interface {
	store.Querier
	Inserter
}

// Engine is one ClickHouse release with Teller's schema migrated into a
// database of its own.
type Engine struct {
	// Name is the release family, "18.16" or "26.7": the subtest name.
	Name string
	// Version is the engine's exact release.
	Version store.Version
	// DB runs statements in the engine's database; nil when Err is set.
	DB
	// Err says why the engine cannot be used (see Require).
	Err   error
	close func()
}

// Require stops t unless e can be used: it fails, or skips when only the
// chdb library is missing and CI is unset.
func (e *Engine) Require(t testing.TB) { t.Helper(); require(t, e.Name, e.Err) }

// Close drops what the engine holds (its database on chdb, its server).
func (e *Engine) Close() {
	if e.close != nil {
		e.close()
		e.close = nil
	}
}

// Server is the 18.16 engine: a local server with a store.DB on it.
type Server struct {
	Engine
	CH    *chlocal.Server
	Store *store.DB
}

// StartServer starts ClickHouse (18.16 as installed) in a new temporary
// folder and migrates database on it.
func StartServer(ctx context.Context, database string, log *slog.Logger) (*Server, error) {
	if log == nil {
		log = quietLog()
	}
	dir, err := os.MkdirTemp("", "teller-chtest-")
	if err != nil {
		return nil, err
	}
	ch, err := chlocal.Start(ctx, chlocal.Options{Dir: dir, Logger: log})
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("chtest: these tests need a real ClickHouse server: %w", err)
	}
	s := &Server{CH: ch}
	s.close = func() {
		if s.Store != nil {
			s.Store.Close()
		}
		ch.Stop()
		os.RemoveAll(dir)
	}
	s.Store, err = store.Open(ctx, store.Config{Addr: ch.Addr(), Database: database}, log)
	if err == nil {
		err = s.Store.Migrate(ctx)
	}
	if err != nil {
		s.Close()
		return nil, err
	}
	s.Version = s.Store.ServerVersion()
	s.Name = fmt.Sprintf("%d.%d", s.Version.Major, s.Version.Minor)
	s.DB = serverDB{s.Store}
	return s, nil
}

// serverDB adds Insert to a store.DB through the driver's batches.
type serverDB struct{ *store.DB }

func (d serverDB) Insert(ctx context.Context, table string, columns []string, rows [][]any) error {
	if len(rows) == 0 {
		return nil
	}
	batch, err := d.Conn().PrepareBatch(ctx, fmt.Sprintf("INSERT INTO %s (%s)", table, strings.Join(columns, ", ")))
	if err != nil {
		return fmt.Errorf("chtest: prepare insert into %s: %w", table, err)
	}
	defer batch.Abort()
	for i, row := range rows {
		if err := batch.Append(row...); err != nil {
			return fmt.Errorf("chtest: insert into %s, row %d: %w", table, i, err)
		}
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("chtest: insert %d rows into %s: %w", len(rows), table, err)
	}
	return nil
}

// OpenCurrent creates database in the process's chdb engine and migrates
// it. It never returns nil: when the engine cannot be used, Err says why.
func OpenCurrent(ctx context.Context, database string, log *slog.Logger) *Engine {
	e := &Engine{Name: ChdbRelease}
	conn, err := acquireChdb()
	if err != nil {
		e.Err = err
		return e
	}
	db := &chdbDB{conn: conn}
	e.close = func() {
		_ = db.Exec(context.Background(), "DROP DATABASE IF EXISTS "+quoteIdent(database))
		releaseChdb()
	}
	if err := db.Exec(ctx, "CREATE DATABASE "+quoteIdent(database)); err != nil {
		e.Close()
		e.Err = fmt.Errorf("chtest: create database %s on chdb: %w", database, err)
		return e
	}
	db.database = database
	if e.Version, err = store.ServerVersionOf(ctx, db); err == nil {
		err = store.Migrate(ctx, db, log)
	}
	if err != nil {
		e.Close()
		e.Err = fmt.Errorf("chtest: ClickHouse %s (chdb): %w", ChdbRelease, err)
		return e
	}
	e.DB = db
	return e
}

// Engines starts both engines for t, each with database migrated, and
// closes them when t ends. The current release's entry may carry an Err
// (see Each and Same, which apply Require).
func Engines(t testing.TB, database string) []*Engine {
	t.Helper()
	ctx := context.Background()
	srv, err := StartServer(ctx, database, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	cur := OpenCurrent(ctx, database, quietLog())
	t.Cleanup(cur.Close)
	return []*Engine{&srv.Engine, cur}
}

// Each runs fn as a subtest per engine, named by its release.
func Each(t *testing.T, engines []*Engine, fn func(t *testing.T, e *Engine)) {
	t.Helper()
	for _, e := range engines {
		t.Run(e.Name, func(t *testing.T) {
			e.Require(t)
			fn(t, e)
		})
	}
}

// Same runs query on every engine and fails t unless each answers without
// error and every answer is deeply equal to the first. It returns the first
// engine's answer.
func Same[T any](t testing.TB, engines []*Engine, what string, query func(e *Engine) (T, error)) T {
	t.Helper()
	var first T
	for i, e := range engines {
		if e.Err != nil {
			if i == 0 {
				t.Fatalf("%s: %v", what, e.Err)
			}
			// Fails, or (library missing, CI unset) skips after the
			// engines before it answered.
			require(t, e.Name, e.Err)
		}
		got, err := query(e)
		if err != nil {
			t.Fatalf("%s on ClickHouse %s: %v", what, e.Name, err)
		}
		if i == 0 {
			first = got
		} else if !reflect.DeepEqual(got, first) {
			t.Fatalf("%s differs between engines:\nClickHouse %s: %+v\nClickHouse %s: %+v", what, engines[0].Name, first, e.Name, got)
		}
	}
	return first
}

type settingsKey struct{}

// WithSettings applies ClickHouse settings to the queries run with ctx on
// both engines: through clickhouse-go's query options on a server, as a
// SETTINGS clause on chdb.
func WithSettings(ctx context.Context, s clickhouse.Settings) context.Context {
	ctx = clickhouse.Context(ctx, clickhouse.WithSettings(s))
	return context.WithValue(ctx, settingsKey{}, map[string]any(s))
}

func settingsFrom(ctx context.Context) map[string]any {
	s, _ := ctx.Value(settingsKey{}).(map[string]any)
	return s
}

func quietLog() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}
