package bus

import (
	"encoding/base64"
	"encoding/json"
	"time"
	"unicode/utf8"
)

// MaxDeadLetterPayload caps the raw payload a dead letter keeps; the record
// says how large the payload was and whether it was cut.
const MaxDeadLetterPayload = 16 << 10

// DeadLetter is the JSON record kept in the dead-letter topic for each input
// the collector refused, the way Snowplow keeps bad rows: enough to see what
// was sent and why it was refused, and to replay it once fixed.
type DeadLetter struct {
	// Time is when the collector refused it (UTC, RFC 3339 with ms).
	Time time.Time `json:"time"`
	// Reason is the refusal's reason, the label of
	// teller_collector_events_rejected_total.
	Reason string `json:"reason"`
	// Site is the payload's "site" member when it has one, else empty.
	Site string `json:"site,omitempty"`
	// Payload is the raw body, cut to MaxDeadLetterPayload, when it is valid
	// UTF-8; PayloadBase64 holds it otherwise.
	Payload       string `json:"payload,omitempty"`
	PayloadBase64 string `json:"payload_base64,omitempty"`
	// Size is the body's full size; Truncated says it was cut.
	Size      int  `json:"size"`
	Truncated bool `json:"truncated,omitempty"`
}

// NewDeadLetter builds the record for a refused payload.
func NewDeadLetter(now time.Time, reason string, payload []byte) DeadLetter {
	d := DeadLetter{Time: now.UTC().Truncate(time.Millisecond), Reason: reason, Size: len(payload)}
	var probe struct {
		Site string `json:"site"`
	}
	if json.Unmarshal(payload, &probe) == nil && len(probe.Site) <= 128 && utf8.ValidString(probe.Site) {
		d.Site = probe.Site
	}
	if len(payload) > MaxDeadLetterPayload {
		cut := MaxDeadLetterPayload
		for i := 0; i < utf8.UTFMax && cut > 0 && !utf8.RuneStart(payload[cut]); i++ {
			cut-- // keep a UTF-8 text readable: cut on a character boundary
		}
		payload, d.Truncated = payload[:cut], true
	}
	if utf8.Valid(payload) {
		d.Payload = string(payload)
	} else {
		d.PayloadBase64 = base64.StdEncoding.EncodeToString(payload)
	}
	return d
}

// Message is the record to publish to topic, keyed by site so one site's
// refusals stay in order.
func (d DeadLetter) Message(topic string) Message {
	b, _ := json.Marshal(d) // strings, ints and a time: cannot fail
	return Message{Topic: topic, Key: []byte(d.Site), Value: b}
}
