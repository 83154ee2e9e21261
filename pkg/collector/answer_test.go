package collector

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/uuid"
)

// idAnswer writes the 202's body by hand; it must be what encoding/json
// writes for {"id": id}, with id as uuid formats it.
func TestIDAnswerIsJSON(t *testing.T) {
	ids := []uuid.UUID{uuid.Nil, uuid.Max, uuid.MustParse("0123abcd-4567-89ef-fedc-ba9876543210")}
	for range 100 {
		ids = append(ids, uuid.New())
	}
	for _, id := range ids {
		want, err := json.Marshal(map[string]string{"id": id.String()})
		if err != nil {
			t.Fatal(err)
		}
		if got := idAnswer(id); string(got) != string(want) {
			t.Errorf("idAnswer(%s) = %s, want %s", id, got, want)
		}
	}
}

// The shared header values must stay one element long with no spare
// capacity: an Add after the collector's must append to a copy, never into
// the value every other answer shares.
func TestSharedHeaderValuesCannotBeAppendedInPlace(t *testing.T) {
	for name, v := range map[string][]string{"noStore": noStore, "jsonUTF8": jsonUTF8, "imageGIF": imageGIF, "yes": yes, "vary": vary} {
		if len(v) != 1 || cap(v) != 1 {
			t.Errorf("%s: len %d cap %d, want 1 and 1", name, len(v), cap(v))
		}
		before := strings.Clone(v[0])
		grown := append(v, "other")
		grown[0] = "changed"
		if v[0] != before {
			t.Errorf("%s: an append wrote into the shared value", name)
		}
	}
}

// The answer written into the request's scratch is idAnswer's, without an
// allocation.
func TestAppendIDAnswerInScratch(t *testing.T) {
	var sc acceptScratch
	id := uuid.MustParse("0123abcd-4567-89ef-fedc-ba9876543210")
	if got, want := string(appendIDAnswer(sc.answer[:0], id)), string(idAnswer(id)); got != want {
		t.Fatalf("appendIDAnswer = %s, want %s", got, want)
	}
	if n := testing.AllocsPerRun(100, func() { appendIDAnswer(sc.answer[:0], id) }); n != 0 {
		t.Fatalf("appendIDAnswer into the scratch allocates %v times", n)
	}
}
