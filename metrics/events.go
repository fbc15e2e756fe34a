package metrics

import (
	"fmt"
	"slices"

	"github.com/tokenstore/tokenstore/fsm"
)

// eventNames label the writes counter, one row an event type;
// TestEveryEventHasALabel fails for an event without one (it would be
// labelled event_<number>).
var eventNames = map[fsm.EventType]string{
	fsm.UserPut: "user_put", fsm.UserDeleted: "user_deleted", fsm.UserEnabledSet: "user_enabled_set",
	fsm.UserPasswordChanged: "user_password_changed", fsm.RolePut: "role_put", fsm.RoleDeleted: "role_deleted",
	fsm.ElasticBootstrapped: "elastic_bootstrapped", fsm.ApplicationPrivilegePut: "application_privilege_put",
	fsm.ApplicationPrivilegeDel: "application_privilege_deleted", fsm.NodeRegistered: "node_registered",
	fsm.APIKeyCreated: "api_key_created", fsm.APIKeyUpdated: "api_key_updated",
	fsm.APIKeysInvalidated: "api_keys_invalidated", fsm.APIKeysPurged: "api_keys_purged",
	fsm.ServiceTokenCreated: "service_token_created", fsm.ServiceTokenDeleted: "service_token_deleted",
	fsm.TokenIssued: "token_issued", fsm.TokenRefreshed: "token_refreshed",
	fsm.TokensInvalidated: "tokens_invalidated", fsm.TokensPurged: "tokens_purged",
	fsm.APIKeysUsed:      "api_keys_used",
	fsm.ProfileActivated: "profile_activated", fsm.ProfileDataUpdated: "profile_data_updated",
	fsm.ProfileEnabledSet: "profile_enabled_set",
}

func eventName(t fsm.EventType) string {
	if n, ok := eventNames[t]; ok {
		return n
	}
	return fmt.Sprintf("event_%d", t)
}

// maxEventType is the highest event type this build knows.
var maxEventType = slices.Max(fsm.EventTypes())
