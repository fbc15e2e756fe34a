package authn

import (
	"context"
	"crypto/rand"
	"fmt"
	"sync"
)

// verifyUser checks a user's password: from the cache when the same
// password was verified for the same version of the user, otherwise with
// the KDF in the crypto pool. Every answer that is not a cache hit costs one
// verification at the configured algorithm's cost, whether the user exists
// or not, so that its time does not tell which names exist.
func (s *Service) verifyUser(ctx context.Context, name string, password []byte) (*Authentication, error) {
	rec, ok := lookupUser(s.st, name)
	if !ok || !rec.enabled {
		return nil, s.refuseAtCost(ctx, password)
	}
	if a := s.users.get(name, rec.modIndex, password, s.now); a != nil {
		return a, nil
	}
	if !s.costLimit.allows(rec.passwordHash) {
		// Restored from a backup or left by a laxer configuration: never
		// verified, or one login could hold a core for hours.
		s.overCost.warn(s, rec)
		return nil, s.refuseAtCost(ctx, password)
	}
	right, err := s.verifyHash(ctx, password, rec.passwordHash)
	if err != nil {
		return nil, err
	}
	if !right {
		return nil, errBadPassword
	}
	auth := rec.authentication()
	s.users.put(name, rec.modIndex, password, auth, s.now)
	return auth, nil
}

// refuseAtCost is a refusal that costs what checking a wrong password does:
// one verification against a hash of the configured algorithm.
func (s *Service) refuseAtCost(ctx context.Context, password []byte) error {
	if _, err := s.verifyHash(ctx, password, s.dummyHash); err != nil {
		return err
	}
	return errBadPassword
}

// dummyHash hashes a random password nobody knows with the configured
// algorithm.
func dummyHash(h Hasher) (string, error) {
	b := make([]byte, 32)
	rand.Read(b)
	return h.Hash(b)
}

// overCostLog says once per version of a user that its stored hash costs
// more than the limit, so that a flood of logins does not flood the log.
type overCostLog struct {
	mu     sync.Mutex
	warned map[string]uint64 // user -> modIndex warned about
}

func (o *overCostLog) warn(s *Service, rec userRecord) {
	o.mu.Lock()
	if o.warned == nil || len(o.warned) >= 10_000 {
		o.warned = map[string]uint64{}
	}
	seen, ok := o.warned[rec.name]
	o.warned[rec.name] = rec.modIndex
	o.mu.Unlock()
	if ok && seen == rec.modIndex {
		return
	}
	family, _, ok := hashCost(rec.passwordHash)
	allowed := s.costLimit.describe(family)
	if !ok {
		family, allowed = "unrecognised", "bcrypt or PBKDF2"
	}
	s.log.Warn("a stored password hash costs more to verify than allowed: it is not verified and the user cannot log in until the password is changed or the limit raised (tokenstore.authc.password_hashing.max_bcrypt_cost / max_pbkdf2_iterations)",
		"user", Clip(rec.name, 256), "algorithm", family, "allowed", allowed)
}

// verifyPassword is the chain's check of a Basic credential against the
// realms.
func (s *Service) verifyPassword(ctx context.Context, cred Credential, path string) (*Authentication, bool, error) {
	if cred.Malformed {
		return nil, false, unauthenticated(anonymousDenied, "")
	}
	auth, err := s.authenticateUser(ctx, cred.Principal, cred.Secret)
	if hashRefusal(err) {
		return nil, false, err
	}
	if err != nil {
		return nil, false, unauthenticated(fmt.Sprintf("unable to authenticate user [%s] for REST request [%s]", cred.Principal, path), "")
	}
	return auth, false, nil
}
