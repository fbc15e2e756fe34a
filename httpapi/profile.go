package httpapi

import (
	"net/http"
	"strconv"

	"github.com/tokenstore/tokenstore/authn"
)

// The user profile API (Elasticsearch 8.17): Kibana activates a profile at
// every login.

func (s *Server) handleActivateProfile(w http.ResponseWriter, r *http.Request, c authn.Caller) error {
	var req authn.ActivateProfileRequest
	if err := decodeBody(r, &req, true); err != nil {
		return err
	}
	p, err := s.authn.ActivateProfile(r.Context(), c, req)
	if err != nil {
		return err
	}
	writeJSON(w, r, http.StatusOK, p)
	return nil
}

func (s *Server) handleGetProfiles(w http.ResponseWriter, r *http.Request, c authn.Caller) error {
	uids, err := pathVar(r, "uids")
	if err != nil {
		return err
	}
	out, err := s.authn.GetProfiles(r.Context(), c, authn.SplitNames(uids), authn.ParseDataFilter(r.URL.Query()["data"]))
	if err != nil {
		return err
	}
	writeJSON(w, r, http.StatusOK, out)
	return nil
}

func (s *Server) handleUpdateProfileData(w http.ResponseWriter, r *http.Request, c authn.Caller) error {
	uid, err := pathVar(r, "uid")
	if err != nil {
		return err
	}
	var cond authn.IfSeq
	for name, dst := range map[string]**int64{"if_seq_no": &cond.SeqNo, "if_primary_term": &cond.PrimaryTerm} {
		if *dst, err = int64Param(r, name); err != nil {
			return err
		}
	}
	var req authn.UpdateProfileDataRequest
	if err := decodeBody(r, &req, true); err != nil {
		return err
	}
	if err := s.authn.UpdateProfileData(r.Context(), c, uid, req, cond); err != nil {
		return err
	}
	writeJSON(w, r, http.StatusOK, map[string]bool{"acknowledged": true})
	return nil
}

// int64Param is an optional integer query parameter.
func int64Param(r *http.Request, name string) (*int64, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return nil, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return nil, badRequest("illegal_argument_exception", "Failed to parse int parameter ["+name+"] with value ["+authn.Clip(v, 256)+"]")
	}
	return &n, nil
}

func (s *Server) handleEnableProfile(w http.ResponseWriter, r *http.Request, c authn.Caller) error {
	return s.setProfileEnabled(w, r, c, true)
}

func (s *Server) handleDisableProfile(w http.ResponseWriter, r *http.Request, c authn.Caller) error {
	return s.setProfileEnabled(w, r, c, false)
}

func (s *Server) setProfileEnabled(w http.ResponseWriter, r *http.Request, c authn.Caller, enabled bool) error {
	uid, err := pathVar(r, "uid")
	if err != nil {
		return err
	}
	if err := s.authn.SetProfileEnabled(r.Context(), c, uid, enabled); err != nil {
		return err
	}
	writeJSON(w, r, http.StatusOK, map[string]bool{"acknowledged": true})
	return nil
}

func (s *Server) handleSuggestProfiles(w http.ResponseWriter, r *http.Request, c authn.Caller) error {
	var req authn.SuggestRequest
	if err := decodeBody(r, &req, false); err != nil {
		return err
	}
	out, err := s.authn.SuggestProfiles(r.Context(), c, req, r.URL.Query()["data"])
	if err != nil {
		return err
	}
	writeJSON(w, r, http.StatusOK, out)
	return nil
}

func (s *Server) handleProfileHasPrivileges(w http.ResponseWriter, r *http.Request, c authn.Caller) error {
	var req authn.ProfileHasPrivilegesRequest
	if err := decodeBody(r, &req, true); err != nil {
		return err
	}
	out, err := s.authn.ProfileHasPrivileges(r.Context(), c, req)
	if err != nil {
		return err
	}
	writeJSON(w, r, http.StatusOK, out)
	return nil
}

// withProfileUIDs adds profile_uid to the API key views whose owner has a
// profile, when with_profile_uid asks for it (get and query API keys).
func (s *Server) withProfileUIDs(r *http.Request, views []any) error {
	on, err := boolParam(r, "with_profile_uid")
	if err != nil || !on {
		return err
	}
	for _, v := range views {
		if m, ok := v.(map[string]any); ok {
			if owner, ok := m["username"].(string); ok {
				if uid, ok := s.authn.ProfileUIDOf(owner); ok {
					m["profile_uid"] = uid
				}
			}
		}
	}
	return nil
}
