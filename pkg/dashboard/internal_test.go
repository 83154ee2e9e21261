package dashboard

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/teller-analytics/teller/pkg/report"
	"github.com/teller-analytics/teller/pkg/site"
)

func TestFormat(t *testing.T) {
	for sec, want := range map[float64]string{0: "0s", 4.4: "4s", 59.5: "1m 00s", 65.5: "1m 06s", 3600: "1h 00m 00s", 3725: "1h 02m 05s", -1: "0s"} {
		if got := formatDuration(sec); got != want {
			t.Errorf("formatDuration(%v) = %q, want %q", sec, got, want)
		}
	}
	for n, want := range map[uint64]string{0: "0", 999: "999", 1000: "1,000", 12345: "12,345", 1234567: "1,234,567"} {
		if got := formatCount(n); got != want {
			t.Errorf("formatCount(%d) = %q, want %q", n, got, want)
		}
	}
	if got := formatPercent(3.0 / 7); got != "42.9%" {
		t.Errorf("formatPercent = %q", got)
	}
}

func TestSafeNext(t *testing.T) {
	for next, want := range map[string]string{
		"": "/", "/": "/", "/sites/a?from=2024-01-01": "/sites/a?from=2024-01-01",
		"//evil.example": "/", "/\\evil.example": "/", "https://evil.example/": "/", "evil.example": "/",
		"/%0d%0aSet-Cookie:x": "/%0d%0aSet-Cookie:x", "/a\r\nb": "/", "javascript:alert(1)": "/",
	} {
		if got := safeNext(next); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", next, got, want)
		}
	}
}

func TestParseRange(t *testing.T) {
	berlin := site.Site{ID: "s", Timezone: "Europe/Berlin"}
	// 23:30 UTC on March 30 is already March 31 in Berlin, the day clocks go forward.
	now := time.Date(2024, 3, 30, 23, 30, 0, 0, time.UTC)
	tests := []struct {
		from, to, bots string
		want           string // from..to, or the error
	}{
		{"", "", "", "2024-03-25..2024-03-31"},
		{"2024-03-01", "", "", "2024-03-01..2024-03-07"},
		{"2024-03-29", "", "", "2024-03-29..2024-03-31"},
		{"2024-04-05", "", "", "2024-04-05..2024-04-11"},
		{"", "2024-02-29", "", "2024-02-23..2024-02-29"},
		{"2024-03-31", "2024-03-31", "1", "2024-03-31..2024-03-31 bots"},
		{"2024-3-1", "", "", `from="2024-3-1" is not a date`},
		{"", "2024-02-30", "", `to="2024-02-30" is not a date`},
		{"2024-03-02", "2024-03-01", "", "from (2024-03-02) is after to (2024-03-01)"},
		{"2021-03-30", "2024-03-30", "", "the range has 1097 days; at most 1096 are allowed"},
		{"2021-03-31", "2024-03-30", "", "2021-03-31..2024-03-30"},
		{"1999-12-31", "", "", "from (1999-12-31) must be in 2000-2099"},
		{"", "", "maybe", `bots="maybe": want 1 or 0`},
	}
	for _, tt := range tests {
		r, err := parseRange(berlin, tt.from, tt.to, tt.bots, now)
		got := r.FromString() + ".." + r.ToString()
		if r.Bots {
			got += " bots"
		}
		if err != nil {
			got = err.Error()
		}
		if got != tt.want && (err == nil || !strings.HasPrefix(got, tt.want)) {
			t.Errorf("parseRange(%q, %q, %q) = %s, want %s", tt.from, tt.to, tt.bots, got, tt.want)
		}
	}
	// The query covers whole Berlin days, 23 hours on the DST day.
	r, _ := parseRange(berlin, "2024-03-31", "2024-03-31", "", now)
	q := r.query("s")
	if q.From.UTC().Format(time.RFC3339) != "2024-03-30T23:00:00Z" || q.To.UTC().Format(time.RFC3339) != "2024-03-31T22:00:00Z" {
		t.Errorf("query of March 31 in Berlin: %s .. %s", q.From.UTC(), q.To.UTC())
	}
}

