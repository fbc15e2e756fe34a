package authz

import (
	"slices"
	"testing"
)

// TestBuiltinPrivilegeLists pins the lists to Elasticsearch 8.17's
// GET /_security/privilege/_builtin (privileges/11_builtin.yml counts:
// 62 and 22 until the failure store privileges joined after 8.17).
func TestBuiltinPrivilegeLists(t *testing.T) {
	cluster := ClusterPrivilegeNames()
	if len(cluster) != 62 || len(IndexPrivilegeNames()) != 22 {
		t.Fatalf("cluster %d, index %d; 8.17 has 62 and 22", len(cluster), len(IndexPrivilegeNames()))
	}
	want := []string{"all", "auto_configure", "create", "create_doc", "create_index", "cross_cluster_replication",
		"cross_cluster_replication_internal", "delete", "delete_index", "index", "maintenance", "manage",
		"manage_data_stream_lifecycle", "manage_follow_index", "manage_ilm", "manage_leader_index", "monitor", "none",
		"read", "read_cross_cluster", "view_index_metadata", "write"}
	if got := IndexPrivilegeNames(); !slices.Equal(got, want) {
		t.Errorf("index privileges: %v, want %v", got, want)
	}
	if ValidIndexPrivilege("read_failure_store") || ValidIndexPrivilege("manage_failure_store") {
		t.Error("a failure store privilege is valid; 8.17 has none")
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
