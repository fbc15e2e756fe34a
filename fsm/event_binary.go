package fsm

import (
	"encoding/json"
	"errors"
	"sync"
)

// The compact events. API key creates, token grants and refreshes and
// invalidations are nearly all of the log under load, so each has a version
// whose body is a fixed sequence of the snapshot's binary fields
// (binWriter, binReader) instead of JSON: fewer bytes in the log and on the
// wire, and no reflection to decode on every node. Role descriptor maps
// stay JSON inside it, as in snapshots. The field order is the format: a
// changed order or a new field is a new version (TestCompactEventsCoverEveryField
// and TestCompactEventBytes guard it). An older member cannot read them, so
// they are written only once every member applies them (Compact).

// compactWriter is a payload written in the compact encoding.
type compactWriter interface {
	appendCompact(w *binWriter) error
}

// compactPayload is a pointer to a payload read from the compact encoding.
type compactPayload interface {
	readCompact(r *binReader)
}

// Compact returns p as the compact version of its event, when it has one,
// which applies to the same state; ok is false for every other payload.
// The caller writes it only once every member applies it.
func Compact(p Payload) (c Payload, ok bool) {
	switch p := p.(type) {
	case APIKeyCreatedV1:
		// Version 1 drops remote_cluster; version 3 keeps what it is given.
		p.Key.RoleDescriptors, p.Key.LimitedBy = withoutRemoteCluster(p.Key.RoleDescriptors), withoutRemoteCluster(p.Key.LimitedBy)
		return APIKeyCreatedV3(p), true
	case APIKeyCreatedV2:
		return APIKeyCreatedV3(p), true
	case APIKeysInvalidatedV1:
		return APIKeysInvalidatedV2(p), true
	case TokenIssuedV1:
		return TokenIssuedV2(p), true
	case TokenRefreshedV1:
		return TokenRefreshedV2(p), true
	case TokensInvalidatedV1:
		return TokensInvalidatedV2(p), true
	}
	return p, false
}

func (p APIKeyCreatedV3) appendCompact(w *binWriter) error {
	k := &p.Key
	appendKeyHead(w, k)
	for _, set := range []map[string]RoleDescriptor{k.RoleDescriptors, k.LimitedBy} {
		b, err := json.Marshal(set)
		if err != nil {
			return err
		}
		w.raw(b)
	}
	appendKeyOwner(w, k)
	return nil
}

func (p *APIKeyCreatedV3) readCompact(r *binReader) {
	k := &p.Key
	k.ID, k.Name, k.Type = r.str(), r.str(), r.str()
	k.setHash(r.bytes())
	k.Creation, k.Expiration, k.Invalidated, k.Invalidation = r.int(), r.int(), r.bool(), r.int()
	k.RoleDescriptors, k.LimitedBy = r.descriptors(), r.descriptors()
	k.Metadata = r.json()
	k.Creator = Creator{Principal: r.str(), FullName: r.optStr(), Email: r.optStr(), Metadata: r.json(),
		Realm: r.str(), RealmType: r.str()}
}

func (p APIKeysInvalidatedV2) appendCompact(w *binWriter) error {
	w.int(p.Time)
	w.strs(p.IDs)
	return nil
}

func (p *APIKeysInvalidatedV2) readCompact(r *binReader) {
	p.Time, p.IDs = r.int(), r.strs()
}

func (p TokenIssuedV2) appendCompact(w *binWriter) error {
	appendNewPair(w, &p.Pair)
	return nil
}

func (p *TokenIssuedV2) readCompact(r *binReader) { readNewPair(r, &p.Pair) }

func (p TokenRefreshedV2) appendCompact(w *binWriter) error {
	w.str(p.DocID)
	w.int(p.Time)
	w.str(p.Salt)
	appendNewPair(w, &p.NewPair)
	return nil
}

func (p *TokenRefreshedV2) readCompact(r *binReader) {
	p.DocID, p.Time, p.Salt = r.str(), r.int(), r.str()
	readNewPair(r, &p.NewPair)
}

func (p TokensInvalidatedV2) appendCompact(w *binWriter) error {
	w.uint(uint64(len(p.Tokens)))
	for _, t := range p.Tokens {
		w.str(t.DocID)
		w.bool(t.Refresh)
	}
	return nil
}

func (p *TokensInvalidatedV2) readCompact(r *binReader) {
	n := r.count()
	if n == 0 {
		return
	}
	p.Tokens = make([]TokenInvalidation, n)
	for i := range p.Tokens {
		p.Tokens[i] = TokenInvalidation{DocID: r.str(), Refresh: r.bool()}
	}
}

