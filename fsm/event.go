package fsm

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
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
	APIKeysUsed             EventType = 21
	ProfileActivated        EventType = 22
	ProfileDataUpdated      EventType = 23
	ProfileEnabledSet       EventType = 24
)

// LeaderOnly is the action of events no client may cause: the leader
// proposes them itself (bootstrap, node registration, purges), and refuses
// them when another node forwards them.
const LeaderOnly = "leader only"

// security prefixes the Elasticsearch cluster actions of the security API.
const security = "cluster:admin/xpack/security/"

// events is the one table of events: a new event, or a new version of
// one, is one row (and a new version one more on(...) in its row). Each row
// says whether the event may take something away from someone (see
// OnlyAdds) and which cluster action allows a client to cause it (authn
// authorizes forwarded writes with it).
var events = []eventRow{
	{UserPut, mayRevoke, security + "user/put", versions(on(applyUserPutV1))},
	{UserDeleted, mayRevoke, security + "user/delete", versions(on(applyUserDeletedV1))},
	{UserEnabledSet, mayRevoke, security + "user/set_enabled", versions(on(applyUserEnabledSetV1))},
	{UserPasswordChanged, mayRevoke, security + "user/change_password", versions(on(applyUserPasswordChangedV1))},
	{RolePut, mayRevoke, security + "role/put", versions(on(applyRolePutV1), on(applyRolePutV2))},
	{RoleDeleted, mayRevoke, security + "role/delete", versions(on(applyRoleDeletedV1), on(applyRoleDeletedV2))},
	{ElasticBootstrapped, onlyAdds, LeaderOnly, versions(on(applyElasticBootstrappedV1))},
	{ApplicationPrivilegePut, mayRevoke, security + "privilege/put", versions(on(applyApplicationPrivilegePutV1))},
	{ApplicationPrivilegeDel, mayRevoke, security + "privilege/delete", versions(on(applyApplicationPrivilegeDelV1))},
	{NodeRegistered, onlyAdds, LeaderOnly, versions(on(applyNodeRegisteredV1), on(applyNodeRegisteredV2))},
	{APIKeyCreated, onlyAdds, security + "api_key/create", versions(on(applyAPIKeyCreatedV1), on(applyAPIKeyCreatedV2), on(applyAPIKeyCreatedV3))},
	{APIKeyUpdated, mayRevoke, security + "api_key/update", versions(on(applyAPIKeyUpdatedV1), on(applyAPIKeyUpdatedV2), on(applyAPIKeyUpdatedV3))},
	{APIKeysInvalidated, mayRevoke, security + "api_key/invalidate", versions(on(applyAPIKeysInvalidatedV1), on(applyAPIKeysInvalidatedV2))},
	{APIKeysPurged, mayRevoke, LeaderOnly, versions(on(applyAPIKeysPurgedV1))},
	{ServiceTokenCreated, onlyAdds, security + "service_account/token/create", versions(on(applyServiceTokenCreatedV1))},
	{ServiceTokenDeleted, mayRevoke, security + "service_account/token/delete", versions(on(applyServiceTokenDeletedV1))},
	{TokenIssued, onlyAdds, security + "token/create", versions(on(applyTokenIssuedV1), on(applyTokenIssuedV2))},
	{TokenRefreshed, onlyAdds, security + "token/refresh", versions(on(applyTokenRefreshedV1), on(applyTokenRefreshedV2))},
	{TokensInvalidated, mayRevoke, security + "token/invalidate", versions(on(applyTokensInvalidatedV1), on(applyTokensInvalidatedV2))},
	{TokensPurged, mayRevoke, LeaderOnly, versions(on(applyTokensPurgedV1))},
	// The leader gathers the members' uses itself: no client may write one.
	{APIKeysUsed, onlyAdds, LeaderOnly, versions(on(applyAPIKeysUsedV1))},
	{ProfileActivated, onlyAdds, security + "profile/activate", versions(on(applyProfileActivatedV1))},
	{ProfileDataUpdated, mayRevoke, security + "profile/put/data", versions(on(applyProfileDataUpdatedV1))},
	{ProfileEnabledSet, mayRevoke, security + "profile/set_enabled", versions(on(applyProfileEnabledSetV1))},
}

// eventRow is everything known about one event type.
type eventRow struct {
	typ    EventType
	effect effect
	// action is the cluster action that allows a client to cause the
	// event, or LeaderOnly.
	action   string
	versions []version
}

// effect says whether an event may revoke; the zero value is neither, so
// a row that forgets it fails TestEveryEventHasARow.
type effect uint8

const (
	// onlyAdds: the event adds credentials or nodes and takes nothing away.
	onlyAdds effect = iota + 1
	// mayRevoke: it may invalidate, delete, disable, change a password or
	// a role, or purge.
	mayRevoke
)

// version is one version of an event: its number, its apply function, and
// its decoding alone (Validate, DecodePayload).
type version struct {
	typ    EventType // the payload's own type, checked against its row's
	number uint8
	apply  applyFunc
	check  func(body []byte) error
	decode func(body []byte) (Payload, error)
	name   string // the payload's type name without its version suffix
}

func versions(v ...version) []version { return v }

type applyFunc func(s *State, index uint64, payload []byte) (Result, error)

