package fsm

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
)

// API keys in snapshots: their role descriptor maps, mostly shared, are
// written once each as numbered descriptor set records, and each key
// record refers to its two maps by number.

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

func restoreDescriptorSet(s *State, body []byte, r *restoring) error {
	var d descriptorSetRecord
	if err := json.Unmarshal(body, &d); err != nil {
		return err
	}
	if d.ID != len(r.sets) {
		return fmt.Errorf("descriptor set %d out of order", d.ID)
	}
	r.sets = append(r.sets, s.intern(d.Set))
	return nil
}

// captureAPIKeys writes the keys as binary records by id, each referring to
// its two descriptor maps by the number of a descriptor set record written
// before the keys.
func captureAPIKeys(s *State) recordWriter {
	keys := s.apiKeys.copyAll()
	return func(sw *snapshotWriter) {
		// Sorted here, outside the lock the capture holds while every
		// write waits.
		slices.SortFunc(keys, func(a, b *APIKey) int { return strings.Compare(a.ID, b.ID) })
		refs := &setRefs{ids: map[uintptr]int{}}
		for _, k := range keys {
			refs.ref(k.RoleDescriptors)
			refs.ref(k.LimitedBy)
		}
		for i, set := range refs.sets {
			sw.record(recDescriptorSet, descriptorSetRecord{ID: i, Set: set})
		}
		for _, k := range keys {
			encodeAPIKey(sw.binaryBody(), k, refs.ref(k.RoleDescriptors), refs.ref(k.LimitedBy))
			sw.frame(recAPIKey, sw.bin.b)
		}
	}
}

func restoreAPIKey(s *State, body []byte, r *restoring) error {
	k, rd, lb, err := decodeAPIKeyRecord(body, r.version)
	if err != nil {
		return err
	}
	if rd >= uint64(len(r.sets)) || lb >= uint64(len(r.sets)) {
		return fmt.Errorf("api key %s refers to a missing descriptor set", k.ID)
	}
	k.RoleDescriptors, k.LimitedBy = r.sets[rd], r.sets[lb]
	s.apiKeys.put(k)
	return nil
}

// decodeAPIKeyRecord reads a binary record, or the JSON of version 1.
func decodeAPIKeyRecord(body []byte, version uint16) (*APIKey, uint64, uint64, error) {
	if version >= 2 {
		return decodeAPIKey(body)
	}
	var r apiKeyRecord
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, 0, 0, err
	}
	if r.RoleDescriptors < 0 || r.LimitedBy < 0 {
		return nil, 0, 0, fmt.Errorf("api key %s refers to a missing descriptor set", r.ID)
	}
	r.APIKey.decodeHash()
	return &r.APIKey, uint64(r.RoleDescriptors), uint64(r.LimitedBy), nil
}
