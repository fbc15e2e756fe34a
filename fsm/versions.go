package fsm

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// EventVersions says, for each event type, the highest version a build
// applies. Old versions stay readable forever, so a build that applies
// version v of a type applies every version below it too.
type EventVersions map[EventType]uint8

// Applies is what this build applies: the highest version of each row of
// events.
func Applies() EventVersions { return applies }

var applies = func() EventVersions {
	out := EventVersions{}
	for _, r := range events {
		for _, v := range r.versions {
			out[r.typ] = max(out[r.typ], v.number)
		}
	}
	return out
}()

// Baseline is what every release from v0.1.0 on applies: the events of
// v0.1.0, the first release that registers its versions. A member that has
// registered none (it has not registered yet) is taken to apply exactly
// these. An event of a version above its baseline is proposed only once
// every member has registered that it applies it.
var Baseline = EventVersions{
	UserPut: 1, UserDeleted: 1, UserEnabledSet: 1, UserPasswordChanged: 1,
	RolePut: 1, RoleDeleted: 1, ElasticBootstrapped: 1,
	ApplicationPrivilegePut: 1, ApplicationPrivilegeDel: 1, NodeRegistered: 2,
	APIKeyCreated: 1, APIKeyUpdated: 2, APIKeysInvalidated: 1, APIKeysPurged: 1,
	ServiceTokenCreated: 1, ServiceTokenDeleted: 1,
	TokenIssued: 1, TokenRefreshed: 1, TokensInvalidated: 1, TokensPurged: 1,
}

// Has reports whether version v of type t is applied by a build with these
// versions.
func (ev EventVersions) Has(t EventType, v uint8) bool { return v >= 1 && ev[t] >= v }

// Lacks lists, in type order, the event versions of other that ev does not
// apply (for each type, the highest of other's).
func (ev EventVersions) Lacks(other EventVersions) []EventKey {
	var out []EventKey
	for t, v := range other {
		if !ev.Has(t, v) {
			out = append(out, EventKey{t, v})
		}
	}
	slices.SortFunc(out, func(a, b EventKey) int { return cmp.Compare(a.Type, b.Type) })
	return out
}

// equal compares two sets; nil and empty are the same.
func (ev EventVersions) equal(other EventVersions) bool { return maps.Equal(ev, other) }

// EventKey names one version of one event type.
type EventKey struct {
	Type    EventType
	Version uint8
}

// String names the event as its payload type does ("RoleDeleted version
// 2"), with its numbers.
func (k EventKey) String() string {
	name := fmt.Sprintf("type %d", k.Type)
	if n, ok := names[k.Type]; ok {
		name = n
	}
	return fmt.Sprintf("%s version %d (event %d v%d)", name, k.Version, k.Type, k.Version)
}

// describe says how far a build goes with type t.
func (ev EventVersions) describe(t EventType) string {
	if ev[t] == 0 {
		return fmt.Sprintf("no version of event %d", t)
	}
	return fmt.Sprintf("versions 1 to %d", ev[t])
}

// JoinKeys lists event keys for a message; beyond adds, for each, how far
// this build goes with its type.
func JoinKeys(keys []EventKey, beyond bool) string {
	s := make([]string, len(keys))
	for i, k := range keys {
		s[i] = k.String()
		if beyond {
			s[i] += ", which this build does not apply (it applies " + applies.describe(k.Type) + ")"
		}
	}
	return strings.Join(s, "; ")
}

// Header reads the type and version of encoded event bytes, whether or not
// this build applies them.
func Header(b []byte) (EventKey, error) {
	if len(b) < headerLen {
		return EventKey{}, fmt.Errorf("%w: %d bytes is shorter than the header", ErrUnknownEvent, len(b))
	}
	return EventKey{EventType(binary.BigEndian.Uint16(b)), b[2]}, nil
}

// NewerEventsError refuses a state (a snapshot) or a log that holds events
// this build does not apply: a newer build wrote them, and this one would
// lose or misread what they say (a downgrade after a new event).
type NewerEventsError struct {
	Lacks []EventKey
	// Index is the log index of the first such entry, 0 for a snapshot.
	Index uint64
}

// Unwrap makes it an ErrUnknownEvent.
func (e *NewerEventsError) Unwrap() error { return ErrUnknownEvent }

func (e *NewerEventsError) Error() string {
	where := "the snapshot holds"
	if e.Index > 0 {
		where = fmt.Sprintf("the log holds at index %d", e.Index)
	}
	return fmt.Sprintf("%s %s: a newer build wrote it", where, JoinKeys(e.Lacks, true))
}
