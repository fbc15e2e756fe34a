package authn

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
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

// eventActions maps each event a client may cause to the cluster action
// that authorizes it. Events missing here (bootstrap, node registration)
// are only ever proposed by the leader itself and are refused when
// forwarded.
var eventActions = map[fsm.EventType]string{
	fsm.UserPut:                 actionUserPut,
	fsm.UserDeleted:             actionUserDelete,
	fsm.UserEnabledSet:          actionUserEnabled,
	fsm.UserPasswordChanged:     actionUserPassword,
	fsm.RolePut:                 actionRolePut,
	fsm.RoleDeleted:             actionRoleDelete,
	fsm.ApplicationPrivilegePut: actionPrivilegePut,
	fsm.ApplicationPrivilegeDel: actionPrivilegeDelete,
	fsm.APIKeyCreated:           actionAPIKeyCreate,
	fsm.APIKeyUpdated:           actionAPIKeyUpdate,
	fsm.APIKeysInvalidated:      actionAPIKeyInvalidate,
	fsm.ServiceTokenCreated:     actionServiceTokenCreate,
	fsm.ServiceTokenDeleted:     actionServiceTokenDelete,
}

// AuthorizeForwarded is the leader's check of a write another node
// forwarded: the client's own credential must be authorized for the event,
// exactly as if the client had sent the write to the leader.
func (s *Service) AuthorizeForwarded(credential string, event []byte) error {
	t, _, body, err := fsm.Decode(event)
	if err != nil {
		return err
	}
	action, ok := eventActions[t]
	if !ok {
		return fmt.Errorf("event type %d cannot be forwarded", t)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	c, err := s.Authenticate(ctx, credential, "/_tokenstore/internal/propose")
	if err != nil {
		return errors.New("the client's credential does not authenticate on the leader")
	}
	switch t {
	case fsm.UserPasswordChanged:
		var p fsm.UserPasswordChangedV1
		if json.Unmarshal(body, &p) == nil && p.Username == c.Auth.Username && c.Auth.Type == "realm" {
			return nil
		}
	case fsm.APIKeyCreated, fsm.APIKeyUpdated, fsm.APIKeysInvalidated:
		return s.authorizeForwardedAPIKey(c, t, body)
	}
	return s.Authorize(c, action)
}

// authorizeForwardedAPIKey applies the ownership rules of API keys to a
// forwarded event: a key is created for the caller itself (or, with
// grant_api_key, for another user); only the owner updates; without
// manage_api_key only one's own keys (or the calling key) are invalidated.
func (s *Service) authorizeForwardedAPIKey(c Caller, t fsm.EventType, body []byte) error {
	me := c.Auth.owner()
	switch t {
	case fsm.APIKeyCreated:
		var p fsm.APIKeyCreatedV1
		if err := json.Unmarshal(body, &p); err != nil {
			return err
		}
		if p.Key.Creator.Principal == me.principal && p.Key.Creator.Realm == me.realm {
			if s.canManageOwnKeys(c, actionAPIKeyCreate) {
				return nil
			}
			return forbidden(c.Auth, actionAPIKeyCreate)
		}
		return s.Authorize(c, actionAPIKeyGrant)
	case fsm.APIKeyUpdated:
		var p fsm.APIKeyUpdatedV1
		if err := json.Unmarshal(body, &p); err != nil {
			return err
		}
		if c.Auth.key != nil || p.Owner != me.principal || p.OwnerRealm != me.realm || !s.canManageOwnKeys(c, actionAPIKeyUpdate) {
			return forbidden(c.Auth, actionAPIKeyUpdate)
		}
		return nil
	default:
		var p fsm.APIKeysInvalidatedV1
		if err := json.Unmarshal(body, &p); err != nil {
			return err
		}
		all, err := s.keyScope(c, actionAPIKeyInvalidate)
		if err != nil || all {
			return err
		}
		for _, id := range p.IDs {
			k, ok := s.st.APIKey(id)
			if ok && !me.owns(k) && !(c.Auth.key != nil && c.Auth.key.ID == id) {
				return forbidden(c.Auth, actionAPIKeyInvalidate)
			}
		}
		return nil
	}
}
