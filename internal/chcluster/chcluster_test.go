package chcluster

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// scripts/install-deps.sh test installs the package whose jar Start runs.
func TestInstallScriptMatches(t *testing.T) {
	_, file, _, _ := runtime.Caller(0)
	script, err := os.ReadFile(filepath.Join(filepath.Dir(file), "..", "..", "scripts", "install-deps.sh"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{zooKeeperJar, "missing+=(zookeeper)"} {
		if !strings.Contains(string(script), want) {
			t.Errorf("scripts/install-deps.sh does not mention %q", want)
		}
	}
}
