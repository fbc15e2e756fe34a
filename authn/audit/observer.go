package audit

import (
	"net/http"
	"strings"
	"time"

	"github.com/tokenstore/tokenstore/authn"
	"github.com/tokenstore/tokenstore/fsm"
)

// Authenticated records authentication_success (when included),
// authentication_failed and anonymous_access_denied. A check made for
// another node is left to that node, which saw the client's request.
func (l *Log) Authenticated(o authn.AuthOutcome) {
	if o.Internal || o.Result == authn.AuthThrottled {
		// A throttled attempt was refused before anything was checked, and
		// costs its sender nothing: recording each would let a flood fill
		// the disk. The attempts that emptied the bucket are recorded.
		return
	}
	if o.Result == authn.AuthSuccess {
		// The hot path: nothing is built unless the event is wanted.
		if l.events.Has(AuthenticationSuccess) && o.Auth != nil {
			l.authenticationSuccess(o)
		}
		return
	}
	if o.Scheme == "none" || o.Scheme == "unknown" {
		// No credential this service reads: Elasticsearch's anonymous
		// access, which is disabled here.
		if l.events.Has(AnonymousAccessDenied) && !l.filters.ignores(subject{}) {
			r := l.restRecord("anonymous_access_denied", o.Request)
			l.enqueue(r)
		}
		return
	}
	if !l.events.Has(AuthenticationFailed) {
		return
	}
	user, token := failedPrincipal(o)
	if l.filters.ignores(subject{user: user, action: bodyAction(o)}) {
		return
	}
	r := l.outcomeRecord("authentication_failed", o)
	r.UserName, r.TokenName = user, token
	l.enqueue(r)
}

func (l *Log) authenticationSuccess(o authn.AuthOutcome) {
	a := o.Auth
	if l.filters.ignores(subject{user: a.Username, realm: realmOf(a), action: bodyAction(o)}) {
		return
	}
	r := l.outcomeRecord("authentication_success", o)
	if r.EventType == typeREST {
		r.Realm = a.Realm.Name
	}
	setAuthentication(&r, a)
	l.enqueue(r)
}

// outcomeRecord is an authentication event: of the REST layer for a
// credential in a request's header (forward-auth's included, whose request
// the proxy made), of the action for one in a request body.
func (l *Log) outcomeRecord(event string, o authn.AuthOutcome) Record {
	if action := bodyAction(o); action != "" && o.Request == nil {
		return l.transportRecord(event, action, nil)
	}
	return l.restRecord(event, o.Request)
}

// failedPrincipal is user.name of a failed attempt as Elasticsearch's
// tokens name it: the user, the API key id, the service account (with the
// token's name apart) or _bearer_token; "" for a malformed credential.
func failedPrincipal(o authn.AuthOutcome) (user, token string) {
	switch {
	case o.Scheme == "service_token":
		if i := strings.LastIndexByte(o.Principal, '/'); i > 0 {
			return o.Principal[:i], o.Principal[i+1:]
		}
	case o.Scheme == "bearer" && o.Principal == "":
		return "_bearer_token", ""
	}
	return o.Principal, ""
}

// bodyAction is the action of a credential that came in a request body;
// "" for one in the Authorization header.
func bodyAction(o authn.AuthOutcome) string {
	switch o.Scheme {
	case "password_grant":
		return "cluster:admin/xpack/security/token/create"
	case "grant_api_key":
		return "cluster:admin/xpack/security/api_key/grant"
	}
	return ""
}

// Authorized records access_granted and access_denied for every cluster
// action checked for a client; a grant on the endpoints only nodes call is
// system_access_granted.
func (l *Log) Authorized(c authn.Caller, action string, granted bool) {
	if c.Internal() || c.Auth == nil {
		return
	}
	level, name := AccessDenied, "access_denied"
	if granted {
		level, name = AccessGranted, "access_granted"
		if l.cfg.InternalPrefix != "" && c.Request != nil && strings.HasPrefix(c.Request.URL.Path, l.cfg.InternalPrefix) {
			level, name = SystemAccessGranted, "system_access_granted"
		}
	}
	if !l.events.Has(level) {
		return
	}
	a := c.Auth
	roles := a.Roles
	if roles == nil {
		roles = []string{}
	}
	if l.filters.ignores(subject{user: a.Username, realm: realmOf(a), action: action, roles: roles}) {
		return
	}
	r := l.transportRecord(name, action, c.Request)
	setAuthentication(&r, a)
	r.Roles = roles
	l.enqueue(r)
}

