package audit

import (
	"bytes"
	"encoding/json"
	"strings"

	"github.com/tokenstore/tokenstore/authn"
	"github.com/tokenstore/tokenstore/fsm"
)

// change is a security_config_change: its event.action, the field its
// object goes under and the object.
type change struct {
	action, field string
	body          json.RawMessage
}

// describeChange builds the object Elasticsearch's LoggingAuditTrail
// writes for a write of payload p, made for caller c whose request body
// (if captured) was body. Payloads hold hashes, so the objects are built
// field by field from what may be shown; ok is false for writes that are
// no security configuration change (tokens, the leader's own events).
func describeChange(p fsm.Payload, c authn.Caller, body []byte) (change, bool) {
	switch p := p.(type) {
	case fsm.UserPutV1:
		return mk("put_user", "put", obj{"user", userPut(p.User)}), true
	case fsm.UserDeletedV1:
		return mk("delete_user", "delete", obj{"user", named{p.Username}}), true
	case fsm.UserEnabledSetV1:
		if p.Enabled {
			return mk("change_enable_user", "change", obj{"enable", obj{"user", named{p.Username}}}), true
		}
		return mk("change_disable_user", "change", obj{"disable", obj{"user", named{p.Username}}}), true
	case fsm.UserPasswordChangedV1:
		return mk("change_password", "change", obj{"password", obj{"user", named{p.Username}}}), true
	case fsm.RolePutV1:
		return mk("put_role", "put", obj{"role", rolePut{p.Name, descriptor(p.Descriptor)}}), true
	case fsm.RolePutV2:
		return mk("put_role", "put", obj{"role", rolePut{p.Name, descriptor(p.Descriptor)}}), true
	case fsm.RoleDeletedV1:
		return mk("delete_role", "delete", obj{"role", named{p.Name}}), true
	case fsm.ApplicationPrivilegePutV1:
		return mk("put_privileges", "put", obj{"privileges", privileges(p.Privileges)}), true
	case fsm.ApplicationPrivilegeDeletedV1:
		return mk("delete_privileges", "delete", obj{"privileges", privilegesDeleted{p.Application, nonNil(p.Names)}}), true
	case fsm.APIKeyCreatedV1:
		return apiKeyCreated(p.Key, c, body), true
	case fsm.APIKeyCreatedV2:
		return apiKeyCreated(p.Key, c, body), true
	case fsm.APIKeyUpdatedV1:
		return apiKeyUpdated(p.AsV2(), c, body), true
	case fsm.APIKeyUpdatedV2:
		return apiKeyUpdated(p, c, body), true
	case fsm.APIKeyUpdatedV3:
		return apiKeyUpdated(fsm.APIKeyUpdatedV2(p), c, body), true
	case fsm.APIKeysInvalidatedV1:
		return mk("invalidate_apikeys", "invalidate", obj{"apikeys", invalidation(p.IDs, body)}), true
	case fsm.ServiceTokenCreatedV1:
		t := p.Token
		return mk("create_service_token", "create", obj{"service_token", serviceToken{t.Namespace, t.Service, t.Name}}), true
	case fsm.ServiceTokenDeletedV1:
		parts := strings.SplitN(p.Qualified, "/", 3)
		if len(parts) != 3 {
			return change{}, false
		}
		return mk("delete_service_token", "delete", obj{"service_token", serviceToken{parts[0], parts[1], parts[2]}}), true
	case fsm.ProfileDataUpdatedV1:
		return mk("update_user_profile_data", "put", obj{"profile", profileData{p.UID, orEmpty(p.Labels), orEmpty(p.Data)}}), true
	case fsm.ProfileEnabledSetV1:
		if p.Enabled {
			return mk("change_enable_user_profile", "change", obj{"enable", obj{"profile", profileUID{p.UID}}}), true
		}
		return mk("change_disable_user_profile", "change", obj{"disable", obj{"profile", profileUID{p.UID}}}), true
	}
	return change{}, false
}

func mk(action, field string, v any) change {
	return change{action: action, field: field, body: marshal(v)}
}

// marshal writes compact JSON without HTML escaping, as Elasticsearch's
// XContentBuilder does.
func marshal(v any) json.RawMessage {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return json.RawMessage(`{}`)
	}
	return bytes.TrimRight(b.Bytes(), "\n")
}

// obj is a one-field JSON object {key: value}.
type obj struct {
	key   string
	value any
}

func (o obj) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	b.Write(appendString(nil, o.key))
	b.WriteByte(':')
	b.Write(marshal(o.value))
	b.WriteByte('}')
	return b.Bytes(), nil
}

