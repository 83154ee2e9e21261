package session

import (
	"fmt"
	"reflect"
	"testing"
)

// A Tally given a Partition's own assignments, redeliveries included,
// ends with the figures of the Partition's last version of every session.
func TestTallyMatchesPartition(t *testing.T) {
	events := checkpointStream()
	for i := range events {
		events[i].Facts = &Facts{Kind: Kind(1 + i%3), ScrollDepth: uint8(i % 100), IsBot: i%97 == 0,
			Attrs: Attrs{Pathname: fmt.Sprintf("/p%d", i%7), Referrer: fmt.Sprint("r", i%5), Country: []string{"DE", "", "US"}[i%3]}}
	}
	// Every 10th event is delivered again right after.
	var log []Input
	for i, in := range events {
		log = append(log, in)
		if i%10 == 0 {
			log = append(log, in)
		}
	}
	p := newPartition(t, DefaultRules())
	var tally Tally
	last := map[string]Figures{}
	for _, in := range log {
		a := p.Assign(in)
		tally.Add(in, a)
		for _, f := range p.Changed(nil) {
			last[f.SessionID.String()] = f
		}
	}
	got := tally.Figures()
	if len(got) != len(last) {
		t.Fatalf("tally has %d sessions, the partition wrote %d", len(got), len(last))
	}
	for _, f := range got {
		if want := last[f.SessionID.String()]; !reflect.DeepEqual(f, want) {
			t.Fatalf("session %s:\n tally     %+v\n partition %+v", f.SessionID, f, want)
		}
	}
}

func TestParseReason(t *testing.T) {
	for r := FirstVisit; r <= Campaign; r++ {
		if got, ok := ParseReason(r.String()); !ok || got != r {
			t.Errorf("ParseReason(%q) = %v, %v", r.String(), got, ok)
		}
	}
	if _, ok := ParseReason("unknown"); ok {
		t.Error("ParseReason accepted an unknown name")
	}
}
