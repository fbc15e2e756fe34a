package fsm

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"unique"
)

// Creator is the owner of an API key as snapshotted at creation.
type Creator struct {
	Principal string          `json:"principal"`
	FullName  *string         `json:"full_name"`
	Email     *string         `json:"email"`
	Metadata  json.RawMessage `json:"metadata,omitempty"`
	Realm     string          `json:"realm"`
	RealmType string          `json:"realm_type"`
}

// APIKey is a stored API key. Hash is Elasticsearch's "{SSHA256}" string of
// the secret; the secret itself never reaches the state.
type APIKey struct {
	ID              string                    `json:"id"`
	Name            string                    `json:"name"`
	Type            string                    `json:"type"`
	Hash            string                    `json:"hash"`
	Creation        int64                     `json:"creation"`             // epoch ms
	Expiration      int64                     `json:"expiration,omitempty"` // epoch ms, 0 = never
	Invalidated     bool                      `json:"invalidated,omitempty"`
	Invalidation    int64                     `json:"invalidation,omitempty"`
	RoleDescriptors map[string]RoleDescriptor `json:"role_descriptors"`
	LimitedBy       map[string]RoleDescriptor `json:"limited_by"`
	Metadata        json.RawMessage           `json:"metadata,omitempty"`
	Creator         Creator                   `json:"creator"`
	ModIndex        uint64                    `json:"mod_index"`

	// secret is Hash decoded once, at apply time, so that checking a secret
	// costs one SHA-256 and no parsing. Hash is then emptied, as it would
	// take 80 more bytes a key (of a million): StoredHash rebuilds it.
	secret sshaHash
}

type sshaHash struct {
	salt   [8]byte
	digest [sha256.Size]byte
	ok     bool
}

// sshaPrefix marks Elasticsearch's salted SHA-256 hash format.
const sshaPrefix = "{SSHA256}"

// decodeHash fills secret from Hash and empties Hash when StoredHash gives
// it back exactly; any other hash stays as it is (and matches no secret).
func (k *APIKey) decodeHash() {
	h := k.Hash
	k.Hash = ""
	k.setHash([]byte(h))
}

// setHash is decodeHash from the bytes of a hash, which it does not keep
// when they are a canonical {SSHA256} hash.
func (k *APIKey) setHash(h []byte) {
	enc := base64.StdEncoding
	rest, ok := bytes.CutPrefix(h, []byte(sshaPrefix))
	saltLen := enc.EncodedLen(len(k.secret.salt))
	if ok && len(rest) == saltLen+enc.EncodedLen(len(k.secret.digest)) {
		n1, err1 := enc.Decode(k.secret.salt[:], rest[:saltLen])
		n2, err2 := enc.Decode(k.secret.digest[:], rest[saltLen:])
		k.secret.ok = err1 == nil && err2 == nil && n1 == len(k.secret.salt) && n2 == len(k.secret.digest)
		if k.secret.ok && bytes.Equal(k.appendStoredHash(make([]byte, 0, 80)), h) {
			return
		}
	}
	k.Hash = string(h)
}

// StoredHash is the key's "{SSHA256}" hash as it was created.
func (k *APIKey) StoredHash() string {
	if k.Hash != "" || !k.secret.ok {
		return k.Hash
	}
	return string(k.appendStoredHash(nil))
}

func (k *APIKey) storedHashLen() int {
	if k.Hash != "" || !k.secret.ok {
		return len(k.Hash)
	}
	return len(sshaPrefix) + base64.StdEncoding.EncodedLen(len(k.secret.salt)) + base64.StdEncoding.EncodedLen(len(k.secret.digest))
}

func (k *APIKey) appendStoredHash(dst []byte) []byte {
	if k.Hash != "" || !k.secret.ok {
		return append(dst, k.Hash...)
	}
	dst = append(dst, sshaPrefix...)
	dst = base64.StdEncoding.AppendEncode(dst, k.secret.salt[:])
	return base64.StdEncoding.AppendEncode(dst, k.secret.digest[:])
}

// SaltDigest returns the decoded hash parts (nil when the hash is not
// {SSHA256}, which no secret then matches).
func (k *APIKey) SaltDigest() ([]byte, []byte) {
	if !k.secret.ok {
		return nil, nil
	}
	return k.secret.salt[:], k.secret.digest[:]
}

// APIKeyCreatedV1 stores a new API key.
type APIKeyCreatedV1 struct {
	Key APIKey `json:"key"`
}

