package console

import (
	"net/http"
	"time"
)

// maxForm bounds a console form's body; role descriptors and metadata are
// the largest fields, and the API bounds them again.
const maxForm = 1 << 20

// request is one signed-in request: the session and what it may do.
type request struct {
	*http.Request
	s   *session
	can privs
}

func (q *request) view(title, nav string) view {
	return view{Title: title, Nav: nav, User: q.can.User, Can: q.can, CSRF: csrfToken(q.s.id)}
}

// api calls the REST API as the signed-in user.
func (c *Console) api(q *request, method, path string, body any) answer {
	return c.call(q.Request, q.s.credential, method, path, body)
}

type pageFunc func(w http.ResponseWriter, q *request)

// signedIn runs h for a request with a session: a state-changing request
// must carry the session's CSRF token, the access token is refreshed when
// half its life is gone, and the caller's privileges decide the menu. A
// credential the API refuses ends at the sign-in page with the API's
// reason; a node that cannot decide shows its 503.
func (c *Console) signedIn(h pageFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, ok := readSession(r)
		if !ok {
			http.Redirect(w, r, Prefix+"/signin", http.StatusSeeOther)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			r.Body = http.MaxBytesReader(w, r.Body, maxForm)
			if !csrfOK(r, s.id) {
				c.render(w, http.StatusForbidden, "error", view{Title: "Refused", Status: http.StatusForbidden,
					Error: "the form's CSRF token is missing or does not belong to this session; nothing was changed"})
				return
			}
		}
		q := &request{Request: r, s: s}
		c.maybeRefresh(w, q)
		can, a := c.privileges(q)
		if a.Status == http.StatusUnauthorized {
			// The cookies stay: a request that raced a refresh must not
			// erase the new pair another answer just set. The form carries
			// the session id's token, which sign-in checks (and replaces).
			c.render(w, http.StatusUnauthorized, "signin", view{Title: "Sign in", CSRF: csrfToken(s.id), Status: a.Status, Error: a.Reason()})
			return
		}
		if !a.OK() {
			c.render(w, a.Status, "error", view{Title: "Unavailable", Status: a.Status, Error: a.Reason()})
			return
		}
		q.can = can
		h(w, q)
	})
}

// maybeRefresh swaps the access token for a new pair once half its
// lifetime has passed, and invalidates the one it replaced; every request
// of an open tab counts as use. A refresh that fails leaves the session as
// it was until the token ends.
func (c *Console) maybeRefresh(w http.ResponseWriter, q *request) {
	s := q.s
	// Signing out invalidates the pair the browser holds, not a new one;
	// a page refreshing itself in an idle tab is not use.
	if !s.isToken() || s.refresh == "" || time.Until(s.expires) > s.lifetime/2 ||
		q.URL.Path == Prefix+"/signout" || q.Header.Get(backgroundHeader) != "" {
		return
	}
	a := c.api(q, http.MethodPost, "/_security/oauth2/token", map[string]string{"grant_type": "refresh_token", "refresh_token": s.refresh})
	var t tokenAnswer
	if !a.OK() || a.decode(&t) != nil {
		c.log.Debug("console token refresh failed", "status", a.Status)
		return
	}
	c.setTokenSession(w, s.id, t.AccessToken, t.RefreshToken, t.ExpiresIn, time.Now())
	previous := s.access
	s.access, s.refresh, s.credential = t.AccessToken, t.RefreshToken, "Bearer "+t.AccessToken
	// The replaced access token would stay valid until it expires; the
	// browser no longer holds it, so nothing may: sign-out then leaves no
	// token of the session behind.
	if a := c.api(q, http.MethodDelete, "/_security/oauth2/token", map[string]string{"token": previous}); !a.OK() {
		c.log.Debug("console could not invalidate a replaced access token", "status", a.Status)
	}
}

// backgroundHeader marks the requests a page sends by itself.
const backgroundHeader = "X-Console-Background"

// tokenAnswer is the get token API's answer.
type tokenAnswer struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	ExpiresIn    int64  `json:"expires_in"`
}

// handlePing is what the page's script sends while the tab is used: it
// passes through signedIn, which refreshes the token when due.
func (c *Console) handlePing(w http.ResponseWriter, q *request) {
	w.WriteHeader(http.StatusNoContent)
}
