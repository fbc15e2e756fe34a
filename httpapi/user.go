package httpapi

import (
	"encoding/json"
	"net/http"

	"github.com/tokenstore/tokenstore/authn"
)

func (s *Server) handleAuthenticate(w http.ResponseWriter, r *http.Request, c authn.Caller) error {
	body := c.Auth.Answer(func(a *authn.Authentication) []byte {
		b, _ := json.Marshal(authenticationJSON(a))
		return b
	})
	if body == nil {
		writeJSON(w, r, http.StatusOK, authenticationJSON(c.Auth)) // answers its error
		return nil
	}
	writeEncoded(w, r, http.StatusOK, body)
	return nil
}

// authenticationView is _authenticate's answer, fields in Elasticsearch's order.
type authenticationView struct {
	Username            string           `json:"username"`
	Roles               []string         `json:"roles"`
	FullName            *string          `json:"full_name"`
	Email               *string          `json:"email"`
	Token               *authn.TokenRef  `json:"token,omitempty"`
	Metadata            any              `json:"metadata"`
	Enabled             bool             `json:"enabled"`
	AuthenticationRealm authn.Realm      `json:"authentication_realm"`
	LookupRealm         authn.Realm      `json:"lookup_realm"`
	AuthenticationType  string           `json:"authentication_type"`
	APIKey              *authn.APIKeyRef `json:"api_key,omitempty"`
}

func authenticationJSON(a *authn.Authentication) authenticationView {
	var md any = map[string]any{}
	if len(a.Metadata) > 0 {
		md = a.Metadata
	}
	roles := a.Roles
	if roles == nil {
		roles = []string{}
	}
	v := authenticationView{Username: a.Username, Roles: roles, FullName: a.FullName, Email: a.Email, Metadata: md,
		Enabled: a.Enabled, AuthenticationRealm: a.Realm, LookupRealm: a.Realm, AuthenticationType: a.Type, APIKey: a.APIKey, Token: a.Token}
	if by := a.RunBy; by != nil {
		// Run as: the user is the one looked up, the credential the one
		// that authenticated.
		v.AuthenticationRealm, v.AuthenticationType, v.APIKey, v.Token = by.Realm, by.Type, by.APIKey, by.Token
	}
	return v
}

func (s *Server) handlePutUser(w http.ResponseWriter, r *http.Request, c authn.Caller) error {
	name, err := pathVar(r, "username")
	if err != nil {
		return err
	}
	var req authn.PutUserRequest
	if err := decodeBody(r, &req, true); err != nil {
		return err
	}
	created, err := s.authn.PutUser(r.Context(), c, name, req)
	if err != nil {
		return err
	}
	writeJSON(w, r, http.StatusOK, map[string]bool{"created": created})
	return nil
}

func (s *Server) handleGetUsers(w http.ResponseWriter, r *http.Request, c authn.Caller) error {
	names, err := pathVar(r, "username")
	if err != nil {
		return err
	}
	withUID, err := boolParam(r, "with_profile_uid")
	if err != nil {
		return err
	}
	users, missing, err := s.authn.GetUsers(r.Context(), c, authn.SplitNames(names))
	if err != nil {
		return err
	}
	if withUID {
		s.authn.WithProfileUIDs(users)
	}
	out := map[string]authn.UserView{}
	for _, u := range users {
		out[u.Username] = u
	}
	status := http.StatusOK
	if len(missing) > 0 && len(users) == 0 {
		status = http.StatusNotFound
	}
	writeJSON(w, r, status, out)
	return nil
}

func (s *Server) handleDeleteUser(w http.ResponseWriter, r *http.Request, c authn.Caller) error {
	name, err := pathVar(r, "username")
	if err != nil {
		return err
	}
	found, err := s.authn.DeleteUser(r.Context(), c, name)
	if err != nil {
		return err
	}
	writeFound(w, r, found)
	return nil
}

// writeFound answers deletes as Elasticsearch does: 404 {"found":false}
// rather than an error envelope when nothing was there.
func writeFound(w http.ResponseWriter, r *http.Request, found bool) {
	status := http.StatusOK
	if !found {
		status = http.StatusNotFound
	}
	writeJSON(w, r, status, map[string]bool{"found": found})
}

func (s *Server) handleEnableUser(w http.ResponseWriter, r *http.Request, c authn.Caller) error {
	return s.setEnabled(w, r, c, true)
}

func (s *Server) handleDisableUser(w http.ResponseWriter, r *http.Request, c authn.Caller) error {
	return s.setEnabled(w, r, c, false)
}

func (s *Server) setEnabled(w http.ResponseWriter, r *http.Request, c authn.Caller, enabled bool) error {
	name, err := pathVar(r, "username")
	if err != nil {
		return err
	}
	if err := s.authn.SetEnabled(r.Context(), c, name, enabled); err != nil {
		return err
	}
	writeJSON(w, r, http.StatusOK, struct{}{})
	return nil
}

type changePasswordRequest struct {
	Password     *authn.Secret `json:"password,omitempty"`
	PasswordHash *string       `json:"password_hash,omitempty"`
}

func (s *Server) handleChangePassword(w http.ResponseWriter, r *http.Request, c authn.Caller) error {
	name, err := pathVar(r, "username")
	if err != nil {
		return err
	}
	var req changePasswordRequest
	if err := decodeBody(r, &req, true); err != nil {
		return err
	}
	if err := s.authn.ChangePassword(r.Context(), c, name, req.Password, req.PasswordHash); err != nil {
		return err
	}
	writeJSON(w, r, http.StatusOK, struct{}{})
	return nil
}

func (s *Server) handleHasPrivileges(w http.ResponseWriter, r *http.Request, c authn.Caller) error {
	name, err := pathVar(r, "username")
	if err != nil {
		return err
	}
	if name != "" && name != c.Auth.Username {
		return badRequest("illegal_argument_exception", "users may only check the privileges of their own account")
	}
	var req authn.HasPrivilegesRequest
	if err := decodeBody(r, &req, true); err != nil {
		return err
	}
	resp, err := s.authn.HasPrivileges(c, req)
	if err != nil {
		return err
	}
	writeJSON(w, r, http.StatusOK, resp)
	return nil
}
