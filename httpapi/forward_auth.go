package httpapi

import (
	"cmp"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/tokenstore/tokenstore/authn"
)

// pathForwardAuth answers nginx auth_request, Traefik ForwardAuth and Envoy
// ext_authz: any method, any path below it (Envoy's path_prefix puts the
// original path there), no body read.
const pathForwardAuth = "/_tokenstore/forward_auth"

// isForwardAuth reports a forward-auth path (escaped, as routes match):
// the endpoint or below it.
func isForwardAuth(p string) bool {
	return p == pathForwardAuth || strings.HasPrefix(p, pathForwardAuth+"/")
}

// forwardAuthRoute matches any method on a forward-auth path. The route
// answers proxies in their conventions, not through authenticated: no
// Elasticsearch error bodies, no run-as refusal.
func forwardAuthRoute(r *http.Request, _ *mux.RouteMatch) bool {
	return isForwardAuth(r.URL.EscapedPath())
}

// The identity headers of an allowed request, which the proxy copies to the
// upstream.
const (
	headerAuthUser       = "X-Auth-User"
	headerAuthRealm      = "X-Auth-Realm"
	headerAuthRoles      = "X-Auth-Roles"
	headerAuthType       = "X-Auth-Authentication-Type"
	headerAuthAPIKeyID   = "X-Auth-Api-Key-Id"
	headerAuthAPIKeyName = "X-Auth-Api-Key-Name"
	headerAuthTokenName  = "X-Auth-Token-Name"
)

// Bounds of identity header values: together they stay well inside the
// 4 KiB nginx reads of an auth_request answer's headers by default
// (proxy_buffer_size), beyond which it would answer the client 500.
const (
	maxIdentityValue = 1024
	maxRolesValue    = 1024
	maxKeyNameValue  = 256
)

// handleForwardAuth answers only 200 (no body), 401, 403 or 503 (a tiny
// one): nginx turns any other status into a 500 and Envoy allows only a
// 200.
func (s *Server) handleForwardAuth(w http.ResponseWriter, r *http.Request) {
	req := authn.ForwardAuthRequest{Authorization: r.Header.Get("Authorization"), Path: pathForwardAuth, RemoteAddr: r.RemoteAddr}
	req.Host, req.Method, req.URI, req.Conflict = originalRequest(r)
	w.Header().Set("Cache-Control", "no-store")
	c, err := s.authn.ForwardAuth(r.Context(), req)
	if err != nil {
		s.writeForwardAuthRefusal(w, r, err)
		return
	}
	setIdentityHeaders(w.Header(), c.Auth)
	// No body: nginx keeps its connection to the node for the next
	// auth_request only when the answer has none to skip.
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusOK)
}

// originalRequest is the request the proxy asks about, from the headers
// each proxy sets: Traefik's X-Forwarded-*, nginx's documented
// X-Original-*, or (Envoy) the path below the endpoint and the request's
// own method and host. Sources that disagree are a conflict: a client may
// have sent one of the headers itself to a proxy that passes it on.
func originalRequest(r *http.Request) (host, method, uri, conflict string) {
	suffix := strings.TrimPrefix(r.URL.EscapedPath(), pathForwardAuth)
	if suffix != "" && r.URL.RawQuery != "" {
		suffix += "?" + r.URL.RawQuery
	}
	var ok bool
	if uri, ok = agree(r.Header, []string{suffix}, "X-Forwarded-Uri", "X-Original-Uri"); !ok {
		conflict = "the proxy's headers name different request URIs"
	}
	if method, ok = agree(r.Header, nil, "X-Forwarded-Method", "X-Original-Method"); !ok {
		conflict = "the proxy's headers name different request methods"
	}
	if host, ok = agree(r.Header, nil, "X-Forwarded-Host"); !ok {
		conflict = "the proxy's headers name different hosts"
	}
	return cmp.Or(host, r.Host), cmp.Or(method, r.Method), uri, conflict
}

// agree is the one value the named headers and the given values hold
// (empty ones ignored), and false when they hold more than one.
func agree(h http.Header, values []string, names ...string) (string, bool) {
	for _, n := range names {
		values = append(values, h.Values(n)...)
	}
	var one string
	for _, v := range values {
		switch {
		case v == "":
		case one == "":
			one = v
		case v != one:
			return "", false
		}
	}
	return one, true
}

