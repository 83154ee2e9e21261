package collector

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/teller-analytics/teller/pkg/event"
)

// MaxBatch bounds the events of one POST /api/event batch.
const MaxBatch = 50

// decodeError is a refusal of the body as a whole, naming the field.
type decodeError struct {
	field, msg string
}

func (e *decodeError) Error() string { return e.msg }

// DecodeBody reads a POST /api/event body: one Teller event object, a JSON
// array of 1..MaxBatch of them (one site), or one event in Plausible's event
// API shape (see DecodePlausible), told apart by its "n" member. Unknown
// members of a Teller event are refused, so a typo is not silently lost.
func DecodeBody(body []byte) ([]Payload, error) {
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) > 0 && trimmed[0] == '[' {
		out, ok := decodeFastBatch(trimmed)
		if !ok {
			return decodeBatch(trimmed)
		}
		for i := range out {
			if err := oneSite(out, i); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	// Teller's shape first: it is the common one, and Plausible's (with its
	// "n") never decodes as it.
	var p Payload
	if decodeFast(trimmed, &p) {
		return []Payload{p}, nil
	}
	p = Payload{} // decodeFast may have set members before it gave up
	err := strictDecode(trimmed, &p)
	if err == nil {
		return []Payload{p}, nil
	}
	if isPlausible(trimmed) {
		p, err := DecodePlausible(trimmed)
		if err != nil {
			return nil, err
		}
		return []Payload{p}, nil
	}
	return nil, &decodeError{"", "body is not a valid event: " + err.Error()}
}

// decodeBatch is encoding/json's reading of a batch: the rule that
// decodeFastBatch matches wherever it answers.
func decodeBatch(b []byte) ([]Payload, error) {
	var raw []json.RawMessage
	if err := strictDecode(b, &raw); err != nil {
		return nil, &decodeError{"", "body is not a valid batch: " + err.Error()}
	}
	if len(raw) == 0 || len(raw) > MaxBatch {
		return nil, &decodeError{"", fmt.Sprintf("a batch has 1..%d events, not %d", MaxBatch, len(raw))}
	}
	out := make([]Payload, len(raw))
	for i, r := range raw {
		if err := strictDecode(r, &out[i]); err != nil {
			return nil, &decodeError{"", fmt.Sprintf("event %d of the batch is not a valid event: %v", i, err)}
		}
		if err := oneSite(out, i); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// oneSite refuses event i of a batch when it names another site than the first.
func oneSite(batch []Payload, i int) error {
	if batch[i].Site != batch[0].Site {
		return &decodeError{"site", fmt.Sprintf("event %d of the batch names site %.80q, the first %.80q: one site per batch", i, batch[i].Site, batch[0].Site)}
	}
	return nil
}

func strictDecode(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("data after the JSON value")
	}
	return nil
}

// isPlausible tells Plausible's body from Teller's: it has an "n" member
// (the event name) and no "kind".
func isPlausible(b []byte) bool {
	var probe struct {
		N    *json.RawMessage `json:"n"`
		Kind *json.RawMessage `json:"kind"`
	}
	return json.Unmarshal(b, &probe) == nil && probe.N != nil && probe.Kind == nil
}

// plausibleBody is Plausible's event API body as its tracker sends it
// (https://plausible.io/docs/events-api): n name, u URL, d domain(s), r
// referrer, p props (an object, or that object as a JSON string in older
// trackers), $ revenue, and on "engagement" events sd (scroll depth) and e
// (engaged milliseconds). Other members (w, h, i, v...) are ignored.
type plausibleBody struct {
	Name     string          `json:"n"`
	URL      string          `json:"u"`
	Domain   string          `json:"d"`
	Referrer *string         `json:"r"`
	Props    json.RawMessage `json:"p"`
	Revenue  *struct {
		Amount   json.RawMessage `json:"amount"`
		Currency string          `json:"currency"`
	} `json:"$"`
	ScrollDepth *float64 `json:"sd"`
	Engaged     *float64 `json:"e"`
}

// DecodePlausible maps a Plausible event to a Teller payload (the mapping is
// docs/plausible.md's): "pageview" and "engagement" keep their kind, any
// other name is a custom event; d names the site by one of its domains
// (Payload.Domain: the first of a comma-separated list); props become string
// props; revenue becomes the props revenue_amount and revenue_currency.
func DecodePlausible(b []byte) (Payload, error) {
	var pb plausibleBody
	if err := json.Unmarshal(b, &pb); err != nil {
		return Payload{}, &decodeError{"", "body is not a valid Plausible event: " + err.Error()}
	}
	p := Payload{URL: pb.URL, Name: pb.Name}
	p.Domain, _, _ = strings.Cut(pb.Domain, ",")
	p.Domain = strings.TrimSpace(p.Domain)
	if p.Domain == "" {
		return Payload{}, &decodeError{"d", "d (the site's domain) is missing"}
	}
	if pb.Referrer != nil {
		p.Referrer = *pb.Referrer
	}
	switch pb.Name {
	case "pageview":
		p.Kind = event.KindPageview
	case "engagement":
		p.Kind = event.KindEngagement
		if pb.ScrollDepth != nil {
			p.ScrollDepth = int(min(max(*pb.ScrollDepth, 0), 100))
		}
		if pb.Engaged != nil && *pb.Engaged > 0 {
			p.EngagedMs = int64(min(*pb.Engaged, 1e12))
		}
	default:
		p.Kind = event.KindCustom
	}
	props, err := plausibleProps(pb.Props)
	if err != nil {
		return Payload{}, err
	}
	if pb.Revenue != nil {
		if props == nil {
			props = map[string]string{}
		}
		props["revenue_amount"] = strings.Trim(string(pb.Revenue.Amount), `"`)
		props["revenue_currency"] = pb.Revenue.Currency
	}
	p.Props = props
	return p, nil
}

func plausibleProps(raw json.RawMessage) (map[string]string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	if raw[0] == '"' { // the object as a JSON string
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, &decodeError{"p", "p is not a props object"}
		}
		raw = []byte(s)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, &decodeError{"p", "p is not a props object"}
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		switch v := v.(type) {
		case string:
			out[k] = v
		case float64:
			out[k] = strconv.FormatFloat(v, 'f', -1, 64)
		case bool:
			out[k] = strconv.FormatBool(v)
		case nil:
		default:
			return nil, &decodeError{"p", fmt.Sprintf("prop %.64q: values are strings, numbers or booleans", k)}
		}
	}
	return out, nil
}

// DecodePixel reads GET /p.gif's query: site, url (default: the Referer
// header, for an <img> on the page itself), ref, kind (default pageview),
// name, title and props as p.KEY=VALUE.
func DecodePixel(q url.Values, referer string) (Payload, error) {
	p := Payload{Site: q.Get("site"), URL: q.Get("url"), Referrer: q.Get("ref"), Title: q.Get("title"),
		Kind: event.Kind(q.Get("kind")), Name: q.Get("name")}
	if p.URL == "" {
		p.URL = referer
	}
	if p.URL == "" {
		return Payload{}, &decodeError{"url", "url is missing (and no Referer came with the pixel)"}
	}
	if p.Kind == "" {
		p.Kind = event.KindPageview
	}
	for k, v := range q {
		if name, ok := strings.CutPrefix(k, "p."); ok && len(v) > 0 {
			if p.Props == nil {
				p.Props = map[string]string{}
			}
			if len(p.Props) >= event.MaxProps {
				return Payload{}, &decodeError{"prop", fmt.Sprintf("more than %d props", event.MaxProps)}
			}
			p.Props[name] = v[0]
		}
	}
	return p, nil
}
