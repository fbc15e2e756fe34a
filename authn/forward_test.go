package authn

import (
	"slices"
	"strings"
	"testing"

	"github.com/tokenstore/tokenstore/fsm"
)

// fsm's table of events names the action that allows each event; the
// strings must be authn's own write actions, which its handlers check
// before they propose the same events.
func TestEveryEventNamesAnAuthnAction(t *testing.T) {
	writeActions := []string{
		actionUserPut, actionUserDelete, actionUserEnabled, actionUserPassword, actionRolePut, actionRoleDelete,
		actionPrivilegePut, actionPrivilegeDelete, actionAPIKeyCreate, actionAPIKeyUpdate, actionAPIKeyInvalidate,
		actionServiceTokenCreate, actionServiceTokenDelete, actionTokenCreate, actionTokenRefresh, actionTokenInvalidate,
		actionProfileActivate, actionProfileData, actionProfileEnabled,
	}
	named := map[string]bool{}
	for _, typ := range fsm.EventTypes() {
		action := typ.Action()
		if action == fsm.LeaderOnly {
			continue
		}
		if !slices.Contains(writeActions, action) {
			t.Errorf("event %d: action %q is none of authn's write actions", typ, action)
		}
		named[action] = true
	}
	for _, a := range writeActions {
		if !named[a] {
			t.Errorf("no event is allowed by %s", a)
		}
	}
}

// An event only the leader proposes is refused when forwarded, before any
// credential is looked at.
func TestLeaderOnlyEventsAreNotForwarded(t *testing.T) {
	s := &Service{}
	for _, typ := range fsm.EventTypes() {
		if typ.Action() != fsm.LeaderOnly {
			continue
		}
		event := []byte{byte(typ >> 8), byte(typ), 1, '{', '}'}
		if err := s.AuthorizeForwarded("", "", event); err == nil || !strings.Contains(err.Error(), "cannot be forwarded") {
			t.Errorf("event %d forwarded: got %v, want it refused", typ, err)
		}
	}
}