// appendNewPair writes a pair as an event carries it: every field but
// ModIndex, which the index of the entry sets (a snapshot record adds it:
// encodeTokenPair).
func appendNewPair(w *binWriter, t *TokenPair) {
	w.str(t.DocID)
	w.str(t.AccessHash)
	w.str(t.RefreshHash)
	w.int(t.Creation)
	w.int(t.GrantTime)
	w.int(t.AccessExpiry)
	w.str(t.Username)
	w.str(t.Realm)
	w.str(t.RealmType)
	w.str(t.APIKeyID)
	w.str(t.Client)
	w.bool(t.AccessInvalidated)
	w.bool(t.RefreshInvalidated)
	w.int(t.RefreshTime)
	w.str(t.RefreshSalt)
	w.str(t.Superseding)
}

func readNewPair(r *binReader, t *TokenPair) {
	*t = TokenPair{DocID: r.str(), AccessHash: r.str(), RefreshHash: r.str(), Creation: r.int(), GrantTime: r.int(),
		AccessExpiry: r.int(), Username: r.common(), Realm: r.common(), RealmType: r.common(), APIKeyID: r.str(),
		Client: r.common(), AccessInvalidated: r.bool(), RefreshInvalidated: r.bool(), RefreshTime: r.int(),
		RefreshSalt: r.str(), Superseding: r.str()}
}

func (w *binWriter) strs(v []string) {
	w.uint(uint64(len(v)))
	for _, s := range v {
		w.str(s)
	}
}

// count reads the length of a list whose items take at least a byte each,
// so a corrupt length fails here instead of allocating.
func (r *binReader) count() int {
	n := r.uint()
	if n > uint64(len(r.b)) {
		r.fail()
		return 0
	}
	return int(n)
}

func (r *binReader) strs() []string {
	n := r.count()
	if n == 0 {
		return nil
	}
	out := make([]string, n)
	for i := range out {
		out[i] = r.str()
	}
	return out
}

var errBadJSON = errors.New("a JSON field of the event is not valid JSON")

// json reads a raw JSON field (empty for none), which must be valid JSON:
// a JSON event's decoding guaranteed it, and answers encode it again.
func (r *binReader) json() json.RawMessage {
	b := r.raw()
	if len(b) > 0 && !json.Valid(b) && r.err == nil {
		r.err = errBadJSON
	}
	return b
}

// setReader reads a role descriptor map from its JSON.
type setReader func(b []byte) (map[string]RoleDescriptor, error)

// descriptors reads a role descriptor map given as its JSON. Applying, it
// is the state's shared copy (internJSON): an owner's limited_by repeats
// in every key it creates, and is then decoded once, not at every create.
func (r *binReader) descriptors() map[string]RoleDescriptor {
	b := r.bytes()
	if r.err != nil {
		return nil
	}
	var set map[string]RoleDescriptor
	var err error
	if r.sets != nil {
		set, err = r.sets(b)
	} else {
		err = json.Unmarshal(b, &set)
	}
	if err != nil {
		r.err = err
		r.b = nil
	}
	return set
}

// checkedSets is the descriptor JSON Validate has seen decode (the same
// few limited_by snapshots come with every create), so that it is checked
// once rather than at every proposal, on the proposing node and again on
// the leader. Bounded in bytes: emptied when full.
var checkedSets = struct {
	sync.Mutex
	seen  map[string]struct{}
	bytes int
}{seen: map[string]struct{}{}}

const maxCheckedSetBytes = 1 << 20

// checkSetJSON is the setReader of Validate: it checks that b decodes, and
// returns no map.
func checkSetJSON(b []byte) (map[string]RoleDescriptor, error) {
	checkedSets.Lock()
	_, ok := checkedSets.seen[string(b)]
	checkedSets.Unlock()
	if ok {
		return nil, nil
	}
	var set map[string]RoleDescriptor
	if err := json.Unmarshal(b, &set); err != nil {
		return nil, err
	}
	checkedSets.Lock()
	defer checkedSets.Unlock()
	if checkedSets.bytes+len(b) > maxCheckedSetBytes {
		clear(checkedSets.seen)
		checkedSets.bytes = 0
	}
	if len(b) <= maxCheckedSetBytes/16 {
		checkedSets.seen[string(b)] = struct{}{}
		checkedSets.bytes += len(b)
	}
	return nil, nil
}
