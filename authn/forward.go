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

// AuthorizeJoin checks the credential sent with a join request.
func (s *Service) AuthorizeJoin(credential string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	// The join callback does not get the caller's address: the username
	// bucket still bounds guessing through this endpoint.
	c, err := s.authenticate(ctx, credential, "/_tokenstore/internal/join", origin{via: "join request", internal: true})
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
	t, v, body, err := fsm.Decode(event)
	if err != nil {
		return err
	}
	// fsm's table of events names the action that allows each one; the
	// leader alone proposes the others (bootstrap, registration, purges).
	action := t.Action()
	if action == fsm.LeaderOnly || action == "" {
		return fmt.Errorf("event type %d cannot be forwarded", t)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	c, err := s.authenticate(ctx, credential, "/_tokenstore/internal/propose", s.forwarded())
	if err != nil {
		return forwardedRefusal("the client's credential does not authenticate on the leader", err)
	}
	if err := s.checkForwardedPasswordHash(t, body); err != nil {
		return err
	}
	switch t {
	case fsm.UserPasswordChanged:
		var p fsm.UserPasswordChangedV1
		if json.Unmarshal(body, &p) == nil && p.Username == c.Auth.Username && c.Auth.Type == "realm" {
			return nil
		}
	case fsm.APIKeyCreated, fsm.APIKeyUpdated, fsm.APIKeysInvalidated:
		return s.authorizeForwardedAPIKey(ctx, c, subject, t, v, event)
	case fsm.TokenIssued, fsm.TokenRefreshed, fsm.TokensInvalidated:
		return s.authorizeForwardedToken(ctx, c, subject, t, event)
	case fsm.ProfileActivated:
		return s.authorizeForwardedProfile(ctx, c, subject, body)
	}
	if err := s.Authorize(c, s.forwardedAction(c, action)); err != nil {
		return err
	}
	return checkForwardedContent(t, body)
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
	return origin{via: "forwarded write", exempt: s.cfg.PeersAuthenticated, internal: true}
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
// only one's own keys (or the calling key) are invalidated. The content must
// be what the public API would have written for that caller. Every version
// of an event is read (fsm.DecodeAs), the compact ones too.
func (s *Service) authorizeForwardedAPIKey(ctx context.Context, c Caller, subject string, t fsm.EventType, v uint8, event []byte) error {
	switch t {
	case fsm.APIKeyCreated:
		var p fsm.APIKeyCreatedV1 // versions 2 and 3 carry the same fields
		if err := fsm.DecodeAs(event, &p); err != nil {
			return err
		}
		// Version 3 (compact) is written once every member applies it,
		// and keeps what any key holds.
		needsV2 := p.Key.Type == keyTypeCrossCluster || fsm.HasRemoteCluster(p.Key.RoleDescriptors, p.Key.LimitedBy)
		if v <= 2 && (v == 2) != needsV2 {
			return errors.New("a cross-cluster key, or one with remote_cluster privileges, is written as version 2 of its event, and only it")
		}
		if p.Key.Type == keyTypeCrossCluster {
			return s.checkForwardedCrossClusterKey(c, subject, p.Key)
		}
		who, err := s.forwardedKeyOwner(ctx, c, subject, p.Key)
		if err != nil {
			return err
		}
		if err := s.checkNewKey(p.Key, who); err != nil {
			return err
		}
		return s.checkSnapshot(p.Key.LimitedBy, who)
	case fsm.APIKeyUpdated:
		p, err := decodeKeyUpdate(v, event)
		if err != nil {
			return err
		}
		me := c.Auth.owner()
		if c.Auth.key != nil || p.Owner != me.principal || p.OwnerRealm != me.realm || !s.mayUpdateOwnKeys(c) {
			return forbidden(c.Auth, actionAPIKeyUpdate)
		}
		if s.namesCrossClusterKey(p.IDs) {
			return s.checkForwardedCrossClusterUpdate(c, p)
		}
		if err := s.checkKeyUpdate(p); err != nil {
			return err
		}
		return s.checkSnapshot(p.LimitedBy, c.Auth)
	default:
		var p fsm.APIKeysInvalidatedV1
		if err := fsm.DecodeAs(event, &p); err != nil {
			return err
		}
		if !s.timely(p.Time, maxKeyClockSkew) {
			return errors.New("the invalidation time is too far from the leader's clock")
		}
		all, err := s.keyScope(c, actionAPIKeyInvalidate)
		if err != nil {
			return err
		}
		if s.namesCrossClusterKey(p.IDs) && !s.mayManageCrossClusterKeys(c) {
			return forbidden(c.Auth, actionCrossClusterUpdate)
		}
		if all {
			return nil
		}
		for _, id := range p.IDs {
			k, ok := s.st.APIKey(id)
			if ok && !c.Auth.ownsKey(k) {
				return forbidden(c.Auth, actionAPIKeyInvalidate)
			}
		}
		return nil
	}
}

// bulkActionOf names, for an event's action, the action of the bulk API
// that writes the same event. The event cannot tell which the client sent,
// so the leader lets a caller either action allows write it (the named
// privileges grant both alike; a role may name one action alone).
var bulkActionOf = map[string]string{
	actionAPIKeyUpdate: actionAPIKeyBulkUpdate,
	actionRoleDelete:   actionRoleBulkDelete,
}

// forwardedAction is the action the leader checks a forwarded event of
// action as: the bulk API's when only that one is allowed.
func (s *Service) forwardedAction(c Caller, action string) string {
	if bulk, ok := bulkActionOf[action]; ok {
		if p := s.Permission(c); !p.AllowsCluster(action) && p.AllowsCluster(bulk) {
			return bulk
		}
	}
	return action
}

// mayUpdateOwnKeys is the leader's check of a forwarded update (update or
// bulk update: see bulkActionOf).
func (s *Service) mayUpdateOwnKeys(c Caller) bool {
	return s.canManageOwnKeys(c, s.forwardedAction(c, actionAPIKeyUpdate))
}

// forwardedKeyOwner authorizes a forwarded key creation and returns who
// the key is for: the caller, or the user whose credential came along (or
// whom that user runs as) for a grant.
func (s *Service) forwardedKeyOwner(ctx context.Context, c Caller, subject string, k fsm.APIKey) (*Authentication, error) {
	me := c.Auth.owner()
	if subject == "" && k.Creator.Principal == me.principal && k.Creator.Realm == me.realm {
		if !s.canManageOwnKeys(c, actionAPIKeyCreate) {
			return nil, forbidden(c.Auth, actionAPIKeyCreate)
		}
		if c.Auth.key != nil && (len(k.RoleDescriptors) == 0 || slices.ContainsFunc(slices.Collect(mapValues(k.RoleDescriptors)), hasPrivileges)) {
			return nil, errors.New("a derived key must have explicitly empty role descriptors")
		}
		return c.Auth, nil
	}
	if err := s.Authorize(c, actionAPIKeyGrant); err != nil {
		return nil, err
	}
	who, err := s.authenticateSubject(ctx, subject)
	if err != nil {
		return nil, err
	}
	if who.owner() != (owner{k.Creator.Principal, k.Creator.Realm}) {
		rec, ok := lookupUser(s.st, k.Creator.Principal)
		if !ok || !rec.enabled || !s.canRunAs(who, k.Creator.Principal) {
			return nil, errors.New("the granted key's owner is not the user whose credential was given")
		}
		who = rec.authentication()
	}
	return who, nil
}

// decodeKeyUpdate reads any version of an update as the current one.
func decodeKeyUpdate(v uint8, event []byte) (fsm.APIKeyUpdatedV2, error) {
	var p fsm.APIKeyUpdatedV2
	if v == 1 {
		var old fsm.APIKeyUpdatedV1
		if err := fsm.DecodeAs(event, &old); err != nil {
			return p, err
		}
		return old.AsV2(), nil
	}
	err := fsm.DecodeAs(event, &p) // version 3 has version 2's fields
	return p, err
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
func (s *Service) authorizeForwardedToken(ctx context.Context, c Caller, subject string, t fsm.EventType, event []byte) error {
	switch t {
	case fsm.TokenIssued:
		var p fsm.TokenIssuedV1
		if err := fsm.DecodeAs(event, &p); err != nil {
			return err
		}
		if err := s.Authorize(c, actionTokenCreate); err != nil {
			return err
		}
		return s.checkIssuedToken(ctx, c, subject, p.Pair)
	case fsm.TokenRefreshed:
		var p fsm.TokenRefreshedV1
		if err := fsm.DecodeAs(event, &p); err != nil {
			return err
		}
		if err := s.Authorize(c, actionTokenRefresh); err != nil {
			return err
		}
		raw, ok := decodeToken(strings.TrimPrefix(subject, refreshScheme))
		pair, found := s.st.Token(p.DocID)
		if !ok || !found || tokenDocID(raw) != p.DocID || !hashMatches(raw, pair.RefreshHash) || pair.Client != tokenClient(c.Auth) {
			return errors.New("a refresh needs the refresh token, from the client that created it")
		}
		// The new pair must be the one derived from this refresh token and
		// salt, for the same subject: nothing in it is the caller's choice.
		if want := refreshedPair(pair, raw, p.Salt, p.Time, p.NewPair.AccessExpiry); p.NewPair != want ||
			!s.timely(p.Time, maxTokenClockSkew) || !wellFormed(p.Salt, 22) ||
			want.AccessExpiry <= want.Creation || want.AccessExpiry-want.Creation > s.cfg.TokenTimeout.Milliseconds() {
			return errors.New("the refreshed pair is not the one its refresh token yields")
		}
		return nil
	default:
		var p fsm.TokensInvalidatedV1
		if err := fsm.DecodeAs(event, &p); err != nil {
			return err
		}
		if s.Permission(c).AllowsCluster(actionTokenInvalidate) {
			return nil
		}
		for _, inv := range p.Tokens {
			if !wellFormedDocID(inv.DocID) {
				return errors.New("a token document id is malformed")
			}
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

// How far a forwarded event's times may be from the leader's clock: the
// forwarding node stamps them with its own clock a moment before. A token's
// times decide how long it grants access, so they are held close; a key's
// expiry is the caller's choice anyway (any duration), its times only order
// and purge records, so a node whose clock drifts by minutes still writes.
const (
	maxTokenClockSkew = 60_000      // ms
	maxKeyClockSkew   = 10 * 60_000 // ms
)

func (s *Service) timely(t, skew int64) bool {
	now := s.now().UnixMilli()
	return t >= now-skew && t <= now+skew
}

// wellFormed reports whether v is n characters of unpadded base64url, the
// shape of the ids, salts and digests this service generates.
func wellFormed(v string, n int) bool {
	if len(v) != n {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(v)
	return err == nil
}

// wellFormedDocID is tokenDocID's shape: "token_" and a SHA-256 in base64url.
func wellFormedDocID(id string) bool {
	rest, ok := strings.CutPrefix(id, "token_")
	return ok && wellFormed(rest, 43)
}

// checkNewKey requires a forwarded key to be what create or grant would have
// written for its owner now: a generated id and hash, the public API's
// validation of name, metadata and descriptors, and the owner's creator.
func (s *Service) checkNewKey(k fsm.APIKey, who *Authentication) error {
	hash := k.StoredHash() // a compact event's key holds it decoded
	salt, _ := parseSSHA256(hash)
	switch {
	case !wellFormed(k.ID, 20) || len(salt) != 8 || len(hash) != len("{SSHA256}")+12+44:
		return errors.New("the key's id or hash is not one this service generates")
	case (k.Type != keyTypeREST && k.Type != keyTypeCrossCluster) || k.Invalidated || k.Invalidation != 0:
		return errors.New("the key's type or state is not that of a new key")
	case !s.timely(k.Creation, maxKeyClockSkew) || (k.Expiration != 0 && k.Expiration <= k.Creation):
		return errors.New("the key's times are not those of a new key")
	}
	name := k.Name
	if err := validateAPIKeyRequest(CreateAPIKeyRequest{Name: &name, Metadata: k.Metadata, RoleDescriptors: k.RoleDescriptors, keyType: k.Type}); err != nil {
		return err
	}
	got, _ := json.Marshal(k.Creator)
	want, _ := json.Marshal(creatorOf(who))
	if string(got) != string(want) {
		return errors.New("the key's creator is not the user it is created for")
	}
	return nil
}

// checkKeyUpdate applies the public API's checks to a forwarded update.
func (s *Service) checkKeyUpdate(p fsm.APIKeyUpdatedV2) error {
	if len(p.IDs) == 0 || len(p.IDs) > maxBulkUpdateIDs || len(dedupe(p.IDs)) != len(p.IDs) {
		return errors.New("an update names between one and the maximum of distinct ids")
	}
	if p.Expiration != nil && *p.Expiration <= s.now().UnixMilli()-maxKeyClockSkew {
		return errors.New("the update's expiration is not one the API could set now")
	}
	return validateUpdate(p.RoleDescriptors, p.Metadata)
}

// checkIssuedToken requires a forwarded token to be what get token would
// have issued now: for the caller itself (client_credentials) or the user
// whose password came along, to the asking client, with fresh times.
func (s *Service) checkIssuedToken(ctx context.Context, c Caller, subject string, p fsm.TokenPair) error {
	switch {
	case p.Client != tokenClient(c.Auth):
		return errors.New("tokens must be issued to the client that asks for them")
	case !wellFormedDocID(p.DocID) || !wellFormed(p.AccessHash, 43) || (p.RefreshHash != "" && !wellFormed(p.RefreshHash, 43)):
		return errors.New("the token's document id or digests are not ones this service generates")
	case p.GrantTime != p.Creation || !s.timely(p.Creation, maxTokenClockSkew) || p.AccessExpiry <= p.Creation ||
		p.AccessExpiry-p.Creation > s.cfg.TokenTimeout.Milliseconds() || p.Superseding != "" || p.RefreshTime != 0 ||
		p.RefreshSalt != "" || p.AccessInvalidated || p.RefreshInvalidated:
		return errors.New("the token's times or state are not those of a new token")
	}
	who := c.Auth
	if p.RefreshHash != "" {
		// Only the password grant issues a refresh token.
		var err error
		if who, err = s.authenticateSubject(ctx, subject); err != nil {
			return err
		}
		if who.Type != "realm" {
			return errors.New("the token's user is not the user whose password was given")
		}
	}
	want := fsm.TokenPair{Username: who.Username, Realm: who.Realm.Name, RealmType: who.Realm.Type}
	if who.key != nil {
		want.APIKeyID = who.key.ID
	}
	if who.Realm == ServiceAccountRealm || p.Username != want.Username || p.Realm != want.Realm ||
		p.RealmType != want.RealmType || p.APIKeyID != want.APIKeyID {
		return errors.New("the token does not stand for the user it was asked for")
	}
	return nil
}

// checkForwardedContent applies the public API's validation to the other
// forwarded events, which need no subject: names and descriptors.
func checkForwardedContent(t fsm.EventType, body []byte) error {
	switch t {
	case fsm.RolePut:
		var p fsm.RolePutV1
		if err := json.Unmarshal(body, &p); err != nil {
			return err
		}
		if err := validName("Role", p.Name); err != nil {
			return err
		}
		if IsReservedRole(p.Name) {
			return errors.New("a reserved role cannot be written")
		}
		return ValidateRoleDescriptor(p.Descriptor)
	case fsm.RoleDeleted:
		var p struct { // version 1 names one role, version 2 several
			Name  string   `json:"name"`
			Names []string `json:"names"`
		}
		if err := json.Unmarshal(body, &p); err != nil {
			return err
		}
		if IsReservedRole(p.Name) || slices.ContainsFunc(p.Names, IsReservedRole) {
			return errors.New("a reserved role cannot be deleted")
		}
		if len(p.Names) > maxBulkRoleNames {
			return fmt.Errorf("a bulk role delete names at most %d roles", maxBulkRoleNames)
		}
	case fsm.UserPut:
		var p fsm.UserPutV1
		if err := json.Unmarshal(body, &p); err != nil {
			return err
		}
		if err := validName("User", p.User.Username); err != nil {
			return err
		}
		if IsReservedUser(p.User.Username) || p.User.Roles == nil {
			return errors.New("a reserved user cannot be written, and a user needs a list of roles")
		}
		return checkMetadataKeys(p.User.Metadata)
	}
	return nil
}
