package account

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Argon2id parameters of new hashes (OWASP's minimum: 19 MiB, 2 passes,
// 1 lane).
const (
	argonMemoryKiB = 19456
	argonTime      = 2
	argonThreads   = 1
	argonSaltLen   = 16
	argonKeyLen    = 32
)

// HashPassword returns password's argon2id hash in the PHC string format,
// "$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>" (unpadded base64), as
// stored in dashboard_users and accepted by Options.AdminPasswordHash.
func HashPassword(password string) (string, error) {
	if password == "" {
		return "", errors.New("account: the password is empty")
	}
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("account: read random salt: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemoryKiB, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemoryKiB, argonTime, argonThreads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// CheckPassword reports whether password matches an argon2id hash made by
// HashPassword (or any tool writing the PHC format). The comparison takes
// constant time.
func CheckPassword(encoded, password string) (bool, error) {
	h, err := parseHash(encoded)
	if err != nil {
		return false, err
	}
	return h.matches(password), nil
}

type argonHash struct {
	memory  uint32
	time    uint32
	threads uint8
	salt    []byte
	key     []byte
}

func (h argonHash) matches(password string) bool {
	key := argon2.IDKey([]byte(password), h.salt, h.time, h.memory, h.threads, uint32(len(h.key)))
	return subtle.ConstantTimeCompare(key, h.key) == 1
}

// parseHash reads "$argon2id$v=19$m=M,t=T,p=P$salt$hash" and checks the
// parameters are sane (a hash is configuration, but a typo must not make
// every login allocate gigabytes).
func parseHash(encoded string) (argonHash, error) {
	bad := func(why string) (argonHash, error) {
		return argonHash{}, fmt.Errorf("account: password hash is not a valid argon2id hash (%s); make one with HashPassword", why)
	}
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return bad(`want "$argon2id$v=19$m=...,t=...,p=...$salt$hash"`)
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return bad("version must be v=19")
	}
	var h argonHash
	for _, kv := range strings.Split(parts[3], ",") {
		k, v, _ := strings.Cut(kv, "=")
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return bad("parameter " + kv)
		}
		switch k {
		case "m":
			h.memory = uint32(n)
		case "t":
			h.time = uint32(n)
		case "p":
			if n > 255 {
				return bad("p above 255")
			}
			h.threads = uint8(n)
		default:
			return bad("unknown parameter " + k)
		}
	}
	switch {
	case h.threads == 0 || h.time == 0 || h.memory == 0:
		return bad("m, t and p are all required and above 0")
	case h.memory < 8*uint32(h.threads) || h.memory > 1<<21:
		return bad("m must be between 8*p KiB and 2 GiB")
	case h.time > 64:
		return bad("t above 64")
	}
	var err error
	b64 := base64.RawStdEncoding
	if h.salt, err = b64.DecodeString(parts[4]); err != nil || len(h.salt) < 8 {
		return bad("salt")
	}
	if h.key, err = b64.DecodeString(parts[5]); err != nil || len(h.key) < 16 || len(h.key) > 128 {
		return bad("hash")
	}
	return h, nil
}

// MaxPasswordLen bounds what is hashed: argon2id takes any length, and a
// password is something a stranger can send.
const MaxPasswordLen = 1024

// MinPasswordLen is the shortest password a user may set.
const MinPasswordLen = 10

// checkNewPassword says why a password may not be set, or nil.
func checkNewPassword(pw string) error {
	switch {
	case len(pw) < MinPasswordLen:
		return fmt.Errorf("%w: a password needs at least %d characters", ErrInvalid, MinPasswordLen)
	case len(pw) > MaxPasswordLen:
		return fmt.Errorf("%w: a password may have at most %d bytes", ErrInvalid, MaxPasswordLen)
	}
	return nil
}

// dummyHash is checked for unknown users, so that they take as long as a
// wrong password (no user enumeration by timing).
var dummyHash = func() argonHash {
	h, err := parseHash("$argon2id$v=19$m=19456,t=2,p=1$dGVsbGVyLWR1bW15LXNhbHQ$ZHVtbXktaGFzaC1vZi10aGlydHktdHdvLWJ5dGVzIQ")
	if err != nil {
		panic(err)
	}
	return h
}()
