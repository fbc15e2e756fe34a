package fsm

import (
	"bytes"
	"encoding/json"
	"maps"
	"slices"
)

// Profile is a user profile (Elasticsearch's user profile document): who
// the user was at their last activation, whether the profile is enabled,
// and the labels and data applications (Kibana) keep in it. Labels and
// Data are JSON objects, compact, with their keys sorted.
type Profile struct {
	UID              string          `json:"uid"`
	Username         string          `json:"username"`
	RealmName        string          `json:"realm_name"`
	RealmType        string          `json:"realm_type"`
	Roles            []string        `json:"roles"`
	FullName         *string         `json:"full_name,omitempty"`
	Email            *string         `json:"email,omitempty"`
	Enabled          bool            `json:"enabled"`
	LastSynchronized int64           `json:"last_synchronized"` // epoch ms
	Labels           json.RawMessage `json:"labels,omitempty"`
	Data             json.RawMessage `json:"data,omitempty"`
	ModIndex         uint64          `json:"mod_index"`
}

// MaxProfileContent bounds a profile's labels and data together, encoded:
// every node keeps every profile in memory and in every snapshot.
const MaxProfileContent = 1 << 20

// ProfileActivatedV1 creates a profile, or brings an existing one up to
// date with its user (enabling it); its labels and data stay.
type ProfileActivatedV1 struct {
	Profile Profile `json:"profile"`
}

// EventType implements Payload.
func (ProfileActivatedV1) EventType() (EventType, uint8) { return ProfileActivated, 1 }

// ProfileDataUpdatedV1 merges labels and data into a profile, as
// Elasticsearch's partial update does (objects merge key by key, anything
// else replaces). IfSeqNo, when set, is the mod index the profile must
// still have.
type ProfileDataUpdatedV1 struct {
	UID     string          `json:"uid"`
	Labels  json.RawMessage `json:"labels,omitempty"`
	Data    json.RawMessage `json:"data,omitempty"`
	IfSeqNo *uint64         `json:"if_seq_no,omitempty"`
}

// EventType implements Payload.
func (ProfileDataUpdatedV1) EventType() (EventType, uint8) { return ProfileDataUpdated, 1 }

// ProfileEnabledSetV1 enables or disables a profile.
type ProfileEnabledSetV1 struct {
	UID     string `json:"uid"`
	Enabled bool   `json:"enabled"`
}

// EventType implements Payload.
func (ProfileEnabledSetV1) EventType() (EventType, uint8) { return ProfileEnabledSet, 1 }

func applyProfileActivatedV1(s *State, index uint64, p ProfileActivatedV1) Result {
	pr := p.Profile
	pr.ModIndex, pr.Enabled = index, true
	pr.Labels, pr.Data = nil, nil
	old, exists := s.profiles[pr.UID]
	if exists {
		pr.Labels, pr.Data = old.Labels, old.Data
	}
	s.profiles[pr.UID] = &pr
	if exists {
		return Result{Status: Updated}
	}
	return Result{Status: Created}
}

func applyProfileDataUpdatedV1(s *State, index uint64, p ProfileDataUpdatedV1) Result {
	old, ok := s.profiles[p.UID]
	if !ok {
		return Result{Status: NotFound}
	}
	if p.IfSeqNo != nil && *p.IfSeqNo != old.ModIndex {
		return Result{Status: Conflict}
	}
	labels, lerr := MergeObjects(old.Labels, p.Labels)
	data, derr := MergeObjects(old.Data, p.Data)
	if lerr != nil || derr != nil {
		return Result{Status: Rejected}
	}
	if len(labels)+len(data) > MaxProfileContent {
		return Result{Status: TooLarge}
	}
	pr := *old
	pr.Labels, pr.Data, pr.ModIndex = labels, data, index
	s.profiles[p.UID] = &pr
	return Result{Status: Updated}
}

func applyProfileEnabledSetV1(s *State, index uint64, p ProfileEnabledSetV1) Result {
	old, ok := s.profiles[p.UID]
	if !ok {
		return Result{Status: NotFound}
	}
	pr := *old
	pr.Enabled, pr.ModIndex = p.Enabled, index
	s.profiles[p.UID] = &pr
	return Result{Status: Updated}
}

// MergeObjects merges the JSON object update into base as Elasticsearch's
// partial update merges a document: an object merges key by key, any other
// value replaces. The result is compact with sorted keys (deterministic);
// nil for an empty object.
func MergeObjects(base, update json.RawMessage) (json.RawMessage, error) {
	into := map[string]any{}
	for _, raw := range []json.RawMessage{base, update} {
		if len(raw) == 0 {
			continue
		}
		var m map[string]any
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(&m); err != nil {
			return nil, err
		}
		mergeInto(into, m)
	}
	if len(into) == 0 {
		return nil, nil
	}
	return json.Marshal(into)
}

func mergeInto(into, m map[string]any) {
	for k, v := range m {
		sub, isObject := v.(map[string]any)
		existing, wasObject := into[k].(map[string]any)
		if isObject && wasObject {
			mergeInto(existing, sub)
			continue
		}
		into[k] = v
	}
}

// Profile returns the profile with a uid (immutable).
func (s *State) Profile(uid string) (*Profile, bool) {
	s.mu.RLock()
	p, ok := s.profiles[uid]
	s.mu.RUnlock()
	return p, ok
}

// Profiles returns every profile, ordered by uid.
func (s *State) Profiles() []*Profile {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]*Profile, 0, len(s.profiles))
	for _, k := range slices.Sorted(maps.Keys(s.profiles)) {
		out = append(out, s.profiles[k])
	}
	return out
}

// ProfileCount is how many profiles there are.
func (s *State) ProfileCount() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.profiles)
}

func (p *Profile) recordKey() string { return p.UID }
