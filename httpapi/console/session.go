package console

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The session's cookies. Their path is the console's, so the API never
// sees them: a browser holding a session cannot be made to call the API
// with it.
const (
	cookieCredential = "ts_console_credential"
	cookieRefresh    = "ts_console_refresh"
	cookieSession    = "ts_console_session"
	csrfField        = "csrf"
	csrfHeader       = "X-Csrf-Token"
)

// session is what the cookies of one request hold.
type session struct {
	// credential is the Authorization header the console sends the API.
	credential string
	// access and refresh are the token pair of a password sign-in, with
	// the access token's expiry and lifetime (zero for an API key).
	access, refresh string
	expires         time.Time
	lifetime        time.Duration
	// id is the random session id the CSRF token is derived from.
	id string
}

func (s *session) isToken() bool { return s.access != "" }

// readSession reads the request's cookies; ok is false when there is no
// credential. A signed-in session's id is the one its credential cookie
// carries, not the session id cookie's: a site that can set cookies on the
// console's host (another port, a sibling domain) can plant an id it knows
// the CSRF token of, but not a credential cookie holding the user's
// credential and its id.
func readSession(r *http.Request) (s *session, ok bool) {
	s = &session{}
	if c, err := r.Cookie(cookieSession); err == nil {
		s.id = c.Value
	}
	c, err := r.Cookie(cookieCredential)
	if err != nil {
		return s, false
	}
	kind, rest, _ := strings.Cut(c.Value, ".")
	id, rest, _ := strings.Cut(rest, ".")
	if id == "" || rest == "" {
		return s, false
	}
	switch kind {
	case "k":
		s.credential = "ApiKey " + rest
	case "t":
		if !s.readToken(rest) {
			return s, false
		}
		if rc, err := r.Cookie(cookieRefresh); err == nil {
			s.refresh = rc.Value
		}
	default:
		return s, false
	}
	s.id = id
	return s, true
}

// readToken reads a token credential: <expiry unix>.<lifetime seconds>.<access token>.
func (s *session) readToken(v string) bool {
	parts := strings.SplitN(v, ".", 3)
	if len(parts) != 3 {
		return false
	}
	exp, err1 := strconv.ParseInt(parts[0], 10, 64)
	ttl, err2 := strconv.ParseInt(parts[1], 10, 64)
	if err1 != nil || err2 != nil {
		return false
	}
	s.access, s.expires, s.lifetime = parts[2], time.Unix(exp, 0), time.Duration(ttl)*time.Second
	s.credential = "Bearer " + s.access
	return true
}

// cookie builds one of the console's cookies: never readable by script,
// never sent by another site, only over TLS when the node has it.
func (c *Console) cookie(name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: name, Value: value, Path: Prefix, HttpOnly: true, Secure: c.cfg.TLS,
		SameSite: http.SameSiteStrictMode, MaxAge: maxAge}
}

// setTokenSession stores a token pair of session id; now is when the grant
// answered.
func (c *Console) setTokenSession(w http.ResponseWriter, id, access, refresh string, expiresIn int64, now time.Time) {
	exp := now.Add(time.Duration(expiresIn) * time.Second).Unix()
	v := "t." + id + "." + strconv.FormatInt(exp, 10) + "." + strconv.FormatInt(expiresIn, 10) + "." + access
	http.SetCookie(w, c.cookie(cookieCredential, v, 0))
	if refresh != "" {
		http.SetCookie(w, c.cookie(cookieRefresh, refresh, 0))
	}
}

func (c *Console) setAPIKeySession(w http.ResponseWriter, id, encoded string) {
	http.SetCookie(w, c.cookie(cookieCredential, "k."+id+"."+encoded, 0))
	http.SetCookie(w, c.cookie(cookieRefresh, "", -1))
}

// newSessionID starts a session id (at first visit, and again at sign-in
// so an id planted before sign-in is worth nothing after it).
func (c *Console) newSessionID(w http.ResponseWriter) string {
	id := randomID()
	c.setSessionID(w, id)
	return id
}

func (c *Console) setSessionID(w http.ResponseWriter, id string) {
	http.SetCookie(w, c.cookie(cookieSession, id, 0))
}

// randomID is a session id: 256 random bits, never containing a '.'.
func randomID() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (c *Console) clearSession(w http.ResponseWriter) {
	for _, name := range []string{cookieCredential, cookieRefresh, cookieSession} {
		http.SetCookie(w, c.cookie(name, "", -1))
	}
}

// csrfToken is the token forms carry: derived from the session id, which
// only the browser's HttpOnly cookies hold, so another site can neither
// read nor guess it; once signed in, the id is the credential cookie's
// (see readSession), which no other site can plant.
func csrfToken(sessionID string) string {
	if sessionID == "" {
		return ""
	}
	m := hmac.New(sha256.New, []byte(sessionID))
	m.Write([]byte("tokenstore console csrf"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// csrfOK checks a state-changing request's token (form field or header)
// against the session's.
func csrfOK(r *http.Request, sessionID string) bool {
	want := csrfToken(sessionID)
	got := r.Header.Get(csrfHeader)
	if got == "" {
		got = r.PostFormValue(csrfField)
	}
	return want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}
