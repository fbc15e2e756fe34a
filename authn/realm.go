package authn

import (
	"encoding/json"
	"sync/atomic"

	"github.com/tokenstore/tokenstore/fsm"
)

// Realm names an authentication realm as _authenticate reports it.
type Realm struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// The realms of this service.
var (
	NativeRealm   = Realm{Name: "default_native", Type: "native"}
	ReservedRealm = Realm{Name: "reserved", Type: "reserved"}
	APIKeyRealm   = Realm{Name: "_es_api_key", Type: "_es_api_key"}
)

// Authentication is who a request is, as _authenticate reports it. Values
// are shared between requests through the cache and must not be changed.
type Authentication struct {
	Username string
	Roles    []string
	FullName *string
	Email    *string
	Metadata json.RawMessage
	Enabled  bool
	Realm    Realm
	// Type is "realm", "token", "api_key" or "internal".
	Type string
	// APIKey is set when the request authenticated with an API key.
	APIKey *APIKeyRef
	// Token names the service account token a request authenticated with.
	Token *TokenRef
	// key is the stored key behind APIKey, for its permissions and owner.
	key *fsm.APIKey
	// used is where this node notes the key's uses (last_used.go); nil
	// for every other authentication.
	used *useSlot
	// RunBy is who authenticated when this is a run-as user (the
	// es-security-runas-user header): Realm is then the lookup realm and
	// RunBy's realm the authentication realm.
	RunBy *Authentication
	// madeUnderRunAs marks an access token issued to a run-as user (a
	// client_credentials grant under es-security-runas-user): as in
	// Elasticsearch, whose token keeps the run-as authentication, it may
	// not run as anyone in turn (chained run-as).
	madeUnderRunAs bool
	// answer is what Answer rendered: a cached credential's Authentication
	// is the same value on every request, and so is its answer.
	answer atomic.Pointer[[]byte]
}

// Answer is render(a), rendered the first time it is asked for and kept
// with a (httpapi renders _authenticate's body once per cached
// authentication). render must depend on a alone; a is never changed once
// built, so neither is its answer.
func (a *Authentication) Answer(render func(*Authentication) []byte) []byte {
	if b := a.answer.Load(); b != nil {
		return *b
	}
	b := render(a)
	a.answer.Store(&b)
	return b
}

// APIKeyRef names the API key a request authenticated with.
type APIKeyRef struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
}

// TokenRef names a service account token and where it is stored.
type TokenRef struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// owner is the identity that owns API keys created by this caller: the user
// itself, or for an API key the user who owns the key.
type owner struct{ principal, realm string }

// OwnerRealm is the realm of the user behind the credential: for an API
// key its owner's (the audit log's user.realm), else the realm itself.
func (a *Authentication) OwnerRealm() string { return a.owner().realm }

func (a *Authentication) owner() owner {
	if a.key != nil {
		return owner{a.key.Creator.Principal, a.key.Creator.Realm}
	}
	return owner{a.Username, a.Realm.Name}
}

func (o owner) owns(k *fsm.APIKey) bool {
	return k.Creator.Principal == o.principal && k.Creator.Realm == o.realm
}

// ownsKey is manage_own_api_key's scope: a user's keys are the ones it
// created, while an API key owns no key but itself (as in Elasticsearch:
// "API key cannot own any other API key"), whoever created it.
func (a *Authentication) ownsKey(k *fsm.APIKey) bool {
	if a.key != nil {
		return k.ID == a.key.ID
	}
	return a.owner().owns(k)
}

// namesOwnKeys is manage_own_api_key's rule for a get or invalidate
// request: a user must ask for its own keys (owner, or its own username and
// realm); an API key may name only itself, by id.
func (a *Authentication) namesOwnKeys(ids []string, ownerFlag bool, username, realm string) bool {
	if a.key != nil {
		return len(ids) == 1 && ids[0] == a.key.ID
	}
	me := a.owner()
	return ownerFlag || (username == me.principal && realm == me.realm)
}

// reservedUsers are Elasticsearch's built-in users and their roles. They
// authenticate once a password is set (elastic's at bootstrap).
var reservedUsers = map[string][]string{
	"elastic":                {"superuser"},
	"kibana_system":          {"kibana_system"},
	"kibana":                 {"kibana_system"},
	"logstash_system":        {"logstash_system"},
	"beats_system":           {"beats_system"},
	"apm_system":             {"apm_system"},
	"remote_monitoring_user": {"remote_monitoring_collector", "remote_monitoring_agent"},
}

// IsReservedUser reports whether a username belongs to a built-in user.
func IsReservedUser(name string) bool {
	_, ok := reservedUsers[name]
	return ok
}

var reservedMetadata = json.RawMessage(`{"_reserved":true}`)

// userRecord is what the realm needs of a user, native or reserved. The
// Authentication is built only when a verification is not cached.
type userRecord struct {
	name         string
	native       *fsm.User
	passwordHash string
	modIndex     uint64
	enabled      bool
}

// lookupUser finds a user in the reserved realm, then the native realm.
func lookupUser(st *fsm.State, name string) (userRecord, bool) {
	if _, ok := reservedUsers[name]; ok {
		r, ok := st.Reserved(name)
		if !ok || r.PasswordHash == "" {
			return userRecord{}, false
		}
		return userRecord{name: name, passwordHash: r.PasswordHash, modIndex: r.ModIndex, enabled: !r.Disabled}, true
	}
	u, ok := st.User(name)
	if !ok {
		return userRecord{}, false
	}
	return userRecord{name: name, native: u, passwordHash: u.PasswordHash, modIndex: u.ModIndex, enabled: u.Enabled}, true
}

// authentication builds the user's Authentication.
func (rec userRecord) authentication() *Authentication {
	if rec.native != nil {
		return nativeAuthentication(rec.native)
	}
	return &Authentication{Username: rec.name, Roles: reservedUsers[rec.name], Metadata: reservedMetadata,
		Enabled: rec.enabled, Realm: ReservedRealm, Type: "realm"}
}

func nativeAuthentication(u *fsm.User) *Authentication {
	return &Authentication{Username: u.Username, Roles: u.Roles, FullName: u.FullName, Email: u.Email,
		Metadata: u.Metadata, Enabled: u.Enabled, Realm: NativeRealm, Type: "realm"}
}
