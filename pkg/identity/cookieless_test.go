package identity

import (
	"testing"
	"time"
)

// A visit across midnight stays one visitor; a browser first seen after
// midnight gets the new day's id; the link ends after two days.
func TestCookielessAcrossMidnight(t *testing.T) {
	s, err := NewSigner("cookieless-test-key-0123456789")
	if err != nil {
		t.Fatal(err)
	}
	c := s.NewCookieless(0)
	day := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	evening, morning := day.Add(23*time.Hour+50*time.Minute), day.Add(24*time.Hour+10*time.Minute)

	a1, newA := c.Visitor(evening, "shop", "192.0.2.1", "UA")
	a2, again := c.Visitor(evening.Add(time.Minute), "shop", "192.0.2.1", "UA")
	if !newA || again || a1 != a2 {
		t.Fatalf("same browser, same day: %v/%v new %v/%v", a1, a2, newA, again)
	}
	a3, newAfterMidnight := c.Visitor(morning, "shop", "192.0.2.1", "UA")
	if a3 != a1 || newAfterMidnight {
		t.Fatalf("across midnight: %v then %v (new %v): want one visitor", a1, a3, newAfterMidnight)
	}
	if a4, _ := c.Visitor(morning.Add(10*time.Hour), "shop", "192.0.2.1", "UA"); a4 != a1 {
		t.Fatal("the id kept after midnight changed later that day")
	}
	b1, newB := c.Visitor(morning, "shop", "192.0.2.2", "UA")
	if !newB || b1 == a1 {
		t.Fatalf("another address: %v new %v", b1, newB)
	}
	if other, _ := c.Visitor(morning, "blog", "192.0.2.2", "UA"); other == b1 {
		t.Fatal("two sites share a cookieless id")
	}
	if later, isNew := c.Visitor(morning.Add(48*time.Hour), "shop", "192.0.2.1", "UA"); later == a1 || !isNew {
		t.Fatal("the id survived two midnights without a visit")
	}
	// Another collector with the same key agrees on the day's id.
	if d, _ := s.NewCookieless(0).Visitor(evening, "shop", "192.0.2.1", "UA"); d != a1 {
		t.Fatal("collectors sharing the key disagree")
	}
	// The bound holds: ids past the cap are not remembered.
	small := s.NewCookieless(2)
	for _, ip := range []string{"a", "b", "c", "d"} {
		small.Visitor(evening, "shop", ip, "UA")
	}
	if len(small.today) != 2 {
		t.Fatalf("%d ids remembered, cap 2", len(small.today))
	}
}
