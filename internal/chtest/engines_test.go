package chtest

import (
	"context"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

func readFile(p string) (string, error) {
	b, err := os.ReadFile(p)
	return string(b), err
}

type roundTrip struct {
	ID    uuid.UUID
	S     string
	N     uint64
	I     int64
	Small uint8
	At    time.Time
	Kind  string
	F     float64
}

// TestEnginesAgree: values written through each engine's Insert and read
// back with bound arguments come back byte for byte, on both engines: the
// chdb binder and scanner do what clickhouse-go does.
func TestEnginesAgree(t *testing.T) {
	engines := Engines(t, "chtest")
	ctx := context.Background()
	tricky := []string{"plain", "it's", `back\slash`, "tab\tand\nnewline", "nul\x00byte", "ünïcødé ✓", "?", "-- not a comment", ""}
	var rows [][]any
	var want []roundTrip
	for i, s := range tricky {
		r := roundTrip{ID: uuid.NewSHA1(uuid.NameSpaceURL, []byte(s)), S: s, N: uint64(1)<<63 + uint64(i), I: -int64(i) * 1e12,
			Small: uint8(i), At: time.Date(2024, 3, 10, 9, 0, i, 0, time.UTC), Kind: []string{"pageview", "event"}[i%2], F: float64(i) / 4}
		want = append(want, r)
		rows = append(rows, []any{r.ID, r.S, r.N, r.I, r.Small, r.At, r.Kind, r.F})
	}
	got := Same(t, engines, "round trip", func(e *Engine) ([]roundTrip, error) {
		if err := e.Exec(ctx, `CREATE TABLE rt (id UUID, s String, n UInt64, i Int64, small UInt8, at DateTime('UTC'),
 kind Enum8('pageview' = 1, 'event' = 2), f Float64) ENGINE = MergeTree ORDER BY id`); err != nil {
			return nil, err
		}
		if err := e.Insert(ctx, "rt", []string{"id", "s", "n", "i", "small", "at", "kind", "f"}, rows); err != nil {
			return nil, err
		}
		res, err := e.Query(ctx, "SELECT id, s, n, i, small, at, toString(kind), f FROM rt WHERE s != ? AND at >= ? ORDER BY small",
			"no such value's", time.Date(2024, 3, 10, 9, 0, 0, 0, time.UTC))
		if err != nil {
			return nil, err
		}
		defer res.Close()
		var out []roundTrip
		for res.Next() {
			var r roundTrip
			if err := res.Scan(&r.ID, &r.S, &r.N, &r.I, &r.Small, &r.At, &r.Kind, &r.F); err != nil {
				return nil, err
			}
			r.At = r.At.UTC()
			out = append(out, r)
		}
		return out, res.Err()
	})
	if !reflect.DeepEqual(got, want) {
		t.Errorf("read back\n%+v\nwant\n%+v", got, want)
	}
	// Every bound string finds its own row, on both engines.
	for _, s := range tricky {
		n := Same(t, engines, "lookup "+s, func(e *Engine) (uint64, error) {
			res, err := e.Query(ctx, "SELECT count() FROM rt WHERE s = ?", s)
			if err != nil {
				return 0, err
			}
			defer res.Close()
			var n uint64
			for res.Next() {
				err = res.Scan(&n)
			}
			return n, err
		})
		if n != 1 {
			t.Errorf("%q: %d rows, want 1", s, n)
		}
	}
}

// TestSettingsReachBothEngines: WithSettings applies on each engine, so an
// index rule such as force_primary_key is enforced on the current release
// too.
func TestSettingsReachBothEngines(t *testing.T) {
	engines := Engines(t, "settings")
	ctx := WithSettings(context.Background(), map[string]any{"force_primary_key": 1})
	Each(t, engines, func(t *testing.T, e *Engine) {
		if err := e.Exec(context.Background(), "CREATE TABLE k (id UInt32, s String) ENGINE = MergeTree ORDER BY id"); err != nil {
			t.Fatal(err)
		}
		if err := e.Insert(ctx, "k", []string{"id", "s"}, [][]any{{uint32(1), "a"}, {uint32(2), "b"}}); err != nil {
			t.Fatal(err)
		}
		if rows, err := e.Query(ctx, "SELECT s FROM k WHERE id = ?", uint32(1)); err != nil {
			t.Errorf("filter on the key refused: %v", err)
		} else {
			rows.Close()
		}
		if rows, err := e.Query(ctx, "SELECT id FROM k WHERE s = ?", "a"); err == nil {
			rows.Close()
			t.Error("a query that does not use the primary key ran under force_primary_key")
		}
	})
}

// TestMissingLibrary runs this test binary again without the library: under
// CI the current engine's test must fail with how to install it; with CI
// unset it is skipped with that message.
func TestMissingLibrary(t *testing.T) {
	if os.Getenv("CHTEST_CHILD") == "1" {
		e := OpenCurrent(context.Background(), "missing", nil)
		e.Require(t)
		t.Fatal("Require let an engine without its library through")
	}
	for _, tc := range []struct {
		ci       string
		wantFail bool
		want     string
	}{
		{"true", true, "--- FAIL"},
		{"", false, "--- SKIP"},
	} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestMissingLibrary$", "-test.v")
		cmd.Env = append(os.Environ(), "CHTEST_CHILD=1", "CHDB_LIB_PATH=/nonexistent/libchdb.so", "CI="+tc.ci)
		out, err := cmd.CombinedOutput()
		if failed := err != nil; failed != tc.wantFail {
			t.Errorf("CI=%q: exit error %v, want failure %v\n%s", tc.ci, err, tc.wantFail, out)
		}
		for _, want := range []string{tc.want, "libchdb.so", "not installed", "/nonexistent/libchdb.so", "scripts/install-deps.sh test"} {
			if !strings.Contains(string(out), want) {
				t.Errorf("CI=%q: output lacks %q:\n%s", tc.ci, want, out)
			}
		}
	}
}
