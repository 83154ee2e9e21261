package importer

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Result is the collector's answer to one batch.
type Result struct {
	// Accepted events were published.
	Accepted int `json:"accepted"`
	// Rejected events are listed with why; the rest of their batch was
	// still accepted.
	Rejected []Rejection `json:"rejected,omitempty"`
}

// Rejection names one refused event of a batch by its index.
type Rejection struct {
	Index int    `json:"index"`
	Error string `json:"error"`
}

// Client sends batches to a collector's POST /api/import.
type Client struct {
	// CollectorURL is the collector's base URL.
	CollectorURL string
	// Token is the site's import token (teller import token add).
	Token string
	// Site is the site the events are for.
	Site string
	// HTTP is the client to use; nil: one with a 60 s timeout.
	HTTP *http.Client
	// Retries is how often a batch is re-sent after a 5xx or a transport
	// error (event ids make that safe); default 3.
	Retries int
}

// Send posts one batch and returns the collector's answer.
func (c *Client) Send(ctx context.Context, events []Event) (Result, error) {
	body, err := json.Marshal(Batch{Site: c.Site, Events: events})
	if err != nil {
		return Result{}, fmt.Errorf("import: encode batch: %w", err)
	}
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: time.Minute}
	}
	retries := c.Retries
	if retries <= 0 {
		retries = 3
	}
	var lastErr error
	for attempt := 0; attempt <= retries; attempt++ {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return Result{}, ctx.Err()
			case <-time.After(time.Duration(attempt) * time.Second):
			}
		}
		res, retry, err := c.post(ctx, hc, body)
		if err == nil || !retry {
			return res, err
		}
		lastErr = err
	}
	return Result{}, lastErr
}

func (c *Client) post(ctx context.Context, hc *http.Client, body []byte) (Result, bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(c.CollectorURL, "/")+"/api/import", bytes.NewReader(body))
	if err != nil {
		return Result{}, false, fmt.Errorf("import: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+c.Token)
	resp, err := hc.Do(req)
	if err != nil {
		return Result{}, ctx.Err() == nil, fmt.Errorf("import: post batch: %w", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return Result{}, true, fmt.Errorf("import: read answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error string `json:"error"`
		}
		_ = json.Unmarshal(raw, &e)
		if e.Error == "" {
			e.Error = strings.TrimSpace(string(raw))
		}
		return Result{}, resp.StatusCode >= 500, fmt.Errorf("import: collector answered %s: %s", resp.Status, e.Error)
	}
	var res Result
	if err := json.Unmarshal(raw, &res); err != nil {
		return Result{}, false, fmt.Errorf("import: collector's answer is not JSON: %w", err)
	}
	return res, false, nil
}

// Sender batches events for a Client: Add queues one and sends a full
// batch, Flush sends the rest. Totals add up what the collector answered.
type Sender struct {
	Client    *Client
	BatchSize int // default and most: MaxBatchEvents
	// Progress, if set, is called after every batch with the totals so far.
	Progress func(Totals)

	pending []Event
	totals  Totals
}

// Totals of a Sender's batches.
type Totals struct {
	Batches  int64 `json:"batches"`
	Sent     int64 `json:"sent"`
	Accepted int64 `json:"accepted"`
	Rejected int64 `json:"rejected"`
	// FirstRejections are the first refusals, with the event they were for.
	FirstRejections []string `json:"first_rejections,omitempty"`
}

// Add queues ev, sending the batch when it is full.
func (s *Sender) Add(ctx context.Context, ev Event) error {
	s.pending = append(s.pending, ev)
	if len(s.pending) >= s.size() {
		return s.Flush(ctx)
	}
	return nil
}

func (s *Sender) size() int {
	if s.BatchSize <= 0 || s.BatchSize > MaxBatchEvents {
		return MaxBatchEvents
	}
	return s.BatchSize
}

// Flush sends what is queued.
func (s *Sender) Flush(ctx context.Context) error {
	if len(s.pending) == 0 {
		return nil
	}
	res, err := s.Client.Send(ctx, s.pending)
	if err != nil {
		return err
	}
	s.totals.Batches++
	s.totals.Sent += int64(len(s.pending))
	s.totals.Accepted += int64(res.Accepted)
	s.totals.Rejected += int64(len(res.Rejected))
	for _, r := range res.Rejected {
		if len(s.totals.FirstRejections) >= maxMalformedShown {
			break
		}
		what := ""
		if r.Index >= 0 && r.Index < len(s.pending) {
			what = " (" + s.pending[r.Index].URL + ")"
		}
		s.totals.FirstRejections = append(s.totals.FirstRejections, r.Error+what)
	}
	s.pending = s.pending[:0]
	if s.Progress != nil {
		s.Progress(s.totals)
	}
	return nil
}

// Totals so far.
func (s *Sender) Totals() Totals { return s.totals }

// Pending is how many events wait for the next batch.
func (s *Sender) Pending() int { return len(s.pending) }

// Size is the batch size in use.
func (s *Sender) Size() int { return s.size() }
