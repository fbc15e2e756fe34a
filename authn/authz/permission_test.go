package authz

import (
	"slices"
	"testing"

	"github.com/tokenstore/tokenstore/fsm"
)

func TestClusterPrivileges(t *testing.T) {
	cases := []struct {
		cluster []string
		action  string
		want    bool
	}{
		{[]string{"all"}, "cluster:admin/xpack/security/user/put", true},
		{[]string{"manage"}, "cluster:admin/xpack/security/user/put", false},
		{[]string{"manage"}, "cluster:admin/voting_config/add_exclusions", false},
		{[]string{"all"}, "cluster:admin/voting_config/add_exclusions", true},
		{[]string{"manage"}, ActionBackup, false},
		{[]string{"manage"}, ActionRestore, false},
		{[]string{"manage"}, ActionJoin, false},
		{[]string{"manage_security"}, ActionBackup, true},
		{[]string{"manage_security"}, ActionRestore, false},
		{[]string{"manage_security"}, ActionJoin, false},
		{[]string{"all"}, ActionRestore, true},
		{[]string{"all"}, ActionJoin, true},
		{[]string{"monitor"}, "cluster:monitor/health", true},
		{[]string{"monitor"}, "cluster:admin/xpack/security/user/get", false},
		{[]string{"read_security"}, "cluster:admin/xpack/security/user/get", true},
		{[]string{"read_security"}, "cluster:admin/xpack/security/user/put", false},
		{[]string{"manage_security"}, "cluster:admin/xpack/security/role/delete", true},
		{[]string{"cluster:admin/xpack/security/user/*"}, "cluster:admin/xpack/security/user/delete", true},
		{[]string{"cluster:admin/xpack/security/user/*"}, "cluster:admin/xpack/security/role/delete", false},
		{[]string{"manage_api_key"}, "cluster:admin/xpack/security/api_key/invalidate", true},
		{[]string{"grant_api_key"}, "cluster:admin/xpack/security/api_key/grant", true},
		{[]string{"grant_api_key"}, "cluster:admin/xpack/security/api_key/invalidate", false},
		{nil, "cluster:monitor/health", false},
	}
	for _, tc := range cases {
		p := Permission{Descriptors: []fsm.RoleDescriptor{{Cluster: tc.cluster}}}
		if got := p.AllowsCluster(tc.action); got != tc.want {
			t.Errorf("%v allows %s: got %v, want %v", tc.cluster, tc.action, got, tc.want)
		}
	}
}

// Elasticsearch's ClusterPrivilegeResolver.sortByAccessLevel orders the
// privileges by how many others each implies, then by name: read_security
// implies none but "none", manage_api_key also grant_api_key and
// manage_own_api_key, so get and query API key name read_security first;
// manage_saml and manage_token imply only "none" and go by name.
func TestPrivilegesGrantingListsNarrowestFirst(t *testing.T) {
	for action, want := range map[string][]string{
		"cluster:admin/xpack/security/api_key/invalidate":  {"manage_api_key", "manage_security", "all"},
		"cluster:admin/xpack/security/api_key/get":         {"read_security", "manage_api_key", "manage_security", "all"},
		"cluster:admin/xpack/security/api_key/query":       {"read_security", "manage_api_key", "manage_security", "all"},
		"cluster:admin/xpack/security/api_key/bulk_update": {"manage_api_key", "manage_security", "all"},
		"cluster:admin/xpack/security/token/refresh":       {"manage_saml", "manage_token", "manage_security", "all"},
	} {
		if got := PrivilegesGranting(action); !slices.Equal(got, want) {
			t.Errorf("%s: got %v, want %v", action, got, want)
		}
	}
}

func TestIndexAndApplicationPrivileges(t *testing.T) {
	st := fsm.NewState()
	if _, err := st.ApplyEvent(1, fsm.MustEncode(fsm.ApplicationPrivilegePutV1{Privileges: []fsm.ApplicationPrivilege{
		{Application: "myapp", Name: "read", Actions: []string{"data:read/*"}},
		{Application: "myapp", Name: "admin", Actions: []string{"data:*", "action:*"}},
	}})); err != nil {
		t.Fatal(err)
	}
	p := Permission{Descriptors: []fsm.RoleDescriptor{{
		Indices:      []fsm.IndicesPrivileges{{Names: []string{"logs-*"}, Privileges: []string{"write"}}, {Names: []string{"index-b"}, Privileges: []string{"all"}}},
		Applications: []fsm.ApplicationPrivileges{{Application: "myapp", Privileges: []string{"read"}, Resources: []string{"res/*"}}},
	}}}
	idx := []struct {
		index, priv string
		want        bool
	}{
		{"logs-1", "index", true}, {"logs-1", "write", true}, {"logs-1", "read", false}, {"logs-*", "create_doc", true},
		{"*", "write", false}, {"index-b", "read", true}, {"index-b", "manage", true}, {".security-7", "read", false},
	}
	for _, tc := range idx {
		if got := p.HasIndexPrivilege(tc.index, tc.priv, false); got != tc.want {
			t.Errorf("index %s %s: got %v, want %v", tc.index, tc.priv, got, tc.want)
		}
	}
	apps := []struct {
		resource, priv string
		want           bool
	}{
		{"res/1", "read", true}, {"res/1", "data:read/x", true}, {"res/1", "data:write/x", false},
		{"res/1", "admin", false}, {"other", "read", false},
	}
	for _, tc := range apps {
		if got := p.HasApplicationPrivilege(st.ApplicationPrivileges("myapp"), "myapp", tc.resource, tc.priv); got != tc.want {
			t.Errorf("app myapp %s %s: got %v, want %v", tc.resource, tc.priv, got, tc.want)
		}
	}
}
