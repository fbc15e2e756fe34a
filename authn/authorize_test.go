package authn

import (
	"errors"
	"testing"

	"github.com/tokenstore/tokenstore/fsm"
)

func TestModelErrorKinds(t *testing.T) {
	cases := []struct {
		d        fsm.RoleDescriptor
		typ, why string
	}{
		{fsm.RoleDescriptor{Cluster: []string{"bogus"}}, "illegal_argument_exception", "unknown cluster privilege [bogus]"},
		{fsm.RoleDescriptor{Indices: []fsm.IndicesPrivileges{{Privileges: []string{"read"}}}}, "action_request_validation_exception",
			"Validation Failed: 1: indices privileges must refer to at least one index name or index name pattern;"},
	}
	for _, tc := range cases {
		var e *Error
		if err := ValidateRoleDescriptor(tc.d); !errors.As(err, &e) || e.Kind != Invalid || e.Type != tc.typ || len(e.Reason) < len(tc.why) || e.Reason[:len(tc.why)] != tc.why {
			t.Errorf("got %v, want %s %q", err, tc.typ, tc.why)
		}
	}
	if err := ValidateRoleDescriptor(fsm.RoleDescriptor{Cluster: []string{"all"}}); err != nil {
		t.Errorf("a valid descriptor: got %v", err)
	}
}
