package audit

import (
	"fmt"
	"slices"
	"strings"
)

// Event is an audit event name (Elasticsearch's AuditLevel).
type Event uint16

// The event names Elasticsearch accepts in events.include/exclude. Those
// this service never emits (connection_*, realm_authentication_failed,
// run_as_granted) are accepted so that an Elasticsearch configuration
// carries over.
const (
	AnonymousAccessDenied Event = 1 << iota
	AuthenticationFailed
	RealmAuthenticationFailed
	AccessGranted
	AccessDenied
	TamperedRequest
	ConnectionGranted
	ConnectionDenied
	SystemAccessGranted
	AuthenticationSuccess
	RunAsGranted
	RunAsDenied
	SecurityConfigChange
)

type eventName struct {
	e    Event
	name string
}

var eventNames = []eventName{
	{AnonymousAccessDenied, "anonymous_access_denied"},
	{AuthenticationFailed, "authentication_failed"},
	{RealmAuthenticationFailed, "realm_authentication_failed"},
	{AccessGranted, "access_granted"},
	{AccessDenied, "access_denied"},
	{TamperedRequest, "tampered_request"},
	{ConnectionGranted, "connection_granted"},
	{ConnectionDenied, "connection_denied"},
	{SystemAccessGranted, "system_access_granted"},
	{AuthenticationSuccess, "authentication_success"},
	{RunAsGranted, "run_as_granted"},
	{RunAsDenied, "run_as_denied"},
	{SecurityConfigChange, "security_config_change"},
}

func (e Event) String() string {
	for _, n := range eventNames {
		if n.e == e {
			return n.name
		}
	}
	return fmt.Sprintf("event(%d)", uint16(e))
}

// DefaultInclude is Elasticsearch's default for
// xpack.security.audit.logfile.events.include.
var DefaultInclude = []string{"access_denied", "access_granted", "anonymous_access_denied", "authentication_failed",
	"connection_denied", "tampered_request", "run_as_denied", "run_as_granted", "security_config_change"}

// Events is a set of events.
type Events uint16

// Has reports whether e is in the set.
func (s Events) Has(e Event) bool { return uint16(s)&uint16(e) != 0 }

// ParseEvents is the set include minus exclude, as Elasticsearch computes
// it: "_all" in include is every event, "_all" in exclude none, and an
// unknown name is refused. A nil include is DefaultInclude.
func ParseEvents(include, exclude []string) (Events, error) {
	if include == nil {
		include = DefaultInclude
	}
	in, err := eventSet(include)
	if err != nil {
		return 0, err
	}
	out, err := eventSet(exclude)
	if err != nil {
		return 0, err
	}
	return in &^ out, nil
}

func eventSet(names []string) (Events, error) {
	if slices.Contains(names, "_all") {
		var all Events
		for _, n := range eventNames {
			all |= Events(n.e)
		}
		return all, nil
	}
	var s Events
	for _, name := range names {
		want := strings.ToLower(strings.TrimSpace(name))
		i := slices.IndexFunc(eventNames, func(n eventName) bool { return n.name == want })
		if i < 0 {
			return 0, fmt.Errorf("invalid event name specified [%s]", name)
		}
		s |= Events(eventNames[i].e)
	}
	return s, nil
}
