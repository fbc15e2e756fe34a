package httpapi

import (
	"net/http"

	"github.com/tokenstore/tokenstore/authn"
)

func (s *Server) handleGetToken(w http.ResponseWriter, r *http.Request, c authn.Caller) error {
	var req authn.GetTokenRequest
	if err := decodeBody(r, &req, true); err != nil {
		return err
	}
	res, err := s.authn.GetToken(r.Context(), c, req)
	if err != nil {
		return err
	}
	out := map[string]any{"access_token": res.AccessToken, "type": res.Type, "expires_in": res.ExpiresIn,
		"authentication": authenticationJSON(res.Authentication)}
	if res.RefreshToken != "" {
		out["refresh_token"] = res.RefreshToken
	}
	writeJSON(w, r, http.StatusOK, out)
	return nil
}

func (s *Server) handleInvalidateToken(w http.ResponseWriter, r *http.Request, c authn.Caller) error {
	var req authn.InvalidateTokensRequest
	if err := decodeBody(r, &req, true); err != nil {
		return err
	}
	res, err := s.authn.InvalidateTokens(r.Context(), c, req)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if res.NotFound {
		status = http.StatusNotFound
	}
	writeJSON(w, r, status, res)
	return nil
}
