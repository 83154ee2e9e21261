package chtest

import (
	"context"
	"os"
	"reflect"
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
