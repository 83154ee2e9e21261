package identity

import (
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