// EventType implements Payload.
func (APIKeyCreatedV1) EventType() (EventType, uint8) { return APIKeyCreated, 1 }

// APIKeyCreatedV2 is APIKeyCreatedV1 for a key a build applying only
// version 1 would take wrongly: one whose descriptors (its own or its
// limited_by) grant remote_cluster, which version 1 drops, or a
// cross-cluster key, which such a build would take for a REST key. So
// those keys reach the log only once every member applies version 2;
// other keys are still written as version 1.
type APIKeyCreatedV2 APIKeyCreatedV1

// EventType implements Payload.
func (APIKeyCreatedV2) EventType() (EventType, uint8) { return APIKeyCreated, 2 }

// APIKeyCreatedV3 is APIKeyCreatedV2 in the compact encoding
// (event_binary.go), for any key: what version 1 and 2 say, in fewer bytes.
type APIKeyCreatedV3 APIKeyCreatedV1

// EventType implements Payload.
func (APIKeyCreatedV3) EventType() (EventType, uint8) { return APIKeyCreated, 3 }

// APIKeyUpdatedV1 replaces the mutable parts of a key. Nil fields keep their
// value; LimitedBy is always the owner's fresh snapshot. Apply decides
// whether anything changed, in log order.
type APIKeyUpdatedV1 struct {
	ID              string                     `json:"id"`
	RoleDescriptors *map[string]RoleDescriptor `json:"role_descriptors,omitempty"`
	Metadata        *json.RawMessage           `json:"metadata,omitempty"`
	Expiration      *int64                     `json:"expiration,omitempty"`
	LimitedBy       map[string]RoleDescriptor  `json:"limited_by"`
	Owner           string                     `json:"owner"`
	OwnerRealm      string                     `json:"owner_realm"`
}

// EventType implements Payload.
func (APIKeyUpdatedV1) EventType() (EventType, uint8) { return APIKeyUpdated, 1 }

// AsV2 is the update as a version 2 update of its one key: version 1
// events still in logs are read through it.
func (p APIKeyUpdatedV1) AsV2() APIKeyUpdatedV2 {
	return APIKeyUpdatedV2{IDs: []string{p.ID}, RoleDescriptors: p.RoleDescriptors, Metadata: p.Metadata,
		Expiration: p.Expiration, LimitedBy: p.LimitedBy, Owner: p.Owner, OwnerRealm: p.OwnerRealm}
}

// APIKeyUpdatedV2 applies one update to several keys of one owner: a bulk
// update is one log entry whatever the number of ids, and its shared parts
// (metadata, descriptors, the owner's snapshot) are written once. Items of
// the result carry each id's status.
type APIKeyUpdatedV2 struct {
	IDs             []string                   `json:"ids"`
	RoleDescriptors *map[string]RoleDescriptor `json:"role_descriptors,omitempty"`
	Metadata        *json.RawMessage           `json:"metadata,omitempty"`
	Expiration      *int64                     `json:"expiration,omitempty"`
	LimitedBy       map[string]RoleDescriptor  `json:"limited_by"`
	Owner           string                     `json:"owner"`
	OwnerRealm      string                     `json:"owner_realm"`
}

// EventType implements Payload.
func (APIKeyUpdatedV2) EventType() (EventType, uint8) { return APIKeyUpdated, 2 }

// APIKeyUpdatedV3 is APIKeyUpdatedV2 for descriptors (new ones or the
// owner's snapshot) that grant remote_cluster, which a build applying only
// version 2 would silently drop.
type APIKeyUpdatedV3 APIKeyUpdatedV2

// EventType implements Payload.
func (APIKeyUpdatedV3) EventType() (EventType, uint8) { return APIKeyUpdated, 3 }

// Changes reports whether applying the update to k would change it; the
// caller uses it to leave no-ops out of the event, Apply to report them.
func (p *APIKeyUpdatedV2) Changes(k *APIKey) bool {
	switch {
	case p.RoleDescriptors != nil && !sameDescriptors(k.RoleDescriptors, *p.RoleDescriptors):
		return true
	case p.Metadata != nil && !bytes.Equal(k.Metadata, *p.Metadata):
		return true
	case p.Expiration != nil && k.Expiration != *p.Expiration:
		return true
	}
	return !sameDescriptors(k.LimitedBy, p.LimitedBy)
}

