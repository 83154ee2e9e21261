package dashboard_test

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestVendoredFiles: the vendored front-end files are the ones
// scripts/vendor-frontend.sh recorded (package, version, licence and each
// file's sha256 in static/vendor/VENDOR): nobody edited them by hand.
func TestVendoredFiles(t *testing.T) {
	raw, err := os.ReadFile("static/vendor/VENDOR")
	if err != nil {
		t.Fatal(err)
	}
	vendor := string(raw)
	for _, want := range []string{"package: uplot", "version: 1.6.32", "licence: MIT"} {
		if !strings.Contains(vendor, want+"\n") && !strings.Contains(vendor, want+" ") {
			t.Errorf("VENDOR lacks %q", want)
		}
	}
	files := 0
	for _, line := range strings.Split(vendor, "\n") {
		name, sum, ok := strings.Cut(strings.TrimPrefix(line, "sha256 "), ": ")
		if !ok || !strings.HasPrefix(line, "sha256 ") {
			continue
		}
		body, err := os.ReadFile(filepath.Join("static/vendor", name))
		if err != nil {
			t.Fatal(err)
		}
		if got := sha256.Sum256(body); hex.EncodeToString(got[:]) != sum {
			t.Errorf("%s has sha256 %x, VENDOR says %s: run scripts/vendor-frontend.sh", name, got, sum)
		}
		files++
	}
	if files != 3 {
		t.Errorf("VENDOR lists %d files, want 3 (script, stylesheet, licence)", files)
	}
}
