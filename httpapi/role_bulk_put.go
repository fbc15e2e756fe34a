package httpapi

import (
	"bytes"
	"net/http"

	json "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/tokenstore/tokenstore/authn"
)

type bulkPutRolesRequest struct {
	Roles jsontext.Value `json:"roles"`
}

// handleBulkPutRoles is POST /_security/role with {"roles": {name:
// descriptor, ...}} (Elasticsearch 8.15): each list appears only when it
// has names, in the order the body gave them.
func (s *Server) handleBulkPutRoles(w http.ResponseWriter, r *http.Request, c authn.Caller) error {
	var req bulkPutRolesRequest
	if err := decodeBody(r, &req, true); err != nil {
		return err
	}
	roles, err := orderedRoles(req.Roles)
	if err != nil {
		return err
	}
	res, err := s.authn.PutRoles(r.Context(), c, roles)
	if err != nil {
		return err
	}
	out := map[string]any{}
	for name, list := range map[string][]string{"created": res.Created, "updated": res.Updated, "noop": res.Noop} {
		if len(list) > 0 {
			out[name] = list
		}
	}
	if len(res.Errors) > 0 {
		details := make(map[string]esCause, len(res.Errors))
		for name, e := range res.Errors {
			_, details[name] = classify(e)
		}
		out["errors"] = bulkRoleErrors{Count: len(details), Details: details}
	}
	writeJSON(w, r, http.StatusOK, out)
	return nil
}

// orderedRoles reads the "roles" object keeping its order: a bulk answers
// its roles in the order they were asked for.
func orderedRoles(raw jsontext.Value) ([]authn.NamedRole, error) {
	if len(raw) == 0 || raw.Kind() != '{' {
		return nil, badRequest("x_content_parse_exception", "[roles] must be an object of role names to role descriptors")
	}
	dec := jsontext.NewDecoder(bytes.NewReader(raw))
	dec.ReadToken() // {
	var out []authn.NamedRole
	for dec.PeekKind() != '}' {
		tok, err := dec.ReadToken()
		if err != nil {
			return nil, badRequest("x_content_parse_exception", parseReason(err))
		}
		name := tok.String() // read before the next call voids the token
		v, err := dec.ReadValue()
		if err != nil {
			return nil, badRequest("x_content_parse_exception", parseReason(err))
		}
		var rr roleRequest
		if err := json.Unmarshal(v, &rr, json.RejectUnknownMembers(true)); err != nil {
			return nil, badRequest("x_content_parse_exception", "role ["+authn.Clip(name, 256)+"]: "+parseReason(err))
		}
		out = append(out, authn.NamedRole{Name: name, Descriptor: rr.descriptor()})
	}
	return out, nil
}
