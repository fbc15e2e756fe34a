package authn

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tokenstore/tokenstore/fsm"
)

// eventActions maps each event a client may cause to the cluster action
// that authorizes it. Events missing here (bootstrap, node registration,
// purges) are only ever proposed by the leader itself and are refused when
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
	fsm.TokenIssued:             actionTokenCreate,
	fsm.TokenRefreshed:          actionTokenRefresh,
	fsm.TokensInvalidated:       actionTokenInvalidate,
}

// AuthorizeJoin checks the credential sent with a join request.
func (s *Service) AuthorizeJoin(credential string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	// The join callback does not get the caller's address: the username
	// bucket still bounds guessing through this endpoint.
	c, err := s.authenticate(ctx, credential, "/_tokenstore/internal/join", origin{via: "join request"})
	if err != nil {
		return err
	}
	return s.Authorize(c, ActionJoin)
}

// refreshScheme marks a subject credential that is a refresh token.
const refreshScheme = "Refresh "

// AuthorizeForwarded is the leader's check of a write another node
// forwarded: the client's own credential must be authorized for the event
// exactly as if the client had sent the write to the leader, and a write
// made for another subject must come with that subject's credential.
func (s *Service) AuthorizeForwarded(credential, subject string, event []byte) error {
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
	c, err := s.authenticate(ctx, credential, "/_tokenstore/internal/propose", s.forwarded())
	if err != nil {
		return forwardedRefusal("the client's credential does not authenticate on the leader", err)
	}
	switch t {
	case fsm.UserPasswordChanged:
		var p fsm.UserPasswordChangedV1
		if json.Unmarshal(body, &p) == nil && p.Username == c.Auth.Username && c.Auth.Type == "realm" {
			return nil
		}
	case fsm.APIKeyCreated, fsm.APIKeyUpdated, fsm.APIKeysInvalidated:
		return s.authorizeForwardedAPIKey(ctx, c, subject, t, body)
	case fsm.TokenIssued, fsm.TokenRefreshed, fsm.TokensInvalidated:
		return s.authorizeForwardedToken(ctx, c, subject, t, body)
	}
	return s.Authorize(c, action)
}

// authenticateSubject checks the credential presented for the subject of a
// write and returns who it is.
func (s *Service) authenticateSubject(ctx context.Context, subject string) (*Authentication, error) {
	if subject == "" {
		return nil, errors.New("a write for another user needs that user's credential")
	}
	c, err := s.authenticate(ctx, subject, "/_tokenstore/internal/propose", s.forwarded())
	if err != nil {
		return nil, forwardedRefusal("the subject's credential does not authenticate on the leader", err)
	}
	return c.Auth, nil
}

// forwarded is the origin of a forwarded write's credentials. The leader
// does not know the client's address and must not count the forwarding
// node's: with authenticated peers it trusts that node's throttling;
// without, only the username bucket applies (see Config.PeersAuthenticated).
func (s *Service) forwarded() origin {
	return origin{via: "forwarded write", exempt: s.cfg.PeersAuthenticated}
}

// forwardedRefusal keeps the leader's throttling visible to the follower's
// log without echoing what the credential was.
func forwardedRefusal(msg string, err error) error {
	var e *Error
	if errors.As(err, &e) && e.Kind == Throttled {
		return errors.New(msg + ": " + e.Reason)
	}
	return errors.New(msg)
}

