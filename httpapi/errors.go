package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/tokenstore/tokenstore/authn"
)

// kindStatus is the one table from an authn error kind to its HTTP status
// and default Elasticsearch exception type.
var kindStatus = map[authn.Kind]struct {
	status int
	typ    string
}{
	authn.Unauthenticated: {http.StatusUnauthorized, "security_exception"},
	authn.Forbidden:       {http.StatusForbidden, "security_exception"},
	authn.NotFound:        {http.StatusNotFound, "resource_not_found_exception"},
	authn.Invalid:         {http.StatusBadRequest, "illegal_argument_exception"},
	authn.Conflict:        {http.StatusConflict, "version_conflict_engine_exception"},
	authn.Unavailable:     {http.StatusServiceUnavailable, "unavailable_shards_exception"},
	// Elasticsearch has no authentication throttle; a security_exception
	// is what its ElasticsearchSecurityException renders with status 429.
	authn.Throttled: {http.StatusTooManyRequests, "security_exception"},
}

// authenticateValues is the WWW-Authenticate set of a 401: one value per
// enabled authentication scheme, in Elasticsearch's order.
func authenticateValues(tokens, apiKeys bool) []string {
	v := []string{`Basic realm="security", charset="UTF-8"`}
	if tokens {
		v = append(v, `Bearer realm="security"`)
	}
	if apiKeys {
		v = append(v, `ApiKey`)
	}
	return v
}

// esError is the Elasticsearch error envelope.
type esError struct {
	Error  esCause `json:"error"`
	Status int     `json:"status"`
}

type esCause struct {
	RootCause  []esCause `json:"root_cause,omitempty"`
	Type       string    `json:"type"`
	Reason     string    `json:"reason"`
	Additional string    `json:"additional_unsuccessful_credentials,omitempty"`
	Header     any       `json:"header,omitempty"`
	CausedBy   *esCause  `json:"caused_by,omitempty"`
	// StackTrace answers ?error_trace: Elasticsearch's Java trace; here
	// the exception and reason only, nothing of this process's internals.
	StackTrace string `json:"stack_trace,omitempty"`
}

// writeError turns any error into an Elasticsearch error response. Errors
// that are not authn, HTTP or cluster errors become a 500 with a generic reason;
// their cause goes to the log only.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var oe *authn.Error
	if errors.As(err, &oe) && oe.OAuth != "" {
		// get token answers its own failures in RFC 6749's shape.
		writeJSON(w, r, http.StatusBadRequest, map[string]string{"error": oe.OAuth, "error_description": authn.Clip(oe.Reason, maxReason)})
		return
	}
	log := s.log
	status, cause := classify(err)
	// Reasons quote the caller's input (names, paths, values); however it
	// was built, an error repeats at most maxReason bytes of it.
	cause.Reason, cause.Additional = authn.Clip(cause.Reason, maxReason), authn.Clip(cause.Additional, maxReason)
	if status == http.StatusInternalServerError {
		log.Error("request failed", "method", r.Method, "path", r.URL.Path, "error", err)
	}
	if status == http.StatusServiceUnavailable {
		s.countUnavailable(err)
	}
	if oe != nil && oe.RetryAfter > 0 {
		// Whole seconds, rounded up: retrying at the header's time succeeds.
		w.Header().Set("Retry-After", strconv.FormatInt(int64((oe.RetryAfter+time.Second-1)/time.Second), 10))
	}
	if status == http.StatusUnauthorized {
		values := s.authenticate
		var ae *authn.Error
		if errors.As(err, &ae) && len(ae.Authenticate) > 0 {
			values = ae.Authenticate
		}
		for _, v := range values {
			w.Header().Add("WWW-Authenticate", v)
		}
		// A single value is rendered as a string, several as an array.
		if len(values) == 1 {
			cause.Header = map[string]any{"WWW-Authenticate": values[0]}
		} else {
			cause.Header = map[string]any{"WWW-Authenticate": values}
		}
	}
	if flagSet(r.URL.Query(), "error_trace") {
		cause.StackTrace = "ElasticsearchException[" + cause.Type + ": " + cause.Reason + "]"
	}
	root := cause
	root.CausedBy = nil
	cause.RootCause = []esCause{root}
	writeJSON(w, r, status, esError{Error: cause, Status: status})
}