// setIdentityHeaders names the principal; no header carries a secret.
// Every header is sent, empty when it does not apply, so that a proxy that
// copies them (Envoy's allowed_upstream_headers) overwrites any a client
// sent itself instead of letting it through.
func setIdentityHeaders(h http.Header, a *authn.Authentication) {
	var keyID, keyName, tokenName string
	if a.APIKey != nil {
		keyID, keyName = a.APIKey.ID, a.APIKey.Name
	}
	if a.Token != nil {
		tokenName = a.Token.Name
	}
	h.Set(headerAuthUser, headerValue(a.Username, maxIdentityValue))
	h.Set(headerAuthRealm, headerValue(a.Realm.Name, maxIdentityValue))
	h.Set(headerAuthRoles, rolesValue(a.Roles))
	h.Set(headerAuthType, headerValue(a.Type, maxIdentityValue))
	h.Set(headerAuthAPIKeyID, headerValue(keyID, maxIdentityValue))
	h.Set(headerAuthAPIKeyName, headerValue(keyName, maxKeyNameValue))
	h.Set(headerAuthTokenName, headerValue(tokenName, maxIdentityValue))
}

// headerValue keeps printable ASCII and percent-encodes every other byte
// (CR and LF among them), so a value cannot end the header or confuse a
// proxy's parser; past n bytes it is cut, between escapes, and marked
// "...".
func headerValue(s string, n int) string {
	v, whole := escapeHeaderBytes(s, "", n-len("..."))
	if !whole {
		v += "..."
	}
	return v
}

// escapeHeaderBytes percent-encodes s's bytes outside printable ASCII and
// those in also, up to n bytes of output; whole is false when s was cut.
func escapeHeaderBytes(s, also string, n int) (out string, whole bool) {
	const hex = "0123456789ABCDEF"
	if len(s) <= n && !strings.ContainsFunc(s, func(c rune) bool { return c < 0x20 || c >= 0x7f || strings.ContainsRune(also, c) }) {
		return s, true // the common case, without a copy
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		plain := c >= 0x20 && c < 0x7f && strings.IndexByte(also, c) < 0
		if plain && b.Len()+1 > n || !plain && b.Len()+3 > n {
			return b.String(), false
		}
		if plain {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String(), true
}

// rolesValue is the comma list of roles, a comma inside a name encoded,
// cut between roles when it would pass maxRolesValue.
func rolesValue(roles []string) string {
	var b strings.Builder
	for _, role := range roles {
		v, whole := escapeHeaderBytes(role, ",", maxRolesValue)
		if !whole || b.Len()+len(v)+1 > maxRolesValue {
			break
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(v)
	}
	return b.String()
}

// writeForwardAuthRefusal maps a refusal onto the statuses every proxy
// honours: 401 for a credential missing, wrong or throttled (with
// WWW-Authenticate, and Retry-After when throttled), 403 for one the rules
// refuse, and 503 for a question this node cannot decide now.
func (s *Server) writeForwardAuthRefusal(w http.ResponseWriter, r *http.Request, err error) {
	status := http.StatusServiceUnavailable
	var e *authn.Error
	if errors.As(err, &e) {
		switch {
		case e.Kind == authn.Unauthenticated:
			status = http.StatusUnauthorized
		case e.Kind == authn.Forbidden:
			status = http.StatusForbidden
		case e.Kind == authn.Throttled && e.Type == "security_exception":
			status = http.StatusUnauthorized
		}
		if e.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.FormatInt(int64((e.RetryAfter+time.Second-1)/time.Second), 10))
		}
	}
	if status == http.StatusUnauthorized {
		values := s.authenticate
		if e != nil && len(e.Authenticate) > 0 {
			values = e.Authenticate
		}
		for _, v := range values {
			w.Header().Add("WWW-Authenticate", v)
		}
	}
	if status == http.StatusServiceUnavailable {
		s.log.Debug("forward-auth undecided", "error", err)
	}
	writeTiny(w, r, status)
}

// writeTiny answers with the status's name as a short text body.
func writeTiny(w http.ResponseWriter, r *http.Request, status int) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		w.Write([]byte(http.StatusText(status) + "\n"))
	}
}
