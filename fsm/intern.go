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

// internJSON is intern for a map given as its JSON, as the compact API key
// create carries it: the JSON seen before gives its shared map without
// decoding or encoding anything. A cache only: the map is the one intern
// returns for the decoded JSON either way, so the state is the same whether
// it was seen before or not (after a restore, say).
func (s *State) internJSON(b []byte) (map[string]RoleDescriptor, error) {
	if shared, ok := s.internedJSON[string(b)]; ok {
		return shared, nil
	}
	var m map[string]RoleDescriptor
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	m = s.intern(m)
	s.internedJSON[string(b)] = m
	return m, nil
}
