package collector_test

import (
	"net/url"
	"testing"

	"github.com/teller-analytics/teller/pkg/collector"
)

// The decoders take anything a stranger sends: they never panic, and what
// they accept is within bounds.

func FuzzDecodeBody(f *testing.F) {
	f.Add([]byte(`{"site":"shop","kind":"pageview","url":"https://shop.example/"}`))
	f.Add([]byte(`[{"site":"shop","kind":"event","name":"x","url":"https://shop.example/","props":{"a":"b"}}]`))
	f.Add([]byte(`{"n":"pageview","u":"https://shop.example/","d":"shop.example"}`))
	f.Add([]byte(` [] `))
	f.Fuzz(func(t *testing.T, b []byte) {
		ps, err := collector.DecodeBody(b)
		if err != nil {
			return
		}
		if len(ps) < 1 || len(ps) > collector.MaxBatch {
			t.Fatalf("%d payloads accepted", len(ps))
		}
		for _, p := range ps {
			if p.Site != ps[0].Site {
				t.Fatal("a batch of two sites accepted")
			}
		}
	})
}

func FuzzDecodePlausible(f *testing.F) {
	f.Add([]byte(`{"n":"engagement","u":"https://shop.example/","d":"shop.example","sd":50,"e":1000}`))
	f.Add([]byte(`{"n":"Buy","u":"https://shop.example/","d":"a.example,b.example","p":"{\"k\":1}","$":{"amount":3,"currency":"USD"}}`))
	f.Add([]byte(`{"n":"x","d":"","r":null}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := collector.DecodePlausible(b)
		if err != nil {
			return
		}
		if p.Domain == "" || p.ScrollDepth < 0 || p.ScrollDepth > 100 || p.EngagedMs < 0 || p.Kind == "" {
			t.Fatalf("out of bounds: %+v", p)
		}
	})
}

func FuzzDecodePixel(f *testing.F) {
	f.Add("site=shop&url=https%3A%2F%2Fshop.example%2F&p.a=b", "")
	f.Add("site=shop", "https://shop.example/page")
	f.Add("p.x=1&p.y=2&kind=event&name=n", "https://shop.example/")
	f.Fuzz(func(t *testing.T, query, referer string) {
		q, err := url.ParseQuery(query)
		if err != nil {
			return
		}
		p, err := collector.DecodePixel(q, referer)
		if err != nil {
			return
		}
		if p.URL == "" || p.Kind == "" || len(p.Props) > 30 {
			t.Fatalf("out of bounds: %+v", p)
		}
	})
}