func TestCookieSessions(t *testing.T) {
	ctx := context.Background()
	store, err := NewCookieSessions([]byte("0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC)
	s, err := store.Start(ctx, "admin", now)
	if err != nil {
		t.Fatal(err)
	}
	got, err := store.Resume(ctx, s.Token, now.Add(30*time.Second))
	if err != nil || got.Token != s.Token || got.ID != s.ID || got.User != "admin" {
		t.Fatalf("Resume within RenewAfter = %+v, %v; want the same token", got, err)
	}
	got, err = store.Resume(ctx, s.Token, now.Add(time.Hour))
	if err != nil || got.Token == s.Token || got.ID != s.ID || !got.Expires.Equal(now.Add(AbsoluteTTL)) {
		t.Fatalf("Resume an hour on = %+v, %v; want a renewed token, same ID and expiry", got, err)
	}

	// Tampering: another user in the payload, a truncated MAC, another key.
	_, data, _ := strings.Cut(strings.TrimPrefix(s.Token, tokenPrefix), ".")
	forged := tokenPrefix + base64.RawURLEncoding.EncodeToString([]byte(`{"sid":"x","u":"root","iat":1704110400,"seen":1704110400}`)) +
		"." + strings.SplitN(strings.TrimPrefix(s.Token, tokenPrefix), ".", 2)[1]
	other, _ := NewCookieSessions([]byte("fedcba9876543210"))
	foreign, _ := other.Start(ctx, "admin", now)
	for name, token := range map[string]string{
		"forged payload": forged, "truncated": s.Token[:len(s.Token)-2], "no prefix": strings.TrimPrefix(s.Token, tokenPrefix),
		"other key": foreign.Token, "empty": "", "payload only": tokenPrefix + data,
	} {
		if _, err := store.Resume(ctx, token, now); !errors.Is(err, ErrNoSession) {
			t.Errorf("%s: err = %v, want ErrNoSession", name, err)
		}
	}
	if _, err := NewCookieSessions(make([]byte, 15)); err == nil {
		t.Error("a 15-byte key was accepted")
	}
}

func TestLimiter(t *testing.T) {
	l := newLimiter(3, time.Minute)
	t0 := time.Unix(1000, 0)
	for i := 0; i < 3; i++ {
		if _, blocked := l.blocked("a", t0); blocked {
			t.Fatalf("blocked after %d failures", i)
		}
		l.fail("a", t0.Add(time.Duration(i)*time.Second))
	}
	if wait, blocked := l.blocked("a", t0.Add(10*time.Second)); !blocked || wait != 50*time.Second {
		t.Errorf("after 3 failures: blocked %v for %s, want 50s", blocked, wait)
	}
	if _, blocked := l.blocked("b", t0); blocked {
		t.Error("another key is blocked")
	}
	if _, blocked := l.blocked("a", t0.Add(time.Minute)); blocked {
		t.Error("still blocked once the first failure left the window")
	}
	l.reset("a")
	if _, blocked := l.blocked("a", t0.Add(10*time.Second)); blocked {
		t.Error("blocked after reset")
	}
	for ip, want := range map[string]string{"192.0.2.1": "192.0.2.1", "::ffff:192.0.2.1": "192.0.2.1",
		"2001:db8:1:2:3:4:5:6": "2001:db8:1:2::/64", "2001:db8:1:2::9": "2001:db8:1:2::/64", "junk": "junk"} {
		if got := limitKey(ip); got != want {
			t.Errorf("limitKey(%s) = %s, want %s", ip, got, want)
		}
	}
}

func TestNewChart(t *testing.T) {
	if c := newChart(nil); len(c.Bars) != 0 || c.Max != "0" {
		t.Errorf("no days: %+v", c)
	}
	days := make([]report.DayPoint, 30)
	for i := range days {
		days[i] = report.DayPoint{Day: time.Date(2024, 1, 1+i, 0, 0, 0, 0, time.UTC).Format(time.DateOnly), Sessions: uint64(i)}
	}
	c := newChart(days)
	if len(c.Bars) != 30 || c.Max != "29" || c.Bars[0].H != "0.00" || c.Bars[29].H != "146.00" {
		t.Errorf("30 days: %d bars, max %s, first %+v, last %+v", len(c.Bars), c.Max, c.Bars[0], c.Bars[29])
	}
	if len(c.Labels) != 7 || c.Labels[0].Text != "Jan 1" || c.Labels[0].Anchor != "start" || c.Labels[6].Text != "Jan 30" || c.Labels[6].Anchor != "end" {
		t.Errorf("labels = %+v", c.Labels)
	}
	if c := newChart(days[:1]); len(c.Labels) != 1 || c.Labels[0].Anchor != "middle" {
		t.Errorf("one day: labels %+v", c.Labels)
	}
}