// authorizeForwardedAPIKey applies the ownership rules of API keys: a key
// is created for the caller itself, or with grant_api_key for a user whose
// credential comes along; only the owner updates; without manage_api_key
// only one's own keys (or the calling key) are invalidated.
func (s *Service) authorizeForwardedAPIKey(ctx context.Context, c Caller, subject string, t fsm.EventType, body []byte) error {
	me := c.Auth.owner()
	switch t {
	case fsm.APIKeyCreated:
		var p fsm.APIKeyCreatedV1
		if err := json.Unmarshal(body, &p); err != nil {
			return err
		}
		if p.Key.Creator.Principal == me.principal && p.Key.Creator.Realm == me.realm {
			if !s.canManageOwnKeys(c, actionAPIKeyCreate) {
				return forbidden(c.Auth, actionAPIKeyCreate)
			}
			if c.Auth.key != nil && (len(p.Key.RoleDescriptors) == 0 || slices.ContainsFunc(slices.Collect(mapValues(p.Key.RoleDescriptors)), hasPrivileges)) {
				return errors.New("a derived key must have explicitly empty role descriptors")
			}
			return s.checkSnapshot(p.Key.LimitedBy, c.Auth)
		}
		if err := s.Authorize(c, actionAPIKeyGrant); err != nil {
			return err
		}
		who, err := s.authenticateSubject(ctx, subject)
		if err != nil {
			return err
		}
		if who.owner() != (owner{p.Key.Creator.Principal, p.Key.Creator.Realm}) {
			rec, ok := lookupUser(s.st, p.Key.Creator.Principal)
			if !ok || !s.canRunAs(who, p.Key.Creator.Principal) {
				return errors.New("the granted key's owner is not the user whose credential was given")
			}
			who = rec.authentication()
		}
		return s.checkSnapshot(p.Key.LimitedBy, who)
	case fsm.APIKeyUpdated:
		var p fsm.APIKeyUpdatedV1
		if err := json.Unmarshal(body, &p); err != nil {
			return err
		}
		if c.Auth.key != nil || p.Owner != me.principal || p.OwnerRealm != me.realm || !s.canManageOwnKeys(c, actionAPIKeyUpdate) {
			return forbidden(c.Auth, actionAPIKeyUpdate)
		}
		return s.checkSnapshot(p.LimitedBy, c.Auth)
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

// checkSnapshot requires a forwarded key's limited_by to be exactly the
// owner's roles as the leader sees them: a key can never carry more
// permissions than its owner has.
func (s *Service) checkSnapshot(got map[string]fsm.RoleDescriptor, owner *Authentication) error {
	a, _ := json.Marshal(got)
	b, _ := json.Marshal(s.limitedBy(owner))
	if string(a) != string(b) {
		return errors.New("the key's limited_by is not its owner's current roles")
	}
	return nil
}

// authorizeForwardedToken: tokens are issued for the caller or for a user
// whose password came along; a refresh needs the refresh token itself and
// the creating client; invalidation by value is open to the token's owner.
func (s *Service) authorizeForwardedToken(ctx context.Context, c Caller, subject string, t fsm.EventType, body []byte) error {
	switch t {
	case fsm.TokenIssued:
		var p fsm.TokenIssuedV1
		if err := json.Unmarshal(body, &p); err != nil {
			return err
		}
		if err := s.Authorize(c, actionTokenCreate); err != nil {
			return err
		}
		if p.Pair.Client != clientOf(c.Auth) {
			return errors.New("tokens must be issued to the client that asks for them")
		}
		if p.Pair.GrantTime != p.Pair.Creation || p.Pair.AccessExpiry-p.Pair.Creation > s.cfg.TokenTimeout.Milliseconds() ||
			p.Pair.Superseding != "" || p.Pair.RefreshTime != 0 || p.Pair.AccessInvalidated || p.Pair.RefreshInvalidated {
			return errors.New("the token's times or state are not those of a new token")
		}
		if p.Pair.APIKeyID != "" && (c.Auth.key == nil || c.Auth.key.ID != p.Pair.APIKeyID || p.Pair.RefreshHash != "") {
			return errors.New("a token may stand only for the calling API key")
		}
		self := p.Pair.Username == c.Auth.Username && p.Pair.Realm == c.Auth.Realm.Name
		if self && p.Pair.RefreshHash == "" {
			return nil
		}
		who, err := s.authenticateSubject(ctx, subject)
		if err != nil {
			return err
		}
		if who.Username != p.Pair.Username || who.Realm.Name != p.Pair.Realm || who.Type != "realm" {
			return errors.New("the token's user is not the user whose password was given")
		}
		return nil
	case fsm.TokenRefreshed:
		var p fsm.TokenRefreshedV1
		if err := json.Unmarshal(body, &p); err != nil {
			return err
		}
		if err := s.Authorize(c, actionTokenRefresh); err != nil {
			return err
		}
		raw, ok := decodeToken(strings.TrimPrefix(subject, refreshScheme))
		pair, found := s.st.Token(p.DocID)
		if !ok || !found || tokenDocID(raw) != p.DocID || !hashMatches(raw, pair.RefreshHash) || pair.Client != clientOf(c.Auth) {
			return errors.New("a refresh needs the refresh token, from the client that created it")
		}
		// The new pair must be the one derived from this refresh token and
		// salt, for the same subject: nothing in it is the caller's choice.
		if want := refreshedPair(pair, raw, p.Salt, p.Time, p.NewPair.AccessExpiry); p.NewPair != want ||
			want.AccessExpiry-want.Creation > s.cfg.TokenTimeout.Milliseconds() {
			return errors.New("the refreshed pair is not the one its refresh token yields")
		}
		return nil
	default:
		var p fsm.TokensInvalidatedV1
		if err := json.Unmarshal(body, &p); err != nil {
			return err
		}
		if s.Permission(c).AllowsCluster(actionTokenInvalidate) {
			return nil
		}
		for _, inv := range p.Tokens {
			pair, ok := s.st.Token(inv.DocID)
			if ok && (pair.Username != c.Auth.Username || pair.Realm != c.Auth.Realm.Name) {
				return forbidden(c.Auth, actionTokenInvalidate)
			}
		}
		return nil
	}
}

// basicCredential renders a username and password as a Basic header.
func basicCredential(user string, password Secret) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+string(password)))
}
