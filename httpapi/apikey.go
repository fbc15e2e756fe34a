package httpapi

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/tokenstore/tokenstore/authn"
	"github.com/tokenstore/tokenstore/fsm"
)

// createAPIKeyRequest is create API key's body as clients send it.
type createAPIKeyRequest struct {
	Name            *string                 `json:"name"`
	Expiration      *string                 `json:"expiration"`
	RoleDescriptors *map[string]roleRequest `json:"role_descriptors"`
	Metadata        json.RawMessage         `json:"metadata"`
}

func (r createAPIKeyRequest) toAuthn() authn.CreateAPIKeyRequest {
	out := authn.CreateAPIKeyRequest{Name: r.Name, Expiration: r.Expiration, Metadata: r.Metadata}
	if r.RoleDescriptors != nil {
		out.HasRoleDescriptors = true
		out.RoleDescriptors = descriptors(*r.RoleDescriptors)
	}
	return out
}

func descriptors(in map[string]roleRequest) map[string]fsm.RoleDescriptor {
	out := make(map[string]fsm.RoleDescriptor, len(in))
	for name, rr := range in {
		out[name] = rr.descriptor()
	}
	return out
}

func (s *Server) handleCreateAPIKey(w http.ResponseWriter, r *http.Request, c authn.Caller) error {
	var req createAPIKeyRequest
	if err := decodeBody(r, &req, true); err != nil {
		return err
	}
	created, err := s.authn.CreateAPIKey(r.Context(), c, req.toAuthn())
	if err != nil {
		return err
	}
	writeJSON(w, r, http.StatusOK, created)
	return nil
}

type grantAPIKeyRequest struct {
	authn.GrantAPIKeyRequest
	APIKey createAPIKeyRequest `json:"api_key"`
}

func (s *Server) handleGrantAPIKey(w http.ResponseWriter, r *http.Request, c authn.Caller) error {
	var req grantAPIKeyRequest
	if err := decodeBody(r, &req, true); err != nil {
		return err
	}
	g := req.GrantAPIKeyRequest
	g.APIKey = req.APIKey.toAuthn()
	created, err := s.authn.GrantAPIKey(r.Context(), c, g)
	if err != nil {
		return err
	}
	writeJSON(w, r, http.StatusOK, created)
	return nil
}

// apiKeyView renders a key as get and query API key show it.
func apiKeyView(k authn.APIKeyInfo, withLimitedBy bool) map[string]any {
	md := any(map[string]any{})
	if len(k.Metadata) > 0 {
		md = k.Metadata
	}
	rds := map[string]any{}
	for name, d := range k.RoleDescriptors {
		rds[name] = roleView(d)
	}
	v := map[string]any{
		"id": k.ID, "name": k.Name, "type": k.Type, "creation": k.Creation, "invalidated": k.Invalidated,
		"username": k.Creator.Principal, "realm": k.Creator.Realm, "realm_type": k.Creator.RealmType,
		"metadata": md, "role_descriptors": rds,
	}
	if k.Expiration > 0 {
		v["expiration"] = k.Expiration
	}
	if k.Invalidated {
		v["invalidation"] = k.Invalidation
	}
	// Not in Elasticsearch (which does not track it): epoch ms, absent for
	// a key never used.
	if k.LastUsed > 0 {
		v["last_used"] = k.LastUsed
	}
	if k.Type == "cross_cluster" {
		// Its access is its descriptor; it has no limited_by.
		v["access"] = authn.AccessOf(k.APIKey)
		return v
	}
	if withLimitedBy {
		lb := map[string]any{}
		for name, d := range k.LimitedBy {
			lb[name] = roleView(d)
		}
		v["limited_by"] = []any{lb}
	}
	return v
}

func boolParam(r *http.Request, name string) (bool, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, badRequest("illegal_argument_exception", "Failed to parse value ["+v+"] as only [true] or [false] are allowed.")
	}
	return b, nil
}

func (s *Server) handleGetAPIKeys(w http.ResponseWriter, r *http.Request, c authn.Caller) error {
	q := r.URL.Query()
	req := authn.GetAPIKeysRequest{ID: q.Get("id"), Name: q.Get("name"), Username: q.Get("username"), RealmName: q.Get("realm_name")}
	var err error
	for name, dst := range map[string]*bool{"owner": &req.Owner, "with_limited_by": &req.WithLimitedBy, "active_only": &req.ActiveOnly} {
		if *dst, err = boolParam(r, name); err != nil {
			return err
		}
	}
	keys, missing, err := s.authn.GetAPIKeys(r.Context(), c, req)
	if err != nil {
		return err
	}
	views := make([]any, 0, len(keys))
	for _, k := range keys {
		views = append(views, apiKeyView(k, req.WithLimitedBy))
	}
	if err := s.withProfileUIDs(r, views); err != nil {
		return err
	}
	status := http.StatusOK
	if missing {
		status = http.StatusNotFound
	}
	writeJSON(w, r, status, map[string]any{"api_keys": views})
	return nil
}

// ownerFlag accepts owner as a boolean or the string "true"/"false", as
// the Elasticsearch docs send it.
type ownerFlag bool

func (o *ownerFlag) UnmarshalJSON(b []byte) error {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	switch x := v.(type) {
	case bool:
		*o = ownerFlag(x)
	case string:
		p, err := strconv.ParseBool(x)
		if err != nil {
			return err
		}
		*o = ownerFlag(p)
	default:
		return &json.UnmarshalTypeError{Value: "owner", Type: nil}
	}
	return nil
}

