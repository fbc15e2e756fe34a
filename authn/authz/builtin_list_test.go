package authz

import (
	"slices"
	"testing"
)

// TestBuiltinPrivilegeLists pins the lists to Elasticsearch 8.17's
// GET /_security/privilege/_builtin (privileges/11_builtin.yml counts).
func TestBuiltinPrivilegeLists(t *testing.T) {
	cluster := ClusterPrivilegeNames()
	if len(cluster) != 62 || len(IndexPrivilegeNames()) != 23 {
		t.Fatalf("cluster %d, index %d; 8.17 has 62 and 23", len(cluster), len(IndexPrivilegeNames()))
	}
	for _, want := range []string{"create_snapshot", "cross_cluster_search", "cross_cluster_replication", "monitor_stats",
		"manage_search_synonyms", "read_connector_secrets", "write_connector_secrets", "post_behavioral_analytics_event"} {
		if !slices.Contains(cluster, want) {
			t.Errorf("cluster privileges lack %s", want)
		}
	}
	if got := RemoteClusterPrivilegeNames(); !slices.Equal(got, []string{"monitor_enrich", "monitor_stats"}) {
		t.Errorf("remote_cluster: %v", got)
	}
	if !slices.IsSorted(cluster) || len(slices.Compact(slices.Clone(cluster))) != len(cluster) {
		t.Errorf("cluster privileges not sorted and distinct: %v", cluster)
	}
}
