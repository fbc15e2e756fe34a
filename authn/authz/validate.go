package authz

import (
	"encoding/json"
	"fmt"
	"strings"

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
	for _, ip := range d.Indices {
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
}

func (e *Error) Error() string { return e.Reason }

func invalidf(format string, a ...any) *Error { return &Error{Reason: fmt.Sprintf(format, a...)} }

func validation(msg string) *Error { return &Error{Reason: msg, Validation: true} }
