package authz

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"unicode/utf16"

	"github.com/tokenstore/tokenstore/fsm"
)

// ValidateRoleDescriptor checks the privilege names of a descriptor as
// Elasticsearch does on put role.
func ValidateRoleDescriptor(d fsm.RoleDescriptor) error {
	for _, c := range d.Cluster {
		if !ValidClusterEntry(c) {
			return invalidf("unknown cluster privilege [%s]. a privilege must be either one of the predefined cluster privilege names [%s] or a pattern over one of the available cluster actions",
				c, strings.Join(ClusterPrivilegeNames(), ","))
		}
	}
	for i, ip := range d.Indices {
		if err := queryRefused(ip, i); err != nil {
			return err
		}
		if len(ip.Names) == 0 {
			return validation("indices privileges must refer to at least one index name or index name pattern")
		}
		if len(ip.Privileges) == 0 {
			return validation("indices privileges must define at least one privilege")
		}
		for _, priv := range ip.Privileges {
			if !ValidIndexPrivilege(priv) {
				return invalidf("unknown index privilege [%s]. a privilege must be either one of the predefined fixed indices privileges [%s] or a pattern over one of the available index actions",
					priv, strings.Join(IndexPrivilegeNames(), ","))
			}
		}
	}
	if err := validateRemote(d); err != nil {
		return err
	}
	for _, ap := range d.Applications {
		if ap.Application == "" {
			return validation("an application name is required")
		}
		if len(ap.Resources) == 0 {
			return validation("an application privilege must define at least one resource")
		}
	}
	if err := CheckMetadataKeys(d.Metadata); err != nil {
		return err
	}
	return nil
}

// CheckMetadataKeys refuses top-level metadata keys starting with "_",
// which Elasticsearch reserves.
func CheckMetadataKeys(raw json.RawMessage) error {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return invalidf("metadata must be an object")
	}
	for k := range m {
		if strings.HasPrefix(k, "_") {
			return validation("metadata keys may not start with [_]")
		}
	}
	return nil
}

// Error is a role descriptor or metadata the model refuses: with
// Validation set, Elasticsearch's action_request_validation_exception of
// that one message; otherwise an illegal_argument_exception of Reason.
type Error struct {
	Reason     string
	Validation bool
	// Type, when set, is the exception type instead (a role's query that
	// does not parse is a parse_exception); Cause is its caused_by.
	Type  string
	Cause *QueryError
}

// queryRefused is the parse_exception for the i-th indices privilege's
// query, nil when Elasticsearch would take it.
func queryRefused(ip fsm.IndicesPrivileges, i int) *Error {
	err := checkRoleQuery(ip.Query)
	if err == nil {
		return nil
	}
	qe, _ := err.(*QueryError)
	return &Error{Type: "parse_exception", Cause: qe, Reason: fmt.Sprintf(
		"failed to parse field 'query' for indices [%s] at index privilege [%d] of role descriptor", strings.Join(ip.Names, ","), i)}
}

func (e *Error) Error() string { return e.Reason }

func invalidf(format string, a ...any) *Error { return &Error{Reason: fmt.Sprintf(format, a...)} }

func validation(msg string) *Error { return &Error{Reason: msg, Validation: true} }

// maxDescriptionLength is Elasticsearch's bound on a role's description.
const maxDescriptionLength = 1000

// validateRemote checks description, remote_indices and remote_cluster as
// Elasticsearch 8.17 does.
func validateRemote(d fsm.RoleDescriptor) error {
	if d.Description != nil && len(utf16.Encode([]rune(*d.Description))) > maxDescriptionLength {
		return validation(fmt.Sprintf("Role description must be less than %d characters.", maxDescriptionLength))
	}
	for i, rp := range d.RemoteIndices {
		if len(rp.Clusters) == 0 {
			return validation("remote index privileges must refer to at least one cluster alias or cluster alias pattern")
		}
		if len(rp.Names) == 0 {
			return validation("remote index privileges must refer to at least one index name or index name pattern")
		}
		if len(rp.Privileges) == 0 {
			return validation("remote index privileges must define at least one privilege")
		}
		for _, priv := range rp.Privileges {
			if !ValidIndexPrivilege(priv) {
				return invalidf("unknown index privilege [%s]. a privilege must be either one of the predefined fixed indices privileges [%s] or a pattern over one of the available index actions",
					priv, strings.Join(IndexPrivilegeNames(), ","))
			}
		}
		if err := queryRefused(rp.IndicesPrivileges, i); err != nil {
			return err
		}
	}
	for _, rc := range d.RemoteCluster {
		if len(rc.Clusters) == 0 {
			return validation("remote cluster privileges must refer to at least one cluster alias or cluster alias pattern")
		}
		if len(rc.Privileges) == 0 {
			return validation("remote cluster privileges must define at least one privilege")
		}
		var unsupported []string
		for _, p := range rc.Privileges {
			if !slices.Contains(remoteClusterPrivileges, p) && !slices.Contains(unsupported, p) {
				unsupported = append(unsupported, p)
			}
		}
		if len(unsupported) > 0 {
			return invalidf("Invalid remote_cluster permissions found. Please remove the following: [%s] Only [%s] are allowed",
				strings.Join(unsupported, ", "), strings.Join(remoteClusterPrivileges, ", "))
		}
	}
	return nil
}
