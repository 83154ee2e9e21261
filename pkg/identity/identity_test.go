package identity

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/uuid"
)

func TestSignVerifyRotation(t *testing.T) {
	old, _ := NewSigner("old-key-0123456789")
	rotated, _ := NewSigner("new-key-0123456789", "old-key-0123456789")
	id := uuid.New()

	value := old.Sign(id)
	got, stale, err := rotated.Verify(value)
	if err != nil || got != id || !stale {
		t.Fatalf("old-key cookie after rotation: id %v stale %v err %v", got, stale, err)
	}
	got, stale, err = rotated.Verify(rotated.Sign(id))
	if err != nil || got != id || stale {
		t.Fatalf("current-key cookie: id %v stale %v err %v", got, stale, err)
	}
	if len(value) > 60 {
		t.Fatalf("cookie value is %d bytes", len(value))
	}
}

func TestVerifyRejects(t *testing.T) {
	s, _ := NewSigner("key-0123456789abcdef")
	other, _ := NewSigner("another-key-0123456789")
	good := s.Sign(uuid.New())
	idPart, macPart, _ := strings.Cut(good, ".")
	forged := other.Sign(uuid.New())
	tests := map[string]string{
		"empty":           "",
		"no signature":    idPart,
		"bad base64":      "!!!." + macPart,
		"short id":        "AAAA." + macPart,
		"other key":       forged,
		"swapped id":      strings.Split(forged, ".")[0] + "." + macPart,
		"truncated mac":   idPart + "." + macPart[:10],
		"a raw uuid only": uuid.NewString(),
	}
	for name, v := range tests {
		if _, _, err := s.Verify(v); err == nil {
			t.Errorf("%s: %q accepted", name, v)
		}
	}
}

func TestNewSignerNeedsKeys(t *testing.T) {
	if _, err := NewSigner(); err == nil {
		t.Fatal("no keys accepted")
	}
	if _, err := NewSigner("short"); err == nil {
		t.Fatal("short key accepted")
	}
	if len(RandomKey()) < 40 {
		t.Fatal("random key too short")
	}
}

func BenchmarkSignVerify(b *testing.B) {
	s, _ := NewSigner(RandomKey())
	id := uuid.New()
	for b.Loop() {
		if _, _, err := s.Verify(s.Sign(id)); err != nil {
			b.Fatal(err)
		}
	}
}

// TestSignatureIsStable pins the cookie format: browsers hold values signed
// by earlier releases, and a change to the MAC's computation would turn every
// returning visitor into a new one.
func TestSignatureIsStable(t *testing.T) {
	s, _ := NewSigner("golden-key-0123456789")
	id := uuid.MustParse("0190a3c4-5b6d-7e8f-9012-3456789abcde")
	const want = "AZCjxFttfo-QEjRWeJq83g.Dv_JIgXte6FdsxlyyWLpSw" // made by the release before pooled MACs
	if got := s.Sign(id); got != want {
		t.Fatalf("Sign = %q, want %q", got, want)
	}
	if got, stale, err := s.Verify(want); err != nil || stale || got != id {
		t.Fatalf("Verify(%q) = %v, %v, %v", want, got, stale, err)
	}
}

// TestSignerConcurrent signs and verifies from many goroutines: the MAC
// states are pooled and must never be shared by two at once (go test -race).
func TestSignerConcurrent(t *testing.T) {
	s, _ := NewSigner("key-a-0123456789abcdef", "key-b-0123456789abcdef")
	old, _ := NewSigner("key-b-0123456789abcdef")
	done := make(chan error)
	for g := 0; g < 8; g++ {
		go func() {
			for i := 0; i < 500; i++ {
				id := uuid.New()
				if got, stale, err := s.Verify(s.Sign(id)); err != nil || stale || got != id {
					done <- fmt.Errorf("current key: %v %v %v", got, stale, err)
					return
				}
				if got, stale, err := s.Verify(old.Sign(id)); err != nil || !stale || got != id {
					done <- fmt.Errorf("old key: %v %v %v", got, stale, err)
					return
				}
			}
			done <- nil
		}()
	}
	for g := 0; g < 8; g++ {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}
