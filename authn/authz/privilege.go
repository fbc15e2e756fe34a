package authz

import (
	"maps"
	"slices"
	"strings"
)

// clusterPrivilege is a named cluster privilege: the action patterns it
// grants, minus the ones it excludes.
type clusterPrivilege struct {
	name     string
	grants   []string
	excludes []string
}

// SecPrefix starts the security actions, which manage_security grants.
const SecPrefix = "cluster:admin/xpack/security/"

// OwnerPrefix names the actions that hand over the whole cluster (joining a
// member, replacing the state from a backup): no privilege short of all
// grants them, so manage excludes them as it excludes security.
const OwnerPrefix = "cluster:admin/tokenstore/owner/"

// actionAddVotingExclusions removes a member for good here (Elasticsearch
// keeps it until the exclusions are cleared) and only join, which needs
// all, brings it back: manage, which grants it in Elasticsearch, does not.
const actionAddVotingExclusions = "cluster:admin/voting_config/add_exclusions"

// Actions of tokenstore's own that no Elasticsearch privilege names.
const (
	// ActionBackup reads every credential hash: security's to give.
	ActionBackup = SecPrefix + "tokenstore/backup"
	// ActionRestore replaces the whole state; ActionJoin adds a member
	// that receives every write and the credentials forwarded with them.
	ActionRestore = OwnerPrefix + "restore"
	ActionJoin    = OwnerPrefix + "join"
)

// readSecurityActions is read_security's explicit list.
var readSecurityActions = []string{
	SecPrefix + "api_key/get", SecPrefix + "api_key/query", SecPrefix + "privilege/builtin/get",
	SecPrefix + "privilege/get", SecPrefix + "profile/get", SecPrefix + "profile/suggest",
	SecPrefix + "profile/has_privileges", SecPrefix + "role/get", SecPrefix + "role/query",
	SecPrefix + "role_mapping/get", SecPrefix + "service_account/get",
	SecPrefix + "service_account/credential/get", SecPrefix + "user/get", SecPrefix + "user/query",
	SecPrefix + "user/list_privileges", SecPrefix + "user/has_privileges", SecPrefix + "settings/get",
}

