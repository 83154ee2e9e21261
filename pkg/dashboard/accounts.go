package dashboard

import (
	"context"
	"crypto/subtle"
)

// accounts checks credentials. The one account from Options is the first
// implementation; stored accounts (with per-site access) replace it.
type accounts interface {
	// Authenticate reports whether user and password match an account. It
	// takes as long for an unknown user as for a wrong password.
	Authenticate(ctx context.Context, user, password string) (bool, error)
	// Active reports whether user still may sign in (a session of a
	// removed or renamed account ends).
	Active(ctx context.Context, user string) (bool, error)
}

// adminAccount is the single account configured in Options.
type adminAccount struct {
	user string
	hash argonHash
	// sem bounds concurrent hashing: each takes argonMemoryKiB of memory.
	sem chan struct{}
}

func newAdminAccount(user string, hash argonHash) *adminAccount {
	return &adminAccount{user: user, hash: hash, sem: make(chan struct{}, 4)}
}

func (a *adminAccount) Authenticate(ctx context.Context, user, password string) (bool, error) {
	select {
	case a.sem <- struct{}{}:
	case <-ctx.Done():
		return false, ctx.Err()
	}
	defer func() { <-a.sem }()
	// Always hash, so that an unknown user is not told apart by timing.
	pwOK := a.hash.matches(password)
	userOK := subtle.ConstantTimeCompare([]byte(user), []byte(a.user)) == 1
	return pwOK && userOK, nil
}

func (a *adminAccount) Active(_ context.Context, user string) (bool, error) {
	return user == a.user, nil
}
