// Package jsonscan owns the JSON scanning rules of Teller's hand-written
// decoders: pkg/collector's decoder of the snippet's body (a string) and
// pkg/event's decoder of the event message ([]byte). It reads whitespace,
// punctuation, strings (with their escapes), integers and literals, each
// exactly as encoding/json reads them, and refuses whatever it does not read
// that way, so that the decoder built on it can hand the input to
// encoding/json, which stays the definition of the format.
//
// It exists beside encoding/json for speed alone: reflection was the largest
// part of decoding on both hot paths (docs/benchmarks.md). Every decoder
// built on it is held equal to encoding/json by its tests (FuzzScanMatchesJSON
// here; FuzzDecodeFast and FuzzDecodeFastMatchesJSON on the decoders).
//
// Its functions are generic over string and []byte so that each decoder
// scans its own input in place, without copying it to the other type.
package jsonscan

import "unicode/utf8"

// Text is the input a Scanner reads.
type Text interface{ string | []byte }

// Scanner reads JSON from b, at byte offset i. A method that reports false
// may have moved i; the caller then gives up on the input.
type Scanner[T Text] struct {
	b T
	i int
}

// New scans b from its start.
func New[T Text](b T) Scanner[T] { return Scanner[T]{b: b} }

// Space skips JSON whitespace.
func (s *Scanner[T]) Space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// Consume skips whitespace and then c, if c is next.
func (s *Scanner[T]) Consume(c byte) bool {
	s.Space()
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// Peek is the next byte, not consumed (false at the end).
func (s *Scanner[T]) Peek() (byte, bool) {
	if s.i < len(s.b) {
		return s.b[s.i], true
	}
	return 0, false
}

// End reports whether only whitespace follows.
func (s *Scanner[T]) End() bool {
	s.Space()
	return s.i == len(s.b)
}

// Raw reads the string that starts at the scanner (no whitespace first) and
// returns its contents as written, a slice of the input: escaped reports
// that it holds escapes, for Unescape to resolve. It refuses control
// characters and invalid UTF-8, which encoding/json refuses or replaces.
func (s *Scanner[T]) Raw() (raw T, escaped, ok bool) {
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return raw, false, false
	}
	start := s.i + 1
	ascii := true
	for i := start; i < len(s.b); i++ {
		c := s.b[i]
		switch {
		case c == '"':
			str := s.b[start:i]
			if !ascii && !validUTF8(str) {
				return raw, false, false
			}
			s.i = i + 1
			return str, escaped, true
		case c == '\\':
			escaped = true
			i++ // the escaped byte cannot end the string
		case c < 0x20:
			return raw, false, false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return raw, false, false
}

// validUTF8 is utf8.Valid or utf8.ValidString, whichever s is, without
// converting it.
func validUTF8[T Text](s T) bool {
	switch s := any(s).(type) {
	case string:
		return utf8.ValidString(s)
	case []byte:
		return utf8.Valid(s)
	}
	panic("jsonscan: Text is string or []byte")
}

// Unescape appends to dst the string whose contents Raw returned, its
// escapes resolved. It refuses an unknown or short escape and UTF-16
// surrogates (\ud800-\udfff): pairs and strays are encoding/json's to
// resolve.
func Unescape[T Text](dst []byte, raw T) ([]byte, bool) {
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c != '\\' {
			dst = append(dst, c)
			continue
		}
		i++
		if i >= len(raw) {
			return dst, false
		}
		switch raw[i] {
		case '"', '\\', '/':
			dst = append(dst, raw[i])
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			if i+4 >= len(raw) {
				return dst, false
			}
			var r rune
			for j := i + 1; j < i+5; j++ {
				h := raw[j]
				switch {
				case '0' <= h && h <= '9':
					h -= '0'
				case 'a' <= h && h <= 'f':
					h -= 'a' - 10
				case 'A' <= h && h <= 'F':
					h -= 'A' - 10
				default:
					return dst, false
				}
				r = r<<4 | rune(h)
			}
			if 0xD800 <= r && r < 0xE000 {
				return dst, false
			}
			dst = utf8.AppendRune(dst, r)
			i += 4
		default:
			return dst, false
		}
	}
	return dst, true
}

// Literal consumes word (true, false, null), if it is next.
func (s *Scanner[T]) Literal(word string) bool {
	if len(s.b)-s.i < len(word) {
		return false
	}
	for j := 0; j < len(word); j++ {
		if s.b[s.i+j] != word[j] {
			return false
		}
	}
	s.i += len(word)
	return true
}

// MaxIntDigits is the most digits Int64 reads: any 18-digit integer fits in
// an int64, so it cannot overflow.
const MaxIntDigits = 18

// Int64 reads an integer as JSON writes one (-?(0|[1-9][0-9]*)) of at most
// MaxIntDigits digits. Longer ones, fractions and exponents are
// encoding/json's, which refuses a fraction or an exponent for an integer
// field and judges overflow.
func (s *Scanner[T]) Int64() (int64, bool) {
	i, neg := s.i, false
	if i < len(s.b) && s.b[i] == '-' {
		neg = true
		i++
	}
	start := i
	var n int64
	for i < len(s.b) && '0' <= s.b[i] && s.b[i] <= '9' {
		n = n*10 + int64(s.b[i]-'0')
		i++
	}
	digits := i - start
	if digits == 0 || digits > MaxIntDigits || (digits > 1 && s.b[start] == '0') {
		return 0, false
	}
	if i < len(s.b) && (s.b[i] == '.' || s.b[i] == 'e' || s.b[i] == 'E') {
		return 0, false
	}
	if neg {
		n = -n
	}
	s.i = i
	return n, true
}

// Int is Int64 for an int, refusing what an int cannot hold (on 32-bit
// platforms).
func (s *Scanner[T]) Int() (int, bool) {
	at := s.i
	n, ok := s.Int64()
	if !ok || int64(int(n)) != n {
		s.i = at
		return 0, false
	}
	return int(n), true
}
