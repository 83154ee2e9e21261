package pipebench

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A service that exits before it is ready is reported, and the stop
// deferred for it returns instead of waiting for an exit already seen
// (a sessionizer refusing its flags hung the run).
func TestChildExitingBeforeReadyIsReportedAndStops(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "bin", "refuses"), []byte("#!/bin/sh\necho 'refuses: bad flag' >&2\nexit 2\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	c, err := start(dir, "refuses", nil)
	if err != nil {
		t.Fatal(err)
	}
	err = waitReady(context.Background(), c, "127.0.0.1:1")
	if err == nil || !strings.Contains(err.Error(), "refuses exited before it was ready (exit status 2)") {
		t.Fatalf("waitReady: %v, want the exit reported", err)
	}
	stopped := make(chan struct{})
	go func() { c.stop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(20 * time.Second): // stop's own kill comes after 30 s
		t.Fatal("stop still waiting for a process that had exited")
	}
}
