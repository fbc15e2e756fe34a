package console

import "net/http"

// privs is what the signed-in caller may do, from _has_privileges: the
// console offers nothing else (and the API would refuse it anyway).
type privs struct {
	User string
	// Monitor: the cluster page.
	Monitor bool
	// ReadSecurity: users, roles, service accounts and every API key.
	ReadSecurity bool
	// ManageSecurity: change users and roles.
	ManageSecurity bool
	// AllKeys: see and invalidate every API key; OwnKeys: one's own.
	AllKeys, ManageAllKeys, OwnKeys bool
	// Tokens: invalidate tokens by user or realm.
	Tokens bool
	// ServiceAccounts: create and delete service tokens.
	ServiceAccounts bool
	// APIKeyAuth: the session is an API key, which cannot update keys.
	APIKeyAuth bool
}

// Keys says the API keys page is offered; CreateKeys that keys may be made.
func (p privs) Keys() bool       { return p.AllKeys || p.OwnKeys }
func (p privs) CreateKeys() bool { return p.ManageAllKeys || p.OwnKeys }
func (p privs) Security() bool   { return p.ReadSecurity || p.ManageSecurity }

var askedPrivileges = []string{"monitor", "read_security", "manage_security", "manage_api_key",
	"manage_own_api_key", "manage_token", "manage_service_account"}

func (c *Console) privileges(q *request) (privs, answer) {
	a := c.api(q, http.MethodPost, "/_security/user/_has_privileges", map[string]any{"cluster": askedPrivileges})
	var hp struct {
		Username string          `json:"username"`
		Cluster  map[string]bool `json:"cluster"`
	}
	if !a.OK() || a.decode(&hp) != nil {
		return privs{}, a
	}
	has := hp.Cluster
	p := privs{User: hp.Username, Monitor: has["monitor"], ReadSecurity: has["read_security"] || has["manage_security"],
		ManageSecurity: has["manage_security"], ManageAllKeys: has["manage_api_key"] || has["manage_security"],
		OwnKeys: has["manage_own_api_key"] || has["manage_api_key"], Tokens: has["manage_token"],
		ServiceAccounts: has["manage_service_account"] || has["manage_security"],
		APIKeyAuth:      !q.s.isToken()}
	p.AllKeys = p.ManageAllKeys || p.ReadSecurity
	return p, a
}
