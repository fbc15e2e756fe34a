package authz

import (
	"strings"
	"testing"

	"github.com/tokenstore/tokenstore/fsm"
)

func TestValidateRemote(t *testing.T) {
	long := strings.Repeat("d", 1001)
	ok := "fine"
	read := fsm.IndicesPrivileges{Names: []string{"logs"}, Privileges: []string{"read"}}
	cases := []struct {
		name string
		d    fsm.RoleDescriptor
		want string // "" when accepted
	}{
		{"everything", fsm.RoleDescriptor{Description: &ok, RemoteIndices: []fsm.RemoteIndicesPrivilege{{Clusters: []string{"c"}, IndicesPrivileges: read}},
			RemoteCluster: []fsm.RemoteClusterPrivilege{{Privileges: []string{"monitor_enrich", "monitor_stats"}, Clusters: []string{"*"}}}}, ""},
		{"long description", fsm.RoleDescriptor{Description: &long}, "Role description must be less than 1000 characters."},
		{"remote indices without clusters", fsm.RoleDescriptor{RemoteIndices: []fsm.RemoteIndicesPrivilege{{IndicesPrivileges: read}}},
			"remote index privileges must refer to at least one cluster alias or cluster alias pattern"},
		{"remote indices, unknown privilege", fsm.RoleDescriptor{RemoteIndices: []fsm.RemoteIndicesPrivilege{{Clusters: []string{"c"},
			IndicesPrivileges: fsm.IndicesPrivileges{Names: []string{"a"}, Privileges: []string{"reed"}}}}}, "unknown index privilege [reed]"},
		{"remote cluster without clusters", fsm.RoleDescriptor{RemoteCluster: []fsm.RemoteClusterPrivilege{{Privileges: []string{"monitor_enrich"}}}},
			"remote cluster privileges must refer to at least one cluster alias or cluster alias pattern"},
		{"remote cluster, other privileges", fsm.RoleDescriptor{RemoteCluster: []fsm.RemoteClusterPrivilege{{Privileges: []string{"all", "monitor_stats", "all", "manage"}, Clusters: []string{"c"}}}},
			"Invalid remote_cluster permissions found. Please remove the following: [all, manage] Only [monitor_enrich, monitor_stats] are allowed"},
	}
	for _, c := range cases {
		err := ValidateRoleDescriptor(c.d)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: refused: %v", c.name, err)
		case c.want != "" && (err == nil || !strings.HasPrefix(err.Error(), c.want)):
			t.Errorf("%s: got %v, want %q", c.name, err, c.want)
		}
	}
}