type invalidateAPIKeysRequest struct {
	IDs       []string  `json:"ids"`
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	RealmName string    `json:"realm_name"`
	Username  string    `json:"username"`
	Owner     ownerFlag `json:"owner"`
}

func (s *Server) handleInvalidateAPIKeys(w http.ResponseWriter, r *http.Request, c authn.Caller) error {
	var req invalidateAPIKeysRequest
	if err := decodeBody(r, &req, true); err != nil {
		return err
	}
	res, err := s.authn.InvalidateAPIKeys(r.Context(), c, authn.InvalidateAPIKeysRequest{IDs: req.IDs, ID: req.ID,
		Name: req.Name, RealmName: req.RealmName, Username: req.Username, Owner: bool(req.Owner)})
	if err != nil {
		return err
	}
	writeJSON(w, r, http.StatusOK, res)
	return nil
}

type updateAPIKeyRequest struct {
	IDs             []string                `json:"ids"`
	RoleDescriptors *map[string]roleRequest `json:"role_descriptors"`
	Metadata        *json.RawMessage        `json:"metadata"`
	Expiration      *string                 `json:"expiration"`
}

func (u updateAPIKeyRequest) toAuthn(ids []string) authn.UpdateAPIKeyRequest {
	out := authn.UpdateAPIKeyRequest{IDs: ids, Metadata: u.Metadata, Expiration: u.Expiration}
	if out.Metadata != nil && string(*out.Metadata) == "null" {
		out.Metadata = nil
	}
	if u.RoleDescriptors != nil {
		d := descriptors(*u.RoleDescriptors)
		out.RoleDescriptors = &d
	}
	return out
}

func (s *Server) handleUpdateAPIKey(w http.ResponseWriter, r *http.Request, c authn.Caller) error {
	id, err := pathVar(r, "id")
	if err != nil {
		return err
	}
	var req updateAPIKeyRequest
	if err := decodeBody(r, &req, false); err != nil {
		return err
	}
	if req.IDs != nil {
		return badRequest("x_content_parse_exception", "[1:1] unknown field [ids]")
	}
	updated, _, errs, err := s.authn.UpdateAPIKeys(r.Context(), c, req.toAuthn([]string{id}))
	if err != nil {
		return err
	}
	if e, ok := errs[id]; ok {
		return e
	}
	writeJSON(w, r, http.StatusOK, map[string]bool{"updated": len(updated) == 1})
	return nil
}

func (s *Server) handleBulkUpdateAPIKeys(w http.ResponseWriter, r *http.Request, c authn.Caller) error {
	var req updateAPIKeyRequest
	if err := decodeBody(r, &req, true); err != nil {
		return err
	}
	updated, noops, errs, err := s.authn.BulkUpdateAPIKeys(r.Context(), c, req.toAuthn(req.IDs))
	if err != nil {
		return err
	}
	out := map[string]any{"updated": updated, "noops": noops}
	if len(errs) > 0 {
		details := map[string]any{}
		for id, e := range errs {
			_, cause := classify(e)
			details[id] = map[string]string{"type": cause.Type, "reason": cause.Reason}
		}
		out["errors"] = map[string]any{"count": len(errs), "details": details}
	}
	writeJSON(w, r, http.StatusOK, out)
	return nil
}

func (s *Server) handleQueryAPIKeys(w http.ResponseWriter, r *http.Request, c authn.Caller) error {
	var req authn.APIKeyQueryRequest
	if err := decodeBody(r, &req, false); err != nil {
		return err
	}
	withLimitedBy, err := boolParam(r, "with_limited_by")
	if err != nil {
		return err
	}
	if req.TypedKeys, err = boolParam(r, "typed_keys"); err != nil {
		return err
	}
	total, keys, sortValues, aggs, err := s.authn.QueryAPIKeys(r.Context(), c, req, withLimitedBy)
	if err != nil {
		return err
	}
	views := make([]any, 0, len(keys))
	for i, k := range keys {
		v := apiKeyView(k, withLimitedBy)
		if sortValues != nil {
			v["_sort"] = sortValues[i]
		}
		views = append(views, v)
	}
	if err := s.withProfileUIDs(r, views); err != nil {
		return err
	}
	out := map[string]any{"total": total, "count": len(views), "api_keys": views}
	if aggs != nil {
		out["aggregations"] = aggs
	}
	writeJSON(w, r, http.StatusOK, out)
	return nil
}

func (s *Server) handleClearAPIKeyCache(w http.ResponseWriter, r *http.Request, c authn.Caller) error {
	if err := s.authn.ClearAPIKeyCache(c); err != nil {
		return err
	}
	return s.writeNodesEnvelope(w, r)
}

// writeNodesEnvelope answers cache-clearing calls with Elasticsearch's
// per-node envelope, listing the nodes that are up.
func (s *Server) writeNodesEnvelope(w http.ResponseWriter, r *http.Request) error {
	members, _ := s.cluster.Members()
	nodes := map[string]any{}
	for _, m := range members {
		if m.Alive {
			nodes[m.ID] = map[string]string{"name": m.ID}
		}
	}
	writeJSON(w, r, http.StatusOK, map[string]any{
		"_nodes":       map[string]int{"total": len(nodes), "successful": len(nodes), "failed": 0},
		"cluster_name": s.cfg.ClusterName, "nodes": nodes,
	})
	return nil
}
