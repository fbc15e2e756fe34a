package console

import (
	"encoding/base64"
	"net/http"
	"strings"
	"time"
)

// maxCredential bounds a username, password or pasted API key.
const maxCredential = 4096

func (c *Console) handleSignInForm(w http.ResponseWriter, r *http.Request) {
	s, _ := readSession(r)
	id := s.id
	if id == "" {
		id = c.newSessionID(w)
	}
	c.render(w, http.StatusOK, "signin", view{Title: "Sign in", CSRF: csrfToken(id)})
}

// handleSignIn signs in with a password (a password grant of the token
// service, authenticated by the same username and password) or with a
// pasted API key (checked by _authenticate). The form carries the token
// of the pre-sign-in session, so another site cannot sign a browser in.
func (c *Console) handleSignIn(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	s, signedIn := readSession(r)
	if !csrfOK(r, s.id) {
		// A signed-in session's id is its credential cookie's, which the
		// next form is checked against; else the form gets a new id.
		id := s.id
		if !signedIn {
			id = c.newSessionID(w)
		}
		c.render(w, http.StatusForbidden, "signin", view{Title: "Sign in", CSRF: csrfToken(id), Status: http.StatusForbidden,
			Error: "the sign-in form expired or came from another site; try again"})
		return
	}
	// The new session's id goes in its credential cookie too: only a
	// signed-in browser holds both.
	id := randomID()
	var a answer
	if key := strings.TrimSpace(r.PostFormValue("api_key")); key != "" {
		a = c.signInAPIKey(w, r, id, key)
	} else {
		a = c.signInPassword(w, r, id, r.PostFormValue("username"), r.PostFormValue("password"))
	}
	if !a.OK() {
		c.render(w, a.Status, "signin", view{Title: "Sign in", CSRF: csrfToken(s.id), Status: a.Status, Error: a.Reason()})
		return
	}
	c.setSessionID(w, id)
	http.Redirect(w, r, Prefix+"/", http.StatusSeeOther)
}

func (c *Console) signInPassword(w http.ResponseWriter, r *http.Request, id, user, password string) answer {
	if user == "" || len(user) > maxCredential || len(password) > maxCredential {
		return answer{Status: http.StatusBadRequest, Body: esError(http.StatusBadRequest, "a username and a password are required")}
	}
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
	a := c.call(r, basic, http.MethodPost, "/_security/oauth2/token",
		map[string]string{"grant_type": "password", "username": user, "password": password})
	var t tokenAnswer
	if !a.OK() {
		return a
	}
	if err := a.decode(&t); err != nil || t.AccessToken == "" {
		return answer{Status: http.StatusBadGateway, Body: esError(http.StatusBadGateway, "the token service gave no token")}
	}
	c.setTokenSession(w, id, t.AccessToken, t.RefreshToken, t.ExpiresIn, time.Now())
	return a
}

// signInAPIKey takes the encoded form (base64 of id:key), as the create
// API returns it.
func (c *Console) signInAPIKey(w http.ResponseWriter, r *http.Request, id, encoded string) answer {
	if len(encoded) > maxCredential || strings.ContainsAny(encoded, " ;,\"\\") {
		return answer{Status: http.StatusBadRequest, Body: esError(http.StatusBadRequest, "paste the API key's encoded value")}
	}
	a := c.call(r, "ApiKey "+encoded, http.MethodGet, "/_security/_authenticate", nil)
	if a.OK() {
		c.setAPIKeySession(w, id, encoded)
	}
	return a
}

// handleSignOut invalidates the refresh token, then the access token (the
// API authenticates the first with the second), and drops the cookies. A
// pasted API key is the user's own and stays valid.
func (c *Console) handleSignOut(w http.ResponseWriter, q *request) {
	if q.s.isToken() {
		if q.s.refresh != "" {
			c.api(q, http.MethodDelete, "/_security/oauth2/token", map[string]string{"refresh_token": q.s.refresh})
		}
		if a := c.api(q, http.MethodDelete, "/_security/oauth2/token", map[string]string{"token": q.s.access}); !a.OK() {
			c.clearSession(w)
			c.fail(w, q, "Sign out", a)
			return
		}
	}
	c.clearSession(w)
	http.Redirect(w, q.Request, Prefix+"/signin", http.StatusSeeOther)
}
