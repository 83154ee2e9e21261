package session

import (
	"bytes"
	"fmt"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"
)

// checkpointStream is the stream testdata/checkpoint-v1.bin was cut from:
// two sites, 37 visitors, some events a few minutes late.
func checkpointStream() []Input {
	var events []Input
	for i := 0; i < 2000; i++ {
		events = append(events, Input{
			EventID: uuid.NewSHA1(uuid.NameSpaceURL, []byte(fmt.Sprint(i))),
			Site:    []string{"a", "b"}[i%2], Visitor: visitorID(fmt.Sprint(i % 37)),
			TimeMs: day0.UnixMilli() + int64(i)*int64(97*time.Second/time.Millisecond) - int64(i%5)*60_000,
		})
	}
	return events
}

// checkpointCut is how many events of checkpointStream the fixture covers.
const checkpointCut = 1333

// testdata/checkpoint-v1.bin was written by the build before zones moved
// into Input (state version 1), after checkpointCut events of
// checkpointStream under the default rules. A checkpoint written by an
// older build must restore and continue exactly as an uninterrupted run;
// never rewrite the file: a new encoding gets a new version and a fixture of
// its own, and version 1 stays readable.
func TestRestoresVersion1Checkpoint(t *testing.T) {
	fixture, err := os.ReadFile("testdata/checkpoint-v1.bin")
	if err != nil {
		t.Fatal(err)
	}
	events := checkpointStream()
	whole := newPartition(t, DefaultRules())
	var want []Assignment
	for _, in := range events {
		want = append(want, whole.Assign(in))
	}
	restored := newPartition(t, DefaultRules())
	if err := restored.UnmarshalBinary(fixture); err != nil {
		t.Fatalf("a version 1 checkpoint no longer restores: %v", err)
	}
	for i, in := range events[checkpointCut:] {
		if got := restored.Assign(in); got != want[checkpointCut+i] {
			t.Fatalf("event %d after restoring a version 1 checkpoint: %+v, want %+v", checkpointCut+i, got, want[checkpointCut+i])
		}
	}

	// While this build writes version 1, it writes it as the older build did.
	if stateVersion == 1 {
		p := newPartition(t, DefaultRules())
		for _, in := range events[:checkpointCut] {
			p.Assign(in)
		}
		state, err := p.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(state, fixture) {
			t.Fatal("the version 1 encoding changed: bump stateVersion and keep reading version 1")
		}
	}
}

// testdata/checkpoint-v2.bin is checkpointStream's first checkpointCut
// events with figures (state version 2), written by the build that
// introduced it. Like version 1, it must restore and continue exactly, and
// while this build writes version 2 it writes it byte for byte.
func TestRestoresVersion2Checkpoint(t *testing.T) {
	events := checkpointStream()
	for i := range events {
		events[i].Facts = &Facts{Kind: Kind(1 + i%3), ScrollDepth: uint8(i % 100), IsBot: i%97 == 0,
			Attrs: Attrs{Pathname: fmt.Sprintf("/p%d", i%7), Channel: "direct", Browser: "Firefox", ScreenWidth: uint16(i)}}
	}
	p := newPartition(t, DefaultRules())
	for _, in := range events[:checkpointCut] {
		p.Assign(in)
	}
	p.Changed(nil)
	state, err := p.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if *update && stateVersion == 2 { // a fixture of an older version is never rewritten
		if err := os.WriteFile("testdata/checkpoint-v2.bin", state, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	fixture, err := os.ReadFile("testdata/checkpoint-v2.bin")
	if err != nil {
		t.Fatal(err)
	}
	// The id record of closed sessions is a trailing section the fixture
	// predates: the sessions before it are encoded byte for byte as then.
	if stateVersion == 2 && (len(state) <= len(fixture) || !bytes.Equal(state[:len(fixture)], fixture) || state[len(fixture)] != recentSection) {
		t.Fatal("the version 2 encoding changed: bump stateVersion and keep reading version 2")
	}
	restored := newPartition(t, DefaultRules())
	if err := restored.UnmarshalBinary(fixture); err != nil {
		t.Fatalf("a version 2 checkpoint no longer restores: %v", err)
	}
	for i, in := range events[checkpointCut:] {
		want, got := p.Assign(in), restored.Assign(in)
		if got != want {
			t.Fatalf("event %d after restoring: %+v, want %+v", checkpointCut+i, got, want)
		}
		if w, g := p.Changed(nil), restored.Changed(nil); !reflect.DeepEqual(w, g) {
			t.Fatalf("event %d after restoring: versions %+v, want %+v", checkpointCut+i, g, w)
		}
	}
}

// testdata/checkpoint-v3.bin is version 2's stream with countries on the
// entry events (state version 3 adds the entry's Country), written by the
// build that introduced it: it restores and continues exactly, and while
// this build writes version 3 it writes it byte for byte.
func TestRestoresVersion3Checkpoint(t *testing.T) {
	events := checkpointStream()
	for i := range events {
		events[i].Facts = &Facts{Kind: Kind(1 + i%3), ScrollDepth: uint8(i % 100), IsBot: i%97 == 0,
			Attrs: Attrs{Pathname: fmt.Sprintf("/p%d", i%7), Channel: "direct", Browser: "Firefox", ScreenWidth: uint16(i),
				Country: []string{"DE", "US", "", "FR"}[i%4]}}
	}
	p := newPartition(t, DefaultRules())
	for _, in := range events[:checkpointCut] {
		p.Assign(in)
	}
	p.Changed(nil)
	state, err := p.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if *update && stateVersion == 3 {
		if err := os.WriteFile("testdata/checkpoint-v3.bin", state, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	fixture, err := os.ReadFile("testdata/checkpoint-v3.bin")
	if err != nil {
		t.Fatal(err)
	}
	if stateVersion == 3 && !bytes.Equal(state, fixture) {
		t.Fatal("the version 3 encoding changed: bump stateVersion and keep reading version 3")
	}
	restored := newPartition(t, DefaultRules())
	if err := restored.UnmarshalBinary(fixture); err != nil {
		t.Fatalf("a version 3 checkpoint no longer restores: %v", err)
	}
	countries := map[string]bool{}
	for i, in := range events[checkpointCut:] {
		want, got := p.Assign(in), restored.Assign(in)
		if got != want {
			t.Fatalf("event %d after restoring: %+v, want %+v", checkpointCut+i, got, want)
		}
		w, g := p.Changed(nil), restored.Changed(nil)
		if !reflect.DeepEqual(w, g) {
			t.Fatalf("event %d after restoring: versions %+v, want %+v", checkpointCut+i, g, w)
		}
		for _, f := range g {
			countries[f.Entry.Country] = true
		}
	}
	// The restored sessions' countries came through the checkpoint.
	if !countries["DE"] || !countries["US"] || !countries["FR"] {
		t.Fatalf("entry countries after restoring: %v", countries)
	}
}