// RanAs records run_as_granted and run_as_denied: c is the caller run as
// target when granted, the authenticating caller when denied. The roles
// are the authenticating user's, as in Elasticsearch.
func (l *Log) RanAs(c authn.Caller, target, action string, granted bool) {
	if c.Internal() || c.Auth == nil {
		return
	}
	level, name := RunAsDenied, "run_as_denied"
	if granted {
		level, name = RunAsGranted, "run_as_granted"
	}
	if !l.events.Has(level) {
		return
	}
	by := c.Auth
	if by.RunBy != nil {
		by = by.RunBy
	}
	roles := by.Roles
	if roles == nil {
		roles = []string{}
	}
	if l.filters.ignores(subject{user: by.Username, realm: realmOf(by), action: action, roles: roles}) {
		return
	}
	r := l.transportRecord(name, action, c.Request)
	setAuthentication(&r, c.Auth)
	if !granted {
		r.RunAsName = target
	}
	r.Roles = roles
	l.enqueue(r)
}

// Wrote records security_config_change for every credential write this
// node proposed for a client, whatever became of it: Elasticsearch records
// a change once it is authorized. Ignore filters do not apply to it, as in
// Elasticsearch: hiding a security change is too dangerous a default.
func (l *Log) Wrote(c authn.Caller, p fsm.Payload, _ fsm.Result, _ error, _ time.Duration) {
	if c.Internal() || !l.events.Has(SecurityConfigChange) {
		return
	}
	for _, p := range oneChangeEach(p) {
		ch, ok := describeChange(p, c, bodyOf(c.Request))
		if !ok {
			continue
		}
		l.enqueue(Record{Time: l.now(), EventType: typeConfigChange, EventAction: ch.action,
			RequestID: requestID(c.Request), ChangeField: ch.field, Change: ch.body})
	}
}

// oneChangeEach splits a bulk write into the single changes it makes: a
// bulk role delete is a delete_role record per role, as SIEM rules written
// for the single delete expect.
func oneChangeEach(p fsm.Payload) []fsm.Payload {
	d, ok := p.(fsm.RoleDeletedV2)
	if !ok {
		return []fsm.Payload{p}
	}
	out := make([]fsm.Payload, len(d.Names))
	for i, name := range d.Names {
		out[i] = fsm.RoleDeletedV1{Name: name}
	}
	return out
}

// restRecord is an event of the REST layer about request r.
func (l *Log) restRecord(action string, r *http.Request) Record {
	rec := Record{Time: l.now(), EventType: typeREST, EventAction: action}
	if r == nil {
		rec.OriginType, rec.OriginAddress = originLocal, l.cfg.NodeAddress
		return rec
	}
	setRequest(&rec, r)
	// Percent-encoded, as Elasticsearch writes the request target's parts.
	rec.URLPath, rec.URLQuery, rec.Method = r.URL.EscapedPath(), r.URL.RawQuery, r.Method
	return rec
}

// transportRecord is an event about an action, made for request r if it
// came from one.
func (l *Log) transportRecord(event, action string, r *http.Request) Record {
	rec := Record{Time: l.now(), EventType: typeTransport, EventAction: event, Action: action}
	if r == nil {
		rec.OriginType, rec.OriginAddress = originLocal, l.cfg.NodeAddress
		return rec
	}
	setRequest(&rec, r)
	return rec
}

// setRequest fills what every event about an API request has: where it
// came from (the TCP peer) and its ids.
func setRequest(rec *Record, r *http.Request) {
	rec.OriginType, rec.OriginAddress = typeREST, r.RemoteAddr
	rec.RequestID = requestID(r)
	rec.OpaqueID = r.Header.Get("X-Opaque-Id")
	rec.XForwardedFor = r.Header.Get("X-Forwarded-For")
}

// setAuthentication writes who the caller is, as Elasticsearch does: an
// API key's user.realm is its owner's realm, a service account's token is
// named beside it.
func setAuthentication(rec *Record, a *authn.Authentication) {
	if by := a.RunBy; by != nil {
		setAuthentication(rec, by)
		rec.RunAsName, rec.RunAsRealm = a.Username, a.Realm.Name
		return
	}
	rec.UserName = a.Username
	rec.AuthenticationType = strings.ToUpper(a.Type)
	rec.UserRealm = realmOf(a)
	if a.APIKey != nil {
		rec.APIKeyID, rec.APIKeyName = a.APIKey.ID, a.APIKey.Name
	}
	if a.Token != nil {
		rec.TokenName, rec.TokenType = a.Token.Name, a.Token.Type
	}
}

// realmOf is user.realm: the owner's realm for an API key.
func realmOf(a *authn.Authentication) string {
	if a.APIKey != nil {
		return a.OwnerRealm()
	}
	return a.Realm.Name
}