func classify(err error) (int, esCause) {
	var ae *authn.Error
	if errors.As(err, &ae) {
		k := kindStatus[ae.Kind]
		typ := ae.Type
		if typ == "" {
			typ = k.typ
		}
		c := esCause{Type: typ, Reason: ae.Reason, Additional: ae.Additional}
		if ae.CausedBy != nil {
			_, under := classify(ae.CausedBy)
			c.CausedBy = &under
		}
		return k.status, c
	}
	var he *httpError
	if errors.As(err, &he) {
		return he.status, esCause{Type: he.typ, Reason: he.reason}
	}
	if ce, ok := fromBelow(err); ok {
		return classify(ce)
	}
	return http.StatusInternalServerError, esCause{Type: "exception", Reason: "internal error, see the node's log"}
}

// The errors of the cluster and of backups reach this package through node
// without an authn kind; each says what it is by one of these methods, so
// that this package needs neither.
type (
	leaderRefusal interface { // the leader refused a forwarded write
		error
		LeaderRefusal() string
	}
	noLeader interface { // no leader is known
		error
		NoLeader()
	}
	unavailable interface { // the cluster could not carry the write
		error
		Unavailable()
	}
	unavailableWithReason interface { // ... and says why (a full disk, say)
		error
		UnavailableReason() string
	}
	tooLarge interface { // a streamed body over its limit
		error
		TooLarge()
	}
	eventNotSupported interface { // some members cannot apply the event yet
		error
		EventNotSupported()
	}
)

// fromBelow translates such an error into one of this package's kinds, or
// reports that err is none of them.
func fromBelow(err error) (error, bool) {
	if lr, ok := errors.AsType[leaderRefusal](err); ok {
		return &authn.Error{Kind: authn.Forbidden, Reason: lr.LeaderRefusal()}, true
	}
	if _, ok := errors.AsType[noLeader](err); ok {
		return &authn.Error{Kind: authn.Unavailable, Type: "master_not_discovered_exception", Reason: "no master node is elected"}, true
	}
	if ur, ok := errors.AsType[unavailableWithReason](err); ok {
		return &authn.Error{Kind: authn.Unavailable, Reason: ur.UnavailableReason()}, true
	}
	if _, ok := errors.AsType[unavailable](err); ok {
		return &authn.Error{Kind: authn.Unavailable, Reason: "the cluster could not commit the write"}, true
	}
	if ns, ok := errors.AsType[eventNotSupported](err); ok {
		// As Elasticsearch refuses a feature not every node of a mixed
		// cluster has: an illegal argument, named.
		return &authn.Error{Kind: authn.Invalid, Reason: ns.Error()}, true
	}
	if tl, ok := errors.AsType[tooLarge](err); ok {
		return &httpError{status: http.StatusRequestEntityTooLarge, typ: "content_too_long_exception", reason: tl.Error()}, true
	}
	return nil, false
}

// maxReason bounds an error's reason; Elasticsearch's own are far shorter.
const maxReason = 2048

// httpError is an error of the HTTP layer itself (body too large, bad JSON).
type httpError struct {
	status int
	typ    string
	reason string
}

func (e *httpError) Error() string { return e.reason }

func badRequest(typ, reason string) *httpError {
	return &httpError{status: http.StatusBadRequest, typ: typ, reason: reason}
}

// writeJSON writes a JSON answer with Elasticsearch's headers.
func writeJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status, body = http.StatusInternalServerError, []byte(`{"error":{"type":"exception","reason":"cannot encode response"},"status":500}`)
	}
	writeEncoded(w, r, status, body)
}

// writeEncoded is writeJSON for a body already encoded.
func writeEncoded(w http.ResponseWriter, r *http.Request, status int, body []byte) {
	body = render(r, body)
	w.Header()["Content-Type"] = responseContentType(r)
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}