type named struct {
	Name string `json:"name"`
}

type profileUID struct {
	UID string `json:"uid"`
}

type profileData struct {
	UID    string          `json:"uid"`
	Labels json.RawMessage `json:"labels"`
	Data   json.RawMessage `json:"data"`
}

func orEmpty(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 {
		return json.RawMessage(`{}`)
	}
	return raw
}

type serviceToken struct {
	Namespace string `json:"namespace"`
	Service   string `json:"service"`
	Name      string `json:"name"`
}

// userPutBody never holds the password or its hash: has_password says
// whether the write set one.
type userPutBody struct {
	Name        string          `json:"name"`
	Enabled     bool            `json:"enabled"`
	Roles       []string        `json:"roles"`
	FullName    *string         `json:"full_name,omitempty"`
	Email       *string         `json:"email,omitempty"`
	HasPassword bool            `json:"has_password"`
	Metadata    json.RawMessage `json:"metadata,omitempty"`
}

func userPut(u fsm.User) userPutBody {
	return userPutBody{Name: u.Username, Enabled: u.Enabled, Roles: nonNil(u.Roles), FullName: u.FullName, Email: u.Email,
		HasPassword: u.PasswordHash != "", Metadata: nonEmptyObject(u.Metadata)}
}

type rolePut struct {
	Name           string         `json:"name"`
	RoleDescriptor descriptorBody `json:"role_descriptor"`
}

type descriptorBody struct {
	Cluster      []string                    `json:"cluster"`
	Global       json.RawMessage             `json:"global,omitempty"`
	Indices      []indicesBody               `json:"indices"`
	Applications []fsm.ApplicationPrivileges `json:"applications"`
	RunAs        []string                    `json:"run_as"`
	Metadata     json.RawMessage             `json:"metadata,omitempty"`
}

type indicesBody struct {
	Names                  []string        `json:"names"`
	Privileges             []string        `json:"privileges"`
	FieldSecurity          json.RawMessage `json:"field_security,omitempty"`
	Query                  string          `json:"query,omitempty"`
	AllowRestrictedIndices bool            `json:"allow_restricted_indices,omitempty"`
}

func descriptor(d fsm.RoleDescriptor) descriptorBody {
	out := descriptorBody{Cluster: nonNil(d.Cluster), Global: nonEmptyObject(d.Global), Indices: []indicesBody{},
		Applications: []fsm.ApplicationPrivileges{}, RunAs: nonNil(d.RunAs), Metadata: nonEmptyObject(d.Metadata)}
	for _, ip := range d.Indices {
		out.Indices = append(out.Indices, indicesBody{Names: nonNil(ip.Names), Privileges: nonNil(ip.Privileges),
			FieldSecurity: nonEmptyObject(ip.FieldSecurity), Query: queryText(ip.Query), AllowRestrictedIndices: ip.AllowRestrictedIndices})
	}
	for _, ap := range d.Applications {
		ap.Privileges, ap.Resources = nonNil(ap.Privileges), nonNil(ap.Resources)
		out.Applications = append(out.Applications, ap)
	}
	return out
}

// queryText is a document-level security query as the text Elasticsearch
// shows: a query given as a JSON string is that string.
func queryText(q json.RawMessage) string {
	if len(q) == 0 || string(q) == "null" {
		return ""
	}
	var s string
	if json.Unmarshal(q, &s) == nil {
		return s
	}
	var b bytes.Buffer
	if json.Compact(&b, q) != nil {
		return string(q)
	}
	return b.String()
}

type privilegeBody struct {
	Application string          `json:"application"`
	Name        string          `json:"name"`
	Actions     []string        `json:"actions"`
	Metadata    json.RawMessage `json:"metadata"`
}

func privileges(ps []fsm.ApplicationPrivilege) []privilegeBody {
	out := []privilegeBody{}
	for _, p := range ps {
		md := nonEmptyObject(p.Metadata)
		if md == nil {
			md = json.RawMessage(`{}`)
		}
		out = append(out, privilegeBody{p.Application, p.Name, nonNil(p.Actions), md})
	}
	return out
}

type privilegesDeleted struct {
	Application string   `json:"application"`
	Privileges  []string `json:"privileges"`
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// nonEmptyObject is raw JSON compacted, nil for nothing, null or {}.
func nonEmptyObject(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 {
		return nil
	}
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		return nil
	}
	if s := b.String(); s == "{}" || s == "null" {
		return nil
	}
	return b.Bytes()
}