// clusterPrivileges are Elasticsearch 8.17's predefined cluster privileges
// (GET /_security/privilege/_builtin lists 62), ordered from narrow to broad; the 403 message lists
// the ones granting an action in this order, as Elasticsearch does.
var clusterPrivileges = []clusterPrivilege{
	{name: "none"},
	{name: "monitor", grants: []string{"cluster:monitor/*"}},
	{name: "monitor_ml", grants: []string{"cluster:monitor/xpack/ml/*"}},
	{name: "monitor_watcher", grants: []string{"cluster:monitor/xpack/watcher/*"}},
	{name: "monitor_rollup", grants: []string{"cluster:monitor/xpack/rollup/*"}},
	{name: "monitor_transform", grants: []string{"cluster:monitor/data_frame/*", "cluster:monitor/transform/*"}},
	{name: "monitor_data_frame_transforms", grants: []string{"cluster:monitor/data_frame/*", "cluster:monitor/transform/*"}},
	{name: "monitor_stats", grants: []string{"cluster:monitor/stats*"}},
	{name: "monitor_data_stream_global_retention", grants: []string{"cluster:monitor/data_stream/global_retention/*"}},
	{name: "monitor_snapshot", grants: []string{"cluster:admin/snapshot/status*", "cluster:admin/snapshot/get", "cluster:admin/repository/get"}},
	{name: "create_snapshot", grants: []string{"cluster:admin/snapshot/create", "cluster:admin/snapshot/status*", "cluster:admin/snapshot/get", "cluster:admin/repository/get"}},
	{name: "monitor_enrich", grants: []string{"cluster:admin/xpack/enrich/get"}},
	{name: "monitor_text_structure", grants: []string{"cluster:monitor/text_structure/*"}},
	{name: "read_ilm", grants: []string{"cluster:admin/ilm/get", "cluster:admin/ilm/operation_mode/get"}},
	{name: "read_slm", grants: []string{"cluster:admin/slm/get", "cluster:admin/ilm/operation_mode/get"}},
	{name: "read_ccr", grants: []string{"cluster:monitor/state", "cluster:monitor/xpack/ccr/*"}},
	{name: "read_pipeline", grants: []string{"cluster:admin/ingest/pipeline/get", "cluster:admin/ingest/pipeline/simulate"}},
	{name: "read_fleet_secrets", grants: []string{"cluster:admin/fleet/secrets/get"}},
	{name: "write_fleet_secrets", grants: []string{"cluster:admin/fleet/secrets/post", "cluster:admin/fleet/secrets/delete"}},
	{name: "read_connector_secrets", grants: []string{"cluster:admin/xpack/connector/secret/get"}},
	{name: "write_connector_secrets", grants: []string{"cluster:admin/xpack/connector/secret/post", "cluster:admin/xpack/connector/secret/put", "cluster:admin/xpack/connector/secret/delete"}},
	{name: "post_behavioral_analytics_event", grants: []string{"cluster:admin/xpack/application/analytics/post_event"}},
	{name: "cross_cluster_search", grants: []string{"cluster:internal/remote_cluster/handshake", "cluster:internal/remote_cluster/nodes", "cluster:monitor/xpack/info"}},
	{name: "cross_cluster_replication", grants: []string{"cluster:internal/remote_cluster/handshake", "cluster:internal/remote_cluster/nodes", "cluster:monitor/xpack/info", "cluster:monitor/state"}},
	{name: "cancel_task", grants: []string{"cluster:admin/tasks/cancel"}},
	{name: "delegate_pki", grants: []string{SecPrefix + "delegate_pki"}},
	{name: "grant_api_key", grants: []string{SecPrefix + "api_key/grant*"}},
	{name: "manage_own_api_key", grants: nil}, // ownership-scoped; checked by the API key service
	{name: "read_security", grants: readSecurityActions},
	// manage_saml before manage_token: each implies only "none", and
	// Elasticsearch breaks the tie by name (token/refresh's 403 lists
	// [manage_saml,manage_token,...]).
	{name: "manage_saml", grants: []string{SecPrefix + "saml/*", SecPrefix + "token/invalidate", SecPrefix + "token/refresh"}},
	{name: "manage_token", grants: []string{SecPrefix + "token/*"}},
	{name: "manage_api_key", grants: []string{SecPrefix + "api_key/*"}},
	{name: "manage_service_account", grants: []string{SecPrefix + "service_account/*"}},
	{name: "manage_user_profile", grants: []string{SecPrefix + "profile/*"}},
	{name: "manage_oidc", grants: []string{SecPrefix + "oidc/*"}},
	{name: "manage_index_templates", grants: []string{"indices:admin/template/*", "indices:admin/index_template/*", "cluster:admin/component_template/*"}},
	{name: "manage_ingest_pipelines", grants: []string{"cluster:admin/ingest/pipeline/*"}},
	{name: "manage_pipeline", grants: []string{"cluster:admin/ingest/pipeline/*"}},
	{name: "manage_ilm", grants: []string{"cluster:admin/ilm/*"}},
	{name: "manage_slm", grants: []string{"cluster:admin/slm/*"}},
	{name: "manage_enrich", grants: []string{"cluster:admin/xpack/enrich/*"}},
	{name: "manage_transform", grants: []string{"cluster:admin/data_frame/*", "cluster:admin/transform/*"}},
	{name: "manage_data_frame_transforms", grants: []string{"cluster:admin/data_frame/*", "cluster:admin/transform/*"}},
	{name: "manage_data_stream_global_retention", grants: []string{"cluster:admin/data_stream/global_retention/*", "cluster:monitor/data_stream/global_retention/*"}},
	{name: "manage_ml", grants: []string{"cluster:admin/xpack/ml/*", "cluster:monitor/xpack/ml/*"}},
	{name: "manage_watcher", grants: []string{"cluster:admin/xpack/watcher/*", "cluster:monitor/xpack/watcher/*"}},
	{name: "manage_rollup", grants: []string{"cluster:admin/xpack/rollup/*", "cluster:monitor/xpack/rollup/*"}},
	{name: "manage_ccr", grants: []string{"cluster:admin/xpack/ccr/*", "cluster:monitor/state"}},
	{name: "manage_logstash_pipelines", grants: []string{"cluster:admin/logstash/pipeline/*"}},
	{name: "manage_autoscaling", grants: []string{"cluster:admin/autoscaling/*"}},
	{name: "manage_inference", grants: []string{"cluster:admin/xpack/inference/*", "cluster:monitor/xpack/inference*"}},
	{name: "monitor_inference", grants: []string{"cluster:monitor/xpack/inference*"}},
	{name: "manage_search_application", grants: []string{"cluster:admin/xpack/application/search_application/*"}},
	{name: "manage_behavioral_analytics", grants: []string{"cluster:admin/xpack/application/analytics/*"}},
	{name: "manage_search_query_rules", grants: []string{"cluster:admin/xpack/query_rules/*"}},
	{name: "manage_search_synonyms", grants: []string{"cluster:admin/synonyms/*", "cluster:admin/synonyms_sets/*", "cluster:admin/synonym_rules/*"}},
	{name: "monitor_connector", grants: []string{"cluster:monitor/xpack/connector/*"}},
	{name: "manage_connector", grants: []string{"cluster:admin/xpack/connector/*", "cluster:monitor/xpack/connector/*"}},
	{name: "transport_client", grants: []string{"cluster:monitor/nodes/liveness", "cluster:monitor/state"}},
	{name: "manage_security", grants: []string{SecPrefix + "*"}},
	{name: "manage", grants: []string{"cluster:*"}, excludes: []string{SecPrefix + "*", OwnerPrefix + "*", actionAddVotingExclusions}},
	{name: "all", grants: []string{"cluster:*"}},
}

