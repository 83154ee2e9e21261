package chlocal

import (
	"context"
	"strings"
	"testing"
)

func TestStartQueryStopAndReuseData(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Start(ctx, Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Query(ctx, "CREATE TABLE default.kept (x UInt8) ENGINE = MergeTree ORDER BY x"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Query(ctx, "INSERT INTO default.kept (x) VALUES (7)"); err != nil {
		t.Fatal(err)
	}
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	// A second start on the same folder sees the same data.
	s2, err := Start(ctx, Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Stop()
	out, err := s2.Query(ctx, "SELECT x FROM default.kept")
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(out) != "7" {
		t.Fatalf("after restart got %q, want 7", out)
	}
	if _, err := s2.Query(ctx, "SELEC nonsense"); err == nil {
		t.Fatal("a bad query must return an error")
	}
}