// sameDescriptors compares descriptor maps by their encoding; interned maps
// are the same map, which spares the encoding in the common case.
func sameDescriptors(a, b map[string]RoleDescriptor) bool {
	if len(a) == 0 && len(b) == 0 {
		return true
	}
	if len(a) != len(b) {
		return false
	}
	if reflect.ValueOf(a).Pointer() == reflect.ValueOf(b).Pointer() {
		return true
	}
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return bytes.Equal(ja, jb)
}

// APIKeysInvalidatedV1 invalidates many keys at once.
type APIKeysInvalidatedV1 struct {
	IDs  []string `json:"ids"`
	Time int64    `json:"time"` // epoch ms
}

// EventType implements Payload.
func (APIKeysInvalidatedV1) EventType() (EventType, uint8) { return APIKeysInvalidated, 1 }

// APIKeysInvalidatedV2 is APIKeysInvalidatedV1 in the compact encoding.
type APIKeysInvalidatedV2 APIKeysInvalidatedV1

// EventType implements Payload.
func (APIKeysInvalidatedV2) EventType() (EventType, uint8) { return APIKeysInvalidated, 2 }

// APIKeysPurgedV1 removes keys invalidated or expired before Before.
type APIKeysPurgedV1 struct {
	Before int64 `json:"before"` // epoch ms
}

// EventType implements Payload.
func (APIKeysPurgedV1) EventType() (EventType, uint8) { return APIKeysPurged, 1 }

// applyAPIKeyCreatedV1 keeps no remote_cluster, as the builds before it
// did: a version 1 event must build the same state on every build.
func applyAPIKeyCreatedV1(s *State, index uint64, p APIKeyCreatedV1) Result {
	p.Key.RoleDescriptors, p.Key.LimitedBy = withoutRemoteCluster(p.Key.RoleDescriptors), withoutRemoteCluster(p.Key.LimitedBy)
	return createAPIKey(s, index, p)
}

func createAPIKey(s *State, index uint64, p APIKeyCreatedV1) Result {
	return addAPIKey(s, index, p.Key, true)
}

// applyAPIKeyCreatedV3 finds its descriptor maps interned already: they
// were decoded against the state (binReader.descriptors).
func applyAPIKeyCreatedV3(s *State, index uint64, p APIKeyCreatedV3) Result {
	return addAPIKey(s, index, p.Key, false)
}

func addAPIKey(s *State, index uint64, k APIKey, intern bool) Result {
	if _, exists := s.apiKeys.get(k.ID); exists {
		return Result{Status: AlreadyExists}
	}
	k.ModIndex = index
	k.decodeHash()
	k.Type, k.Creator.Principal = unique.Make(k.Type).Value(), unique.Make(k.Creator.Principal).Value()
	k.Creator.Realm, k.Creator.RealmType = unique.Make(k.Creator.Realm).Value(), unique.Make(k.Creator.RealmType).Value()
	if intern {
		k.RoleDescriptors, k.LimitedBy = s.intern(k.RoleDescriptors), s.intern(k.LimitedBy)
	}
	s.apiKeys.put(&k)
	return Result{Status: Created}
}

func applyAPIKeyCreatedV2(s *State, index uint64, p APIKeyCreatedV2) Result {
	return createAPIKey(s, index, APIKeyCreatedV1(p))
}

func applyAPIKeyUpdatedV3(s *State, index uint64, p APIKeyUpdatedV3) Result {
	return updateAPIKeys(s, index, APIKeyUpdatedV2(p))
}

// stripRemoteCluster is what builds before remote_cluster keep of an
// update's descriptors (versions 1 and 2).
func (p *APIKeyUpdatedV2) stripRemoteCluster() {
	if p.RoleDescriptors != nil {
		rds := withoutRemoteCluster(*p.RoleDescriptors)
		p.RoleDescriptors = &rds
	}
	p.LimitedBy = withoutRemoteCluster(p.LimitedBy)
}

func applyAPIKeyUpdatedV1(s *State, index uint64, p APIKeyUpdatedV1) Result {
	upd := p.AsV2()
	upd.stripRemoteCluster()
	old, st := s.updatableKey(p.ID, &upd)
	if old == nil {
		return Result{Status: st}
	}
	// Version 1 tells a no-op after interning, by the whole key's encoding.
	k := upd.applyTo(*old)
	k.RoleDescriptors, k.LimitedBy = s.intern(k.RoleDescriptors), s.intern(k.LimitedBy)
	if sameJSON(old, &k) {
		return Result{Status: Unchanged}
	}
	k.ModIndex = index
	s.apiKeys.put(&k)
	return Result{Status: Updated}
}

