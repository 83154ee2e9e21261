package collector

import (
	"strconv"
	"testing"
	"time"
)

// A flood of distinct clients never grows the buckets past the cap, and a
// known client is still limited.
func TestLimiterIsBounded(t *testing.T) {
	l := newLimiter(6400)
	r := Rate{PerSecond: 1, Burst: 2}
	now := time.Unix(1_800_000_000, 0)
	for i := 0; i < 200_000; i++ {
		l.allow(l.key('a', "10.0."+strconv.Itoa(i)), r, now)
	}
	if n := l.size(); n > 6400 {
		t.Fatalf("%d buckets held, cap 6400", n)
	}
	k := l.key('a', "192.0.2.1")
	for i, want := range []bool{true, true, false} {
		if ok, _ := l.allow(k, r, now); ok != want {
			t.Fatalf("request %d: allowed %v, want %v", i, ok, want)
		}
	}
	if ok, wait := l.allow(k, r, now); ok || wait != time.Second {
		t.Fatalf("empty bucket: ok %v, wait %v; want a 1 s wait", ok, wait)
	}
	if ok, _ := l.allow(k, r, now.Add(time.Second)); !ok {
		t.Fatal("a refilled token was refused")
	}
}
