package fsm

import "encoding/json"

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