func applyAPIKeyUpdatedV2(s *State, index uint64, p APIKeyUpdatedV2) Result {
	p.stripRemoteCluster()
	return updateAPIKeys(s, index, p)
}

func updateAPIKeys(s *State, index uint64, p APIKeyUpdatedV2) Result {
	if p.RoleDescriptors != nil {
		rds := s.intern(*p.RoleDescriptors)
		p.RoleDescriptors = &rds
	}
	p.LimitedBy = s.intern(p.LimitedBy)
	res := Result{Status: Unchanged, Items: make(map[string]Status, len(p.IDs))}
	for _, id := range p.IDs {
		st := s.updateAPIKey(index, id, &p)
		if _, seen := res.Items[id]; !seen {
			res.Items[id] = st
		}
		if st == Updated {
			res.Status = Updated
		}
	}
	return res
}

// updateAPIKey applies p to one key, if the owner's and still valid.
func (s *State) updateAPIKey(index uint64, id string, p *APIKeyUpdatedV2) Status {
	old, st := s.updatableKey(id, p)
	switch {
	case old == nil:
		return st
	case !p.Changes(old):
		return Unchanged
	}
	k := p.applyTo(*old)
	k.ModIndex = index
	s.apiKeys.put(&k)
	return Updated
}

// updatableKey returns the key with that id when p's owner owns it and it
// is still valid, else nil and the status that says why not.
func (s *State) updatableKey(id string, p *APIKeyUpdatedV2) (*APIKey, Status) {
	old, ok := s.apiKeys.get(id)
	switch {
	case !ok || old.Creator.Principal != p.Owner || old.Creator.Realm != p.OwnerRealm:
		return nil, NotFound
	case old.Invalidated:
		return nil, AlreadyExists
	}
	return old, 0
}

// applyTo returns k with the parts p names replaced; LimitedBy always is.
func (p *APIKeyUpdatedV2) applyTo(k APIKey) APIKey {
	if p.RoleDescriptors != nil {
		k.RoleDescriptors = *p.RoleDescriptors
	}
	if p.Metadata != nil {
		k.Metadata = *p.Metadata
	}
	if p.Expiration != nil {
		k.Expiration = *p.Expiration
	}
	k.LimitedBy = p.LimitedBy
	return k
}

// sameJSON compares two keys by their encoding: role descriptors and
// metadata are compared as stored, which is how a no-op is recognised.
func sameJSON(a, b *APIKey) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

func applyAPIKeysInvalidatedV2(s *State, index uint64, p APIKeysInvalidatedV2) Result {
	return applyAPIKeysInvalidatedV1(s, index, APIKeysInvalidatedV1(p))
}

func applyAPIKeysInvalidatedV1(s *State, index uint64, p APIKeysInvalidatedV1) Result {
	res := Result{Status: Updated, Items: map[string]Status{}}
	for _, id := range p.IDs {
		old, ok := s.apiKeys.get(id)
		switch {
		case !ok:
			res.Items[id] = NotFound
		case old.Invalidated:
			res.Items[id] = Unchanged
		default:
			k := *old
			k.Invalidated, k.Invalidation, k.ModIndex = true, p.Time, index
			s.apiKeys.put(&k)
			res.Items[id] = Updated
		}
	}
	return res
}

func applyAPIKeysPurgedV1(s *State, _ uint64, p APIKeysPurgedV1) Result {
	return deletedItems(s.apiKeys.deleteIf(func(k *APIKey) bool {
		return (k.Invalidated && k.Invalidation < p.Before) || (k.Expiration > 0 && k.Expiration < p.Before)
	}))
}

// APIKey returns the key with that id (immutable).
func (s *State) APIKey(id string) (*APIKey, bool) {
	s.mu.RLock()
	k, ok := s.apiKeys.get(id)
	s.mu.RUnlock()
	return k, ok
}

// APIKeys returns the keys for which keep is true, ordered by creation time
// then id. keep runs under the read lock and must not block.
func (s *State) APIKeys(keep func(*APIKey) bool) []*APIKey {
	s.mu.RLock()
	out := s.apiKeys.filter(keep)
	s.mu.RUnlock()
	// Ids are unique, so the order is total and the same on every node.
	slices.SortFunc(out, func(a, b *APIKey) int {
		return cmp.Or(cmp.Compare(a.Creation, b.Creation), strings.Compare(a.ID, b.ID))
	})
	return out
}
