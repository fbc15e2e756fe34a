package authn

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"time"

	"github.com/tokenstore/tokenstore/fsm"
)

// GeneratePassword returns a random password for the elastic user, of the
// length and alphabet Elasticsearch's auto-configuration uses.
func GeneratePassword() Secret {
	b := make([]byte, 15)
	rand.Read(b)
	return Secret(base64.RawURLEncoding.EncodeToString(b))
}

// BootstrapElastic sets the elastic user's first password once this node
// leads, and reports whether this call set it. Later bootstraps of the same
// cluster change nothing: the event applies only while elastic has none.
func (s *Service) BootstrapElastic(ctx context.Context, password Secret) (bool, error) {
	if len(password) < minPasswordLength {
		return false, fmt.Errorf("ELASTIC_PASSWORD must be at least %d characters", minPasswordLength)
	}
	if r, ok := s.st.Reserved("elastic"); ok && r.PasswordHash != "" {
		return false, nil
	}
	hash, err := s.hasher.Hash(password.bytes())
	if err != nil {
		return false, err
	}
	id := make([]byte, 16)
	rand.Read(id)
	event := fsm.MustEncode(fsm.ElasticBootstrappedV1{PasswordHash: hash, ClusterID: base64.RawURLEncoding.EncodeToString(id)})
	for {
		if r, ok := s.st.Reserved("elastic"); ok && r.PasswordHash != "" {
			return false, nil
		}
		if s.p.IsLeader() {
			if _, res, err := s.p.ProposeAsLeader(event); err == nil {
				return res.Status == fsm.Created, nil
			}
		}
		select {
		case <-ctx.Done():
			return false, fmt.Errorf("bootstrap elastic password: %w", ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}