// on makes a version from an apply function of payload P: P names the
// type and version, and its body (JSON, or the compact encoding when P has
// one, see event_binary.go) is decoded before apply runs.
func on[P Payload](apply func(s *State, index uint64, p P) Result) version {
	var zero P
	t, v := zero.EventType()
	name := strings.TrimSuffix(reflect.TypeOf(zero).Name(), fmt.Sprintf("V%d", v))
	decode := decoder[P]()
	return version{typ: t, number: v, name: name,
		apply: func(s *State, index uint64, body []byte) (Result, error) {
			p, err := decode(body, s.internJSON)
			if err != nil {
				return Result{}, fmt.Errorf("decode %T: %w", p, err)
			}
			return apply(s, index, p), nil
		},
		check: func(body []byte) error {
			p, err := decode(body, checkSetJSON)
			if err != nil {
				return fmt.Errorf("decode %T: %w", p, err)
			}
			return nil
		},
		decode: func(body []byte) (Payload, error) {
			p, err := decode(body, nil)
			return p, err
		},
	}
}

// decoder reads a body of payload P: its compact encoding when *P reads
// one, else JSON. sets reads the descriptor maps of a compact body: shared
// with the state applying it, only checked by Validate, or decoded.
func decoder[P Payload]() func(body []byte, sets setReader) (P, error) {
	if _, ok := any(new(P)).(compactPayload); ok {
		return func(body []byte, sets setReader) (P, error) {
			var p P
			r := binReader{b: body, sets: sets}
			any(&p).(compactPayload).readCompact(&r)
			return p, r.done()
		}
	}
	return func(body []byte, _ setReader) (P, error) {
		var p P
		err := json.Unmarshal(body, &p)
		return p, err
	}
}

// appliers and rows index the table for the apply path and for lookups;
// names are the event types' names for messages.
var appliers, rows, names = indexEvents(events)

func indexEvents(table []eventRow) (map[EventKey]*version, map[EventType]*eventRow, map[EventType]string) {
	byKey := map[EventKey]*version{}
	byType := make(map[EventType]*eventRow, len(table))
	named := make(map[EventType]string, len(table))
	for i := range table {
		r := &table[i]
		byType[r.typ] = r
		for j := range r.versions {
			v := &r.versions[j]
			byKey[EventKey{r.typ, v.number}] = v
			named[r.typ] = v.name
		}
	}
	return byKey, byType, named
}

// EventTypes returns every event type of the table, in table order.
func EventTypes() []EventType {
	out := make([]EventType, len(events))
	for i, r := range events {
		out[i] = r.typ
	}
	return out
}

// Action is the cluster action that allows a client to cause an event of
// type t (an Elasticsearch action name), LeaderOnly for events only the
// leader proposes, and "" for a type this build does not know.
func (t EventType) Action() string {
	if r, ok := rows[t]; ok {
		return r.action
	}
	return ""
}

// OnlyAdds reports whether an event can only add credentials or nodes and
// takes nothing away from anyone: such a write needs no confirmation that
// every node applied it, since a node that lacks it catches up on a miss.
// Every other event may revoke (invalidate, delete, disable, change a
// password or a role), and the leader acknowledges it only once no node can
// still answer from a state without it.
func OnlyAdds(event []byte) bool {
	t, _, _, err := Decode(event)
	return err == nil && rows[t].effect == onlyAdds
}

// headerLen is the encoded size of type (2 bytes) and version (1 byte).
const headerLen = 3

// ErrUnknownEvent is returned when a (type, version) pair has no applier.
var ErrUnknownEvent = errors.New("unknown event")

// Payload is implemented by every event body; it names its type and version.
type Payload interface {
	EventType() (EventType, uint8)
}

// Encode turns an event payload into log bytes: type, version, and the
// body: JSON, or the compact encoding of the payloads that have one.
func Encode(p Payload) ([]byte, error) {
	t, v := p.EventType()
	if c, ok := p.(compactWriter); ok {
		w := binWriter{b: make([]byte, headerLen, 256)}
		binary.BigEndian.PutUint16(w.b, uint16(t))
		w.b[2] = v
		if err := c.appendCompact(&w); err != nil {
			return nil, fmt.Errorf("encode event %d v%d: %w", t, v, err)
		}
		return w.b, nil
	}
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
	if _, ok := appliers[EventKey{t, v}]; !ok {
		return t, v, nil, fmt.Errorf("%w: type %d version %d", ErrUnknownEvent, t, v)
	}
	return t, v, b[headerLen:], nil
}

// Validate reports whether b is an event this state machine can apply,
// without applying it: a known type and version with a body that decodes.
// The leader calls it before appending, so a bad proposal is refused rather
// than written to the log. Applying fails only where decoding does, so
// decoding is the whole check: no state is built for it.
func Validate(b []byte) error {
	t, v, body, err := Decode(b)
	if err != nil {
		return err
	}
	if err := appliers[EventKey{t, v}].check(body); err != nil {
		return fmt.Errorf("event %d v%d: %w", t, v, err)
	}
	return nil
}

// DecodePayload reads event bytes, of any version and encoding, into their
// payload (APIKeyCreatedV3 for version 3 of APIKeyCreated).
func DecodePayload(b []byte) (Payload, error) {
	t, v, body, err := Decode(b)
	if err != nil {
		return nil, err
	}
	p, err := appliers[EventKey{t, v}].decode(body)
	if err != nil {
		return nil, fmt.Errorf("event %d v%d: %w", t, v, err)
	}
	return p, nil
}

// DecodeAs reads event bytes of any version of P's event type whose
// payload has P's fields into *p: version 3 of APIKeyCreated (compact) and
// version 2 (JSON) both read as an APIKeyCreatedV1, so a reader of a
// payload's content need not know every version that carries it.
func DecodeAs[P Payload](event []byte, p *P) error {
	d, err := DecodePayload(event)
	if err != nil {
		return err
	}
	to := reflect.TypeFor[P]()
	v := reflect.ValueOf(d)
	dt, _ := d.EventType()
	if pt, _ := (*p).EventType(); dt != pt || !v.Type().ConvertibleTo(to) {
		return fmt.Errorf("event %T does not read as %s", d, to)
	}
	*p = v.Convert(to).Interface().(P)
	return nil
}