var clusterPrivilegeByName = func() map[string]*clusterPrivilege {
	m := make(map[string]*clusterPrivilege, len(clusterPrivileges))
	for i := range clusterPrivileges {
		m[clusterPrivileges[i].name] = &clusterPrivileges[i]
	}
	return m
}()

// ClusterPrivilegeNames lists the predefined cluster privileges, sorted.
func ClusterPrivilegeNames() []string {
	out := make([]string, 0, len(clusterPrivileges))
	for _, p := range clusterPrivileges {
		out = append(out, p.name)
	}
	slices.Sort(out)
	return out
}

func (p *clusterPrivilege) grantsAction(action string) bool {
	for _, x := range p.excludes {
		if GlobMatch(x, action) {
			return false
		}
	}
	for _, g := range p.grants {
		if GlobMatch(g, action) {
			return true
		}
	}
	return false
}

// clusterEntryGrants reports whether one entry of a role's cluster list (a
// privilege name or an action pattern) grants the action.
func clusterEntryGrants(entry, action string) bool {
	if p, ok := clusterPrivilegeByName[entry]; ok {
		return p.grantsAction(action)
	}
	return strings.HasPrefix(entry, "cluster:") && GlobMatch(entry, action)
}

// ValidClusterEntry reports whether a role may list entry under cluster.
func ValidClusterEntry(entry string) bool {
	_, ok := clusterPrivilegeByName[entry]
	return ok || strings.HasPrefix(entry, "cluster:") || strings.HasPrefix(entry, "indices:admin/template/") ||
		strings.HasPrefix(entry, "indices:admin/index_template/")
}

// PrivilegesGranting lists the named privileges that grant an action, for
// the 403 message.
func PrivilegesGranting(action string) []string {
	var out []string
	for i := range clusterPrivileges {
		p := &clusterPrivileges[i]
		if p.grantsAction(action) {
			out = append(out, p.name)
		}
	}
	return out
}

// indexPrivilegeImplies holds 8.17's 23 index privileges (read_failure_store
// is behind its feature flag there, manage_failure_store came later) and
// which index privileges each covers; a privilege always covers itself and "all" covers everything.
var indexPrivilegeImplies = map[string][]string{
	"all":                                nil,
	"none":                               {},
	"read":                               {"read_cross_cluster"},
	"read_cross_cluster":                 {},
	"write":                              {"index", "create", "create_doc", "delete"},
	"index":                              {"create", "create_doc"},
	"create":                             {"create_doc"},
	"create_doc":                         {},
	"delete":                             {},
	"manage":                             {"monitor", "view_index_metadata", "create_index", "delete_index", "maintenance", "manage_ilm", "auto_configure", "manage_data_stream_lifecycle", "manage_follow_index", "manage_leader_index"},
	"monitor":                            {},
	"view_index_metadata":                {},
	"create_index":                       {},
	"delete_index":                       {},
	"auto_configure":                     {},
	"maintenance":                        {},
	"manage_ilm":                         {},
	"manage_follow_index":                {},
	"manage_leader_index":                {},
	"cross_cluster_replication":          {},
	"cross_cluster_replication_internal": {},
	"manage_data_stream_lifecycle":       {},
	"read_failure_store":                 {},
}

// ValidIndexPrivilege reports whether a role may list p as an index privilege.
func ValidIndexPrivilege(p string) bool {
	_, ok := indexPrivilegeImplies[p]
	return ok || strings.HasPrefix(p, "indices:")
}

// indexPrivilegeCovers reports whether a granted index privilege covers a
// requested one (a name or an action).
func indexPrivilegeCovers(granted, requested string) bool {
	if granted == "all" || granted == requested {
		return true
	}
	if strings.HasPrefix(granted, "indices:") {
		return GlobMatch(granted, requested)
	}
	return slices.Contains(indexPrivilegeImplies[granted], requested)
}

// IndexPrivilegeNames lists the predefined index privileges, sorted.
func IndexPrivilegeNames() []string { return slices.Sorted(maps.Keys(indexPrivilegeImplies)) }

// remoteClusterPrivileges are the privileges a role may grant under
// remote_cluster (RemoteClusterPermissions in 8.17).
var remoteClusterPrivileges = []string{"monitor_enrich", "monitor_stats"}

// RemoteClusterPrivilegeNames lists the remote_cluster privileges, sorted.
func RemoteClusterPrivilegeNames() []string { return slices.Clone(remoteClusterPrivileges) }
