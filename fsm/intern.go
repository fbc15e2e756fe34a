package fsm

import (
	"encoding/json"
	"reflect"
)

// descriptorSets shares identical role descriptor maps between API keys:
// most keys of one owner carry the same limited_by snapshot, and keeping one
// copy of it is most of a key's memory. Interned maps are never modified.
type descriptorSets map[string]map[string]RoleDescriptor

// intern returns the shared copy of m (m itself when it is new).
func (s *State) intern(m map[string]RoleDescriptor) map[string]RoleDescriptor {
	key, err := json.Marshal(m)
	if err != nil {
		return m
	}
	if shared, ok := s.interned[string(key)]; ok {
		return shared
	}
	if m == nil {
		m = map[string]RoleDescriptor{}
	}
	s.interned[string(key)] = m
	return m
}

// setRefs numbers the distinct descriptor maps of keys in order of first
// use, which is the same on every node for the same state.
type setRefs struct {
	ids  map[uintptr]int
	sets []map[string]RoleDescriptor
}

func (r *setRefs) ref(m map[string]RoleDescriptor) int {
	p := reflect.ValueOf(m).Pointer()
	if id, ok := r.ids[p]; ok && m != nil {
		return id
	}
	r.sets = append(r.sets, m)
	id := len(r.sets) - 1
	if m != nil {
		r.ids[p] = id
	}
	return id
}

// apiKeyRecord is an API key in a snapshot, its descriptor maps replaced by
// references to descriptor set records written before it.
type apiKeyRecord struct {
	APIKey
	RoleDescriptors int `json:"role_descriptors"`
	LimitedBy       int `json:"limited_by"`
}

type descriptorSetRecord struct {
	ID  int                       `json:"id"`
	Set map[string]RoleDescriptor `json:"set"`
}
