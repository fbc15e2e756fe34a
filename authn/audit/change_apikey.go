package audit

import (
	"encoding/json"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tokenstore/tokenstore/authn"
	"github.com/tokenstore/tokenstore/fsm"
)

// grantPath is the grant API key route: its key is created for the user
// the body names.
const grantPath = "/_security/api_key/grant"

type apiKeyCreateBody struct {
	ID              string           `json:"id"`
	Name            string           `json:"name"`
	Type            string           `json:"type"`
	Expiration      *string          `json:"expiration"`
	RoleDescriptors []descriptorBody `json:"role_descriptors"`
	Metadata        json.RawMessage  `json:"metadata,omitempty"`
}

// createBody is the create object: the key and, for a grant, the grant.
type createBody struct {
	APIKey apiKeyCreateBody `json:"apikey"`
	Grant  *grantBody       `json:"grant,omitempty"`
}

type grantBody struct {
	Type           string         `json:"type"`
	User           *grantUserBody `json:"user,omitempty"`
	HasAccessToken bool           `json:"has_access_token,omitempty"`
	RunAs          string         `json:"run_as,omitempty"`
}

type grantUserBody struct {
	Name        string `json:"name"`
	HasPassword bool   `json:"has_password"`
}

func apiKeyCreated(k fsm.APIKey, c authn.Caller, body []byte) change {
	out := createBody{APIKey: apiKeyCreateBody{ID: k.ID, Name: k.Name, Type: k.Type, RoleDescriptors: descriptors(k.RoleDescriptors),
		Metadata: nonEmptyObject(k.Metadata)}}
	if k.Expiration > 0 {
		tv := timeValue(time.Duration(k.Expiration-k.Creation) * time.Millisecond)
		out.APIKey.Expiration = &tv
	}
	if c.Request != nil && c.Request.URL.Path == grantPath {
		out.Grant = grant(k, c, body)
	}
	return mk("create_apikey", "create", out)
}

// grant describes a grant from its request body: the grant type, the user
// and whether a password or an access token came, never their values.
func grant(k fsm.APIKey, c authn.Caller, body []byte) *grantBody {
	var req struct {
		GrantType   string          `json:"grant_type"`
		Username    string          `json:"username"`
		Password    json.RawMessage `json:"password"`
		AccessToken json.RawMessage `json:"access_token"`
		RunAs       string          `json:"run_as"`
	}
	if body == nil || json.Unmarshal(body, &req) != nil {
		// Without the body, the subject credential tells the grant type.
		if strings.HasPrefix(c.Subject, "Bearer ") {
			return &grantBody{Type: "access_token", HasAccessToken: true}
		}
		return &grantBody{Type: "password", User: &grantUserBody{Name: k.Creator.Principal, HasPassword: true}}
	}
	g := &grantBody{Type: req.GrantType, HasAccessToken: len(req.AccessToken) > 0, RunAs: req.RunAs}
	if req.Username != "" {
		g.User = &grantUserBody{Name: req.Username, HasPassword: len(req.Password) > 0}
	}
	return g
}

// descriptors lists an API key's role descriptors, which Elasticsearch
// shows without their names, in the order of their names.
func descriptors(m map[string]fsm.RoleDescriptor) []descriptorBody {
	out := []descriptorBody{}
	for _, name := range slices.Sorted(maps.Keys(m)) {
		out = append(out, descriptor(m[name]))
	}
	return out
}

// updateBody is the base of change_apikey's and change_apikeys' objects.
type updateBody struct {
	ID              string           `json:"id,omitempty"`
	IDs             []string         `json:"ids,omitempty"`
	Type            string           `json:"type"`
	RoleDescriptors []descriptorBody `json:"role_descriptors,omitempty"`
	Metadata        json.RawMessage  `json:"metadata,omitempty"`
	Expiration      *string          `json:"expiration"`
}

// apiKeyUpdated is change_apikey, or change_apikeys for the bulk update
// route; the ids and the expiration as the request gave them.
func apiKeyUpdated(p fsm.APIKeyUpdatedV2, c authn.Caller, body []byte) change {
	var req struct {
		IDs        []string `json:"ids"`
		Expiration *string  `json:"expiration"`
	}
	if body != nil {
		json.Unmarshal(body, &req)
	}
	out := updateBody{Type: "rest"}
	if p.RoleDescriptors != nil {
		out.RoleDescriptors = descriptors(*p.RoleDescriptors)
	}
	if p.Metadata != nil {
		if out.Metadata = nonEmptyObject(*p.Metadata); out.Metadata == nil {
			out.Metadata = json.RawMessage(`{}`)
		}
	}
	if req.Expiration != nil {
		if d, err := authn.ParseTimeValue("expiration", *req.Expiration); err == nil {
			tv := timeValue(d)
			out.Expiration = &tv
		}
	}
	if c.Request != nil && strings.HasSuffix(c.Request.URL.Path, "/_bulk_update") {
		out.IDs = nonNil(req.IDs)
		if req.IDs == nil {
			out.IDs = nonNil(p.IDs)
		}
		return mk("change_apikeys", "change", obj{"apikeys", out})
	}
	if len(p.IDs) > 0 {
		out.ID = p.IDs[0]
	}
	return mk("change_apikey", "change", obj{"apikey", out})
}

type invalidationBody struct {
	IDs   []string         `json:"ids,omitempty"`
	Name  string           `json:"name,omitempty"`
	Owned bool             `json:"owned_by_authenticated_user"`
	User  *invalidatedUser `json:"user,omitempty"`
}

type invalidatedUser struct {
	Name  *string `json:"name"`
	Realm *string `json:"realm"`
}

// invalidation is what the request asked to invalidate, as Elasticsearch
// shows it; the resolved ids when the body is not at hand.
func invalidation(ids []string, body []byte) invalidationBody {
	var req struct {
		IDs       []string        `json:"ids"`
		ID        string          `json:"id"`
		Name      string          `json:"name"`
		Username  string          `json:"username"`
		RealmName string          `json:"realm_name"`
		Owner     json.RawMessage `json:"owner"`
	}
	if body == nil || json.Unmarshal(body, &req) != nil {
		return invalidationBody{IDs: ids}
	}
	out := invalidationBody{IDs: req.IDs, Name: req.Name}
	if req.ID != "" {
		out.IDs = []string{req.ID}
	}
	owner := strings.Trim(string(req.Owner), `"`)
	out.Owned = owner == "true"
	if req.Username != "" || req.RealmName != "" {
		out.User = &invalidatedUser{Name: optional(req.Username), Realm: optional(req.RealmName)}
	}
	return out
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// timeValue writes a duration as Elasticsearch's TimeValue.toString: in
// the largest unit it reaches, with at most one decimal, truncated (36h is
// 1.5d, 90m is 1.5h, 7d is 7d).
func timeValue(d time.Duration) string {
	if d <= 0 {
		return "0s"
	}
	units := []struct {
		size time.Duration
		name string
	}{{24 * time.Hour, "d"}, {time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}, {time.Millisecond, "ms"}, {time.Microsecond, "micros"}}
	for _, u := range units {
		if d >= u.size {
			whole, tenth := int64(d/u.size), int64(d%u.size*10/u.size)
			if tenth == 0 {
				return strconv.FormatInt(whole, 10) + u.name
			}
			return strconv.FormatInt(whole, 10) + "." + strconv.FormatInt(tenth, 10) + u.name
		}
	}
	return strconv.FormatInt(int64(d), 10) + "nanos"
}
