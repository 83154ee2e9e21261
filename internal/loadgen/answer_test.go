package loadgen

import (
	"encoding/json"
	"testing"

	"github.com/google/uuid"
)

// answerID reads the collector's {"id":"..."} directly, and any answer
// exactly as encoding/json does.
func TestAnswerIDIsEncodingJSONs(t *testing.T) {
	for _, body := range []string{
		`{"id":"0190c1d2-7a3b-7c4d-8e5f-a1b2c3d4e5f6"}`,
		`{"id":"0190C1D2-7A3B-7C4D-8E5F-A1B2C3D4E5F6"}`,
		`{"id": "0190c1d2-7a3b-7c4d-8e5f-a1b2c3d4e5f6"}`,
		` {"id":"0190c1d2-7a3b-7c4d-8e5f-a1b2c3d4e5f6"}` + "\n",
		`{"ID":"0190c1d2-7a3b-7c4d-8e5f-a1b2c3d4e5f6"}`,
		`{"id":"0190c1d27a3b7c4d8e5fa1b2c3d4e5f6"}`,
		`{"id":"urn:uuid:0190c1d2-7a3b-7c4d-8e5f-a1b2c3d4e5f6"}`,
		`{"id":"0190c1d2-7a3b-7c4d-8e5f-a1b2c3d4e5fg"}`,
		`{"id":"0190c1d2x7a3b-7c4d-8e5f-a1b2c3d4e5f6"}`,
		`{"id":"\u0030190c1d2-7a3b-7c4d-8e5f-a1b2c3d4e5f"}`,
		`{"id":"0190c1d2-7a3b-7c4d-8e5f-a1b2c3d4e5f6","rejected":[]}`,
		`{"ids":["0190c1d2-7a3b-7c4d-8e5f-a1b2c3d4e5f6"]}`,
		`{"id":""}`, `{}`, ``, `not json`, `{"id":"0190c1d2-7a3b-7c4d-8e5f-a1b2c3d4e5f6"`,
	} {
		var want struct {
			ID uuid.UUID `json:"id"`
		}
		_ = json.Unmarshal([]byte(body), &want)
		if got := answerID([]byte(body)); got != want.ID {
			t.Errorf("%s: %s, encoding/json %s", body, got, want.ID)
		}
	}
	if answerID([]byte(`{"id":"0190c1d2-7a3b-7c4d-8e5f-a1b2c3d4e5f6"}`)) == uuid.Nil {
		t.Fatal("the collector's answer gives no id")
	}
}

// answerIDs reads the collector's batch answer directly, and any answer
// exactly as encoding/json does.
func TestAnswerIDsIsEncodingJSONs(t *testing.T) {
	const a, b = "0190c1d2-7a3b-7c4d-8e5f-a1b2c3d4e5f6", "0190c1d2-7a3b-7c4d-8e5f-a1b2c3d4e5f7"
	for _, body := range []string{
		`{"ids":["` + a + `","` + b + `"],"rejected":null}`,
		`{"ids":["` + a + `"],"rejected":null}`,
		`{"ids":[],"rejected":null}`,
		`{"ids":["` + a + `","` + b + `"],"rejected":[{"index":2,"error":"x"}]}`,
		`{"ids":["` + a + `", "` + b + `"],"rejected":null}`,
		`{"ids":["` + a + `",],"rejected":null}`,
		`{"ids":["` + a + `""` + b + `"],"rejected":null}`,
		`{"ids":["` + a[:35] + `g"],"rejected":null}`,
		`{"ids":["` + a + `"]}`, `{"id":"` + a + `"}`, `{}`, ``, `not json`,
	} {
		var want struct {
			IDs []uuid.UUID `json:"ids"`
		}
		_ = json.Unmarshal([]byte(body), &want)
		got := answerIDs([]uuid.UUID{uuid.Max}, []byte(body))
		if len(got) != 1+len(want.IDs) || got[0] != uuid.Max {
			t.Errorf("%s: %v, encoding/json %v", body, got, want.IDs)
			continue
		}
		for i := range want.IDs {
			if got[1+i] != want.IDs[i] {
				t.Errorf("%s: %v, encoding/json %v", body, got[1:], want.IDs)
			}
		}
	}
	if got := answerIDs(nil, []byte(`{"ids":["`+a+`","`+b+`"],"rejected":null}`)); len(got) != 2 {
		t.Fatalf("the collector's batch answer gives %d ids", len(got))
	}
}
