package authz

import (
	"encoding/json"
	"maps"
	"slices"

	"github.com/tokenstore/tokenstore/fsm"
)

// builtinRoles are Elasticsearch's reserved roles that this service has.
// They cannot be written or deleted through the API.
var builtinRoles = map[string]fsm.RoleDescriptor{
	"superuser": {
		Cluster:      []string{"all"},
		Indices:      []fsm.IndicesPrivileges{{Names: []string{"*"}, Privileges: []string{"all"}, AllowRestrictedIndices: true}},
		Applications: []fsm.ApplicationPrivileges{{Application: "*", Privileges: []string{"*"}, Resources: []string{"*"}}},
		RunAs:        []string{"*"},
		Metadata:     json.RawMessage(`{"_reserved":true}`),
	},
	"kibana_system": {
		Cluster: []string{"monitor", "manage_index_templates", "manage_saml", "manage_token", "manage_oidc",
			"manage_pipeline", "manage_ilm", "manage_own_api_key", "grant_api_key", "delegate_pki",
			SecPrefix + "api_key/invalidate", SecPrefix + "privilege/builtin/get", "cancel_task"},
		Indices:  []fsm.IndicesPrivileges{{Names: []string{".kibana*", ".reporting-*"}, Privileges: []string{"all"}, AllowRestrictedIndices: true}},
		Metadata: json.RawMessage(`{"_reserved":true}`),
	},
	"logstash_system":             {Cluster: []string{"monitor", "cluster:admin/xpack/monitoring/bulk"}, Metadata: json.RawMessage(`{"_reserved":true}`)},
	"beats_system":                {Cluster: []string{"monitor", "cluster:admin/xpack/monitoring/bulk"}, Metadata: json.RawMessage(`{"_reserved":true}`)},
	"apm_system":                  {Cluster: []string{"monitor", "cluster:admin/xpack/monitoring/bulk"}, Metadata: json.RawMessage(`{"_reserved":true}`)},
	"remote_monitoring_collector": {Cluster: []string{"monitor"}, Indices: []fsm.IndicesPrivileges{{Names: []string{"*"}, Privileges: []string{"monitor"}, AllowRestrictedIndices: true}}, Metadata: json.RawMessage(`{"_reserved":true}`)},
	"remote_monitoring_agent":     {Cluster: []string{"manage_index_templates", "manage_ingest_pipelines", "monitor", "cluster:monitor/xpack/watcher/watch/get", "cluster:admin/xpack/watcher/watch/put", "cluster:admin/xpack/watcher/watch/delete"}, Indices: []fsm.IndicesPrivileges{{Names: []string{".monitoring-*", "metricbeat-*"}, Privileges: []string{"all"}}}, Metadata: json.RawMessage(`{"_reserved":true}`)},
	"viewer":                      {Indices: []fsm.IndicesPrivileges{{Names: []string{"*"}, Privileges: []string{"read", "view_index_metadata"}}}, Metadata: json.RawMessage(`{"_reserved":true}`)},
	"editor":                      {Indices: []fsm.IndicesPrivileges{{Names: []string{"*"}, Privileges: []string{"read", "view_index_metadata", "write"}}}, Metadata: json.RawMessage(`{"_reserved":true}`)},
	"monitoring_user":             {Cluster: []string{"cluster:monitor/main"}, Indices: []fsm.IndicesPrivileges{{Names: []string{".monitoring-*"}, Privileges: []string{"read", "read_cross_cluster"}}}, Metadata: json.RawMessage(`{"_reserved":true}`)},
}

// BuiltinRole is a built-in role's descriptor.
func BuiltinRole(name string) (fsm.RoleDescriptor, bool) {
	d, ok := builtinRoles[name]
	return d, ok
}

// BuiltinRoleNames lists the built-in roles, sorted.
func BuiltinRoleNames() []string { return slices.Sorted(maps.Keys(builtinRoles)) }

// IsReservedRole reports whether a role name belongs to a built-in role.
func IsReservedRole(name string) bool {
	_, ok := builtinRoles[name]
	return ok
}

