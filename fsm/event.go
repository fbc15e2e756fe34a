package fsm

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
)

// EventType numbers are part of the log format: explicit and never reused.
type EventType uint16

// The event types. Past tense: each records something that happened.
const (
	UserPut                 EventType = 1
	UserDeleted             EventType = 2
	UserEnabledSet          EventType = 3
	UserPasswordChanged     EventType = 4
	RolePut                 EventType = 5
	RoleDeleted             EventType = 6
	ElasticBootstrapped     EventType = 7
	ApplicationPrivilegePut EventType = 8
	ApplicationPrivilegeDel EventType = 9
	NodeRegistered          EventType = 10
	APIKeyCreated           EventType = 11
	APIKeyUpdated           EventType = 12
	APIKeysInvalidated      EventType = 13
	APIKeysPurged           EventType = 14
	ServiceTokenCreated     EventType = 15
	ServiceTokenDeleted     EventType = 16
	TokenIssued             EventType = 17
	TokenRefreshed          EventType = 18
	TokensInvalidated       EventType = 19
	TokensPurged            EventType = 20
)

// headerLen is the encoded size of type (2 bytes) and version (1 byte).
const headerLen = 3

// ErrUnknownEvent is returned when a (type, version) pair has no applier.
var ErrUnknownEvent = errors.New("unknown event")

type eventKey struct {
	Type    EventType
	Version uint8
}

type applyFunc func(s *State, index uint64, payload []byte) (Result, error)

// appliers is the one table of events: a new event or version is one line.
var appliers = map[eventKey]applyFunc{
	{UserPut, 1}:                 applyUserPutV1,
	{UserDeleted, 1}:             applyUserDeletedV1,
	{UserEnabledSet, 1}:          applyUserEnabledSetV1,
	{UserPasswordChanged, 1}:     applyUserPasswordChangedV1,
	{RolePut, 1}:                 applyRolePutV1,
	{RoleDeleted, 1}:             applyRoleDeletedV1,
	{ElasticBootstrapped, 1}:     applyElasticBootstrappedV1,
	{ApplicationPrivilegePut, 1}: applyApplicationPrivilegePutV1,
	{ApplicationPrivilegeDel, 1}: applyApplicationPrivilegeDelV1,
	{NodeRegistered, 1}:          applyNodeRegisteredV1,
	{APIKeyCreated, 1}:           applyAPIKeyCreatedV1,
	{APIKeyUpdated, 1}:           applyAPIKeyUpdatedV1,
	{APIKeyUpdated, 2}:           applyAPIKeyUpdatedV2,
	{APIKeysInvalidated, 1}:      applyAPIKeysInvalidatedV1,
	{APIKeysPurged, 1}:           applyAPIKeysPurgedV1,
	{ServiceTokenCreated, 1}:     applyServiceTokenCreatedV1,
	{ServiceTokenDeleted, 1}:     applyServiceTokenDeletedV1,
	{TokenIssued, 1}:             applyTokenIssuedV1,
	{TokenRefreshed, 1}:          applyTokenRefreshedV1,
	{TokensInvalidated, 1}:       applyTokensInvalidatedV1,
	{TokensPurged, 1}:            applyTokensPurgedV1,
}

// Payload is implemented by every event body; it names its type and version.
type Payload interface {
	EventType() (EventType, uint8)
}

// Encode turns an event payload into log bytes: type, version, JSON body.
func Encode(p Payload) ([]byte, error) {
	t, v := p.EventType()
	body, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("encode event %d v%d: %w", t, v, err)
	}
	out := make([]byte, headerLen, headerLen+len(body))
	binary.BigEndian.PutUint16(out, uint16(t))
	out[2] = v
	return append(out, body...), nil
}

// MustEncode is Encode for payloads that cannot fail to marshal (no
// channels, funcs or cyclic values), which is every payload in this package.
func MustEncode(p Payload) []byte {
	b, err := Encode(p)
	if err != nil {
		panic(err)
	}
	return b
}

// Decode splits log bytes into the event key and its body, and checks that
// an applier exists for it.
func Decode(b []byte) (EventType, uint8, []byte, error) {
	if len(b) < headerLen {
		return 0, 0, nil, fmt.Errorf("%w: %d bytes is shorter than the header", ErrUnknownEvent, len(b))
	}
	t, v := EventType(binary.BigEndian.Uint16(b)), b[2]
	if _, ok := appliers[eventKey{t, v}]; !ok {
		return t, v, nil, fmt.Errorf("%w: type %d version %d", ErrUnknownEvent, t, v)
	}
	return t, v, b[headerLen:], nil
}

// Validate reports whether b is an event this state machine can apply,
// without applying it: a known type and version with a body that decodes.
// The leader calls it before appending, so a bad proposal is refused rather
// than written to the log.
func Validate(b []byte) error {
	t, v, body, err := Decode(b)
	if err != nil {
		return err
	}
	if _, err := appliers[eventKey{t, v}](NewState(), 1, body); err != nil {
		return fmt.Errorf("event %d v%d: %w", t, v, err)
	}
	return nil
}

func decodePayload[T any](body []byte) (T, error) {
	var p T
	if err := json.Unmarshal(body, &p); err != nil {
		return p, fmt.Errorf("decode %T: %w", p, err)
	}
	return p, nil
}

// OnlyAdds reports whether an event can only add credentials or nodes and
// takes nothing away from anyone: such a write needs no confirmation that
// every node applied it, since a node that lacks it catches up on a miss.
// Every other event may revoke (invalidate, delete, disable, change a
// password or a role), and the leader acknowledges it only once no node can
// still answer from a state without it.
func OnlyAdds(event []byte) bool {
	t, _, _, err := Decode(event)
	if err != nil {
		return false
	}
	switch t {
	case APIKeyCreated, TokenIssued, TokenRefreshed, ServiceTokenCreated, NodeRegistered, ElasticBootstrapped:
		return true
	}
	return false
}
