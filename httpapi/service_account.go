package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"

	"github.com/tokenstore/tokenstore/authn"
)

// pathFileTokens is where a node answers its peers with its file tokens; it
// is under the internal prefix, which peers' calls carry.
const pathFileTokens = "/_tokenstore/internal/file_tokens"

func (s *Server) handleGetServiceAccounts(w http.ResponseWriter, r *http.Request, c authn.Caller) error {
	ns, err := pathVar(r, "namespace")
	if err != nil {
		return err
	}
	svc, err := pathVar(r, "service")
	if err != nil {
		return err
	}
	accounts, err := s.authn.GetServiceAccounts(c, ns, svc)
	if err != nil {
		return err
	}
	out := map[string]any{}
	for principal, d := range accounts {
		out[principal] = map[string]any{"role_descriptor": roleView(d)}
	}
	writeJSON(w, r, http.StatusOK, out)
	return nil
}

func (s *Server) handleCreateServiceToken(w http.ResponseWriter, r *http.Request, c authn.Caller) error {
	vars, err := pathVars(r, "namespace", "service", "name")
	if err != nil {
		return err
	}
	tok, err := s.authn.CreateServiceToken(r.Context(), c, vars[0], vars[1], vars[2])
	if err != nil {
		return err
	}
	writeJSON(w, r, http.StatusOK, map[string]any{"created": true, "token": tok})
	return nil
}

func (s *Server) handleDeleteServiceToken(w http.ResponseWriter, r *http.Request, c authn.Caller) error {
	vars, err := pathVars(r, "namespace", "service", "name")
	if err != nil {
		return err
	}
	found, err := s.authn.DeleteServiceToken(r.Context(), c, vars[0], vars[1], vars[2])
	if err != nil {
		return err
	}
	writeFound(w, r, found)
	return nil
}

func (s *Server) handleGetServiceCredentials(w http.ResponseWriter, r *http.Request, c authn.Caller) error {
	vars, err := pathVars(r, "namespace", "service")
	if err != nil {
		return err
	}
	creds, err := s.authn.GetServiceCredentials(r.Context(), c, vars[0], vars[1])
	if err != nil {
		return err
	}
	principal := vars[0] + "/" + vars[1]
	perNode, total, failed := s.gatherFileTokens(r.Context(), c, principal, creds.FileTokens)
	tokens := map[string]any{}
	for _, n := range creds.IndexTokens {
		tokens[n] = map[string]any{}
	}
	fileTokens := map[string]any{}
	for name, nodes := range perNode {
		fileTokens[name] = map[string]any{"nodes": nodes}
	}
	writeJSON(w, r, http.StatusOK, map[string]any{
		"service_account": principal, "count": len(tokens) + len(fileTokens), "tokens": tokens,
		"nodes_credentials": map[string]any{
			"_nodes":      map[string]int{"total": total, "successful": total - failed, "failed": failed},
			"file_tokens": fileTokens,
		},
	})
	return nil
}

// gatherFileTokens asks every member for its file tokens of an account, with
// the client's credential, and returns token name -> node names, how many
// members there are and how many did not answer.
func (s *Server) gatherFileTokens(ctx context.Context, c authn.Caller, principal string, local []string) (map[string][]string, int, int) {
	answers, _ := s.cluster.AskMembers(ctx, pathFileTokens+"?principal="+url.QueryEscape(principal), c.Credential)
	perNode := map[string][]string{}
	failed := 0
	for _, a := range answers {
		names := local
		if !a.Self {
			names = nil
			if a.Err != nil || json.Unmarshal(a.Body, &names) != nil {
				failed++
				continue
			}
		}
		for _, n := range names {
			perNode[n] = append(perNode[n], a.Member)
		}
	}
	for _, nodes := range perNode {
		slices.Sort(nodes)
	}
	return perNode, len(answers), failed
}

// handleLocalFileTokens answers a peer gathering file tokens; the client's
// credential must allow reading service credentials here too.
func (s *Server) handleLocalFileTokens(w http.ResponseWriter, r *http.Request, c authn.Caller) error {
	if err := s.authn.AuthorizeCredentialsRead(c); err != nil {
		return err
	}
	names := s.authn.LocalFileTokens(r.URL.Query().Get("principal"))
	if names == nil {
		names = []string{}
	}
	writeJSON(w, r, http.StatusOK, names)
	return nil
}

func (s *Server) handleClearServiceTokenCache(w http.ResponseWriter, r *http.Request, c authn.Caller) error {
	if err := s.authn.ClearServiceTokenCache(c); err != nil {
		return err
	}
	return s.writeNodesEnvelope(w, r)
}

// pathVars returns several path parameters, unescaped.
func pathVars(r *http.Request, names ...string) ([]string, error) {
	out := make([]string, len(names))
	for i, n := range names {
		v, err := pathVar(r, n)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}