var fleetIndices = []fsm.IndicesPrivileges{
	{Names: []string{"logs-*", "metrics-*", "traces-*", ".logs-endpoint.diagnostic.collection-*", ".logs-endpoint.action.responses-*", ".logs-endpoint.heartbeat-*"},
		Privileges: []string{"write", "create_index", "auto_configure"}},
	{Names: []string{"profiling-*"}, Privileges: []string{"read", "write"}},
	{Names: []string{"traces-apm.sampled-*"}, Privileges: []string{"read", "monitor", "maintenance"}},
	{Names: []string{".fleet-secrets*"}, Privileges: []string{"read"}, AllowRestrictedIndices: true},
	{Names: []string{".fleet-actions*", ".fleet-agents*", ".fleet-artifacts*", ".fleet-enrollment-api-keys*", ".fleet-policies*", ".fleet-policies-leader*", ".fleet-servers*", ".fleet-fileds*"},
		Privileges: []string{"read", "write", "monitor", "create_index", "auto_configure", "maintenance"}, AllowRestrictedIndices: true},
	{Names: []string{"synthetics-*"}, Privileges: []string{"read", "write", "create_index", "auto_configure"}},
	{Names: []string{".elastic-connectors*", "content-*", ".search-acl-filter-*", "agentless-*"},
		Privileges: []string{"read", "write", "monitor", "create_index", "auto_configure", "maintenance", "view_index_metadata"}},
}

// serviceAccounts are the built-in accounts, each with its fixed role
// descriptor, after Elasticsearch's ElasticServiceAccounts.
var serviceAccounts = map[string]fsm.RoleDescriptor{
	"elastic/fleet-server": {
		Cluster:      []string{"monitor", "manage_own_api_key", "read_fleet_secrets", "cluster:admin/xpack/connector/*"},
		Indices:      fleetIndices,
		Applications: []fsm.ApplicationPrivileges{{Application: "kibana-*", Privileges: []string{"reserved_fleet-setup"}, Resources: []string{"*"}}},
	},
	"elastic/fleet-server-remote": {
		Cluster: []string{"monitor", "manage_own_api_key"},
		Indices: []fsm.IndicesPrivileges{{Names: []string{"logs-*", "metrics-*", "traces-*"}, Privileges: []string{"write", "create_index", "auto_configure"}}},
	},
	"elastic/kibana": {
		Cluster: builtinRoles["kibana_system"].Cluster,
		Indices: builtinRoles["kibana_system"].Indices,
	},
	"elastic/enterprise-search-server": {
		Cluster: []string{"manage", "manage_security"},
		Indices: []fsm.IndicesPrivileges{{Names: []string{"search-*", ".elastic-analytics-collections", ".ent-search-*", ".monitoring-ent-search-*",
			"metricbeat-ent-search-*", "enterprise-search-*", "logs-app_search.analytics-default", "logs-elastic_analytics.events-*",
			"logs-enterprise_search.api-default", "logs-enterprise_search.audit-default", "logs-app_search.search_relevance_suggestions-default",
			"logs-crawler-default", "logs-elastic_crawler-default", "logs-workplace_search.analytics-default",
			"logs-workplace_search.content_events-default", ".elastic-connectors*"},
			Privileges: []string{"manage", "read", "write"}}},
	},
	"elastic/auto-ops": {
		Cluster: []string{"monitor", "read_ilm", "read_slm"},
		Indices: []fsm.IndicesPrivileges{{Names: []string{"*"}, Privileges: []string{"monitor", "view_index_metadata"}, AllowRestrictedIndices: true}},
	},
}

// ServiceAccount is a built-in account's fixed role descriptor; principal
// is "namespace/service".
func ServiceAccount(principal string) (fsm.RoleDescriptor, bool) {
	d, ok := serviceAccounts[principal]
	return d, ok
}

// ServiceAccountNames lists the built-in accounts, sorted.
func ServiceAccountNames() []string { return slices.Sorted(maps.Keys(serviceAccounts)) }
