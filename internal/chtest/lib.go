package chtest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The current ClickHouse release the tests run beside 18.16: npm's chdb
// package ships it as a library. scripts/install-deps.sh installs exactly
// this (TestInstallScriptMatches ties the two).
const (
	// ChdbPackage is the npm package and version that brings libchdb.so.
	ChdbPackage = "chdb@3.4.0"
	// ChdbRelease is the ClickHouse release inside it (major.minor).
	ChdbRelease = "26.7"
	// ChdbPrefix is where install-deps.sh installs it, relative to the
	// module root (git-ignored).
	ChdbPrefix = ".cache/chdb"
	// chdbLibInPrefix is the library's path inside ChdbPrefix.
	chdbLibInPrefix = "node_modules/@chdb/lib-linux-x64-gnu/libchdb.so"
)

// ErrChdbMissing means libchdb.so was not found.
var ErrChdbMissing = errors.New("libchdb.so (ClickHouse " + ChdbRelease + ", npm " + ChdbPackage + ") is not installed")

// ChdbLibPath locates libchdb.so: $CHDB_LIB_PATH, else ChdbPrefix under the
// module root. The error wraps ErrChdbMissing and says how to install it.
func ChdbLibPath() (string, error) {
	root, rootErr := moduleRoot()
	prefix := filepath.Join(root, ChdbPrefix)
	if rootErr != nil {
		prefix = ChdbPrefix + " under the module root"
	}
	howTo := fmt.Sprintf("install it with scripts/install-deps.sh test (npm install --prefix %s %s), or point CHDB_LIB_PATH at a libchdb.so",
		prefix, ChdbPackage)
	if p := os.Getenv("CHDB_LIB_PATH"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("%w (CHDB_LIB_PATH=%s: %v): %s", ErrChdbMissing, p, err, howTo)
		}
		return p, nil
	}
	if rootErr != nil {
		return "", fmt.Errorf("%w (%v): %s", ErrChdbMissing, rootErr, howTo)
	}
	p := filepath.Join(prefix, chdbLibInPrefix)
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("%w at %s: %s", ErrChdbMissing, p, howTo)
	}
	return p, nil
}

// moduleRoot is the nearest folder above the working directory (a test's
// package folder) holding go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// inCI reports whether the CI variable is set to something true, as CI
// services do.
func inCI() bool {
	v := strings.ToLower(os.Getenv("CI"))
	return v != "" && v != "0" && v != "false"
}

// require stops t when the engine cannot be used: it fails, except that a
// developer's plain go test without the library (CI unset) skips with the
// reason. Any other error — the library failing to load, a migration failing
// on the current release — always fails.
func require(t testing.TB, name string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if errors.Is(err, ErrChdbMissing) && !inCI() {
		t.Skipf("ClickHouse %s not tested: %v (CI is unset, so this is a skip; under CI it fails)", name, err)
	}
	t.Fatalf("ClickHouse %s: %v", name, err)
}
