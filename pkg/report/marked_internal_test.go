package report

import "testing"

// TestMarkedKeepsWhileTheMarkHolds: a value comes back only under its own
// mark; the least recently used go first once the costs pass max; a value
// above largest is not kept; a new value under a key replaces the old.
func TestMarkedKeepsWhileTheMarkHolds(t *testing.T) {
	c := newMarked(10, 4, func(_ string, v int) int64 { return int64(v) })
	m1, m2 := previousMark{1, 1}, previousMark{1, 2}
	c.put("a", m1, 3)
	c.put("b", m1, 3)
	if c.put("huge", m1, 5) { // above largest
		t.Error("put reported a value above largest as kept")
	}
	if _, ok := c.get("a", m2); ok {
		t.Error("a came back under another mark")
	}
	if v, ok := c.get("a", m1); !ok || v != 3 {
		t.Errorf("a: %d, %t; want 3", v, ok)
	}
	if _, ok := c.get("huge", m1); ok {
		t.Error("a value above largest was kept")
	}
	c.put("c", m1, 4) // 3 + 3 + 4 = 10: all fit
	c.put("d", m1, 2) // 12: b, the least recently used, goes
	for _, tc := range []struct {
		key  string
		want bool
	}{{"a", true}, {"b", false}, {"c", true}, {"d", true}} {
		if _, ok := c.get(tc.key, m1); ok != tc.want {
			t.Errorf("%s kept: %t, want %t", tc.key, ok, tc.want)
		}
	}
	c.put("a", m2, 1)
	if v, ok := c.get("a", m2); !ok || v != 1 {
		t.Errorf("a replaced: %d, %t; want 1", v, ok)
	}
	if _, _, total := c.stats(); total != 1+4+2 {
		t.Errorf("total cost %d, want 7", total)
	}
}
