package collector_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/teller-analytics/teller/internal/testenv"
	"github.com/teller-analytics/teller/pkg/collector"
)

// onlyReader hides strings.Reader's Len, so net/http sends the body chunked,
// without a Content-Length.
type onlyReader struct{ io.Reader }

// The body is read by its Content-Length when it declares one within the
// limit, else through the byte limit: both ways accept the same event and
// refuse the same oversized body with 413.
func TestBodyWithAndWithoutContentLength(t *testing.T) {
	brokers := testenv.Kafka(t, topic, 2)
	srv, _ := newServerWith(t, brokers, func(o *collector.Options) { o.MaxBodyBytes = 512 })
	good := `{"site":"shop","kind":"pageview","url":"https://shop.example/a"}`
	big := `{"site":"shop","kind":"pageview","url":"https://shop.example/","title":"` + strings.Repeat("x", 600) + `"}`
	tests := []struct {
		name    string
		body    string
		chunked bool
		status  int
	}{
		{"declared length", good, false, http.StatusAccepted},
		{"chunked", good, true, http.StatusAccepted},
		{"declared length too large", big, false, http.StatusRequestEntityTooLarge},
		{"chunked too large", big, true, http.StatusRequestEntityTooLarge},
		{"declared length exactly the limit", good + strings.Repeat(" ", 512-len(good)), false, http.StatusAccepted},
	}
	accepted := 0
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body io.Reader = strings.NewReader(tt.body)
			if tt.chunked {
				body = onlyReader{body}
			}
			req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/event", body)
			req.Header.Set("Content-Type", "text/plain")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			answer, _ := io.ReadAll(resp.Body)
			if tt.chunked != (req.ContentLength <= 0) {
				t.Fatalf("request sent with Content-Length %d, chunked %v", req.ContentLength, tt.chunked)
			}
			if resp.StatusCode != tt.status {
				t.Fatalf("answered %d (%s), want %d", resp.StatusCode, answer, tt.status)
			}
			var a struct{ ID, Error string }
			if err := json.Unmarshal(answer, &a); err != nil || (a.ID == "") == (tt.status == http.StatusAccepted) {
				t.Fatalf("answer %q", answer)
			}
			if tt.status == http.StatusAccepted {
				accepted++
			}
		})
	}
	if msgs := readAll(t, brokers, accepted); len(msgs) != accepted {
		t.Fatalf("%d events in Kafka, want %d", len(msgs), accepted)
	}
}
