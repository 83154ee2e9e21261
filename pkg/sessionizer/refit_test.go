package sessionizer

import "testing"

// A batch's buffer keeps its array for the next batch unless it is past
// keepRows and more than four times what it held: the array of a burst is
// let go, the one of a steady stream kept (and never copied again).
func TestRefitLetsGoOfABurstsArray(t *testing.T) {
	for _, tc := range []struct {
		name     string
		len, cap int
		kept     bool
	}{
		{"empty, small", 0, 256, true},
		{"small, lightly used", 10, keepRows, true},
		{"large, full", 50000, 50000, true},
		{"large, a quarter used", 12500, 50000, true},
		{"large, less than a quarter used", 12499, 50000, false},
		{"large, empty", 0, 2 * keepRows, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := make([]int, tc.len, tc.cap)
			got := refit(s)
			if len(got) != 0 {
				t.Fatalf("len %d after refit, want 0", len(got))
			}
			if kept := cap(got) == tc.cap; kept != tc.kept {
				t.Fatalf("cap %d after refit of len %d cap %d: kept %v, want %v", cap(got), tc.len, tc.cap, kept, tc.kept)
			}
		})
	}
}
