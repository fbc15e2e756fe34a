package fsm

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"slices"
	"strings"

	"github.com/hashicorp/raft"
)

// Snapshot stream format, version 2:
//
//	"TKSN" magic, uint16 format version
//	records: kind byte, uvarint length, body: JSON, except API keys and
//	  token pairs, which are binary (snapshot_binary.go); version 1 had
//	  JSON for those too and is still read
//	end: kind 0, then SHA-256 of every byte before it
//
// Records are written in a fixed order (by kind, then key), so two nodes
// that applied the same events write the same bytes.
const (
	snapshotMagic   = "TKSN"
	SnapshotVersion = 2
)

type recordKind byte

const (
	recEnd recordKind = iota
	recMeta
	recUser
	recReserved
	recRole
	recAppPrivilege
	recNode
	recAPIKey
	recServiceToken
	recTokenPair
	recDescriptorSet
)

// ErrBadSnapshot is returned for a snapshot that fails its checks.
var ErrBadSnapshot = errors.New("bad snapshot")

type snapshotMeta struct {
	AppliedIndex uint64 `json:"applied_index"`
	ClusterID    string `json:"cluster_id"`
	// APIKeys and Tokens are the record counts that follow, so a restore
	// sizes its maps once (version 2; a hint, capped, not trusted).
	APIKeys int `json:"api_keys,omitempty"`
	Tokens  int `json:"tokens,omitempty"`
	// sets are the descriptor sets read so far, version the stream's
	// format version (restore only).
	sets    []map[string]RoleDescriptor
	version uint16
	read    bool
}

type captured struct {
	meta     snapshotMeta
	users    map[string]*User
	reserved map[string]*ReservedUser
	roles    map[string]*Role
	appPrivs map[string]map[string]*ApplicationPrivilege
	nodes    map[string]*Node
	// The two big kinds are captured as slices, sorted later by writeTo:
	// filling a slice is several times faster than filling a map, and the
	// capture is time the FSM goroutine (every write) waits for.
	apiKeys []*APIKey
	svcToks map[string]*ServiceToken
	tokens  []*TokenPair
}

func (s *State) capture() *captured {
	s.mu.RLock()
	defer s.mu.RUnlock()
	c := &captured{
		meta:     snapshotMeta{AppliedIndex: s.applied.Load(), ClusterID: s.meta.ClusterID, APIKeys: s.apiKeys.len(), Tokens: s.tokens.len()},
		users:    copyMap(s.users),
		reserved: copyMap(s.reserved),
		roles:    copyMap(s.roles),
		appPrivs: make(map[string]map[string]*ApplicationPrivilege, len(s.appPrivs)),
		nodes:    copyMap(s.nodes),
		apiKeys:  s.apiKeys.copyAll(),
		svcToks:  copyMap(s.serviceTokens),
		tokens:   s.tokens.copyAll(),
	}
	for app, privs := range s.appPrivs {
		c.appPrivs[app] = copyMap(privs)
	}
	return c
}

func copyMap[V any](m map[string]V) map[string]V {
	out := make(map[string]V, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// WriteSnapshot writes the whole state to w in the snapshot format.
func (s *State) WriteSnapshot(w io.Writer) error {
	return s.capture().writeTo(w)
}

// Persist implements raft.FSMSnapshot.
func (c *captured) Persist(sink raft.SnapshotSink) error {
	if err := c.writeTo(sink); err != nil {
		sink.Cancel()
		return fmt.Errorf("persist snapshot: %w", err)
	}
	return sink.Close()
}

// Release implements raft.FSMSnapshot.
func (c *captured) Release() {}

type snapshotWriter struct {
	w   *bufio.Writer
	sum hash.Hash
	buf []byte
	bin binWriter
	err error
}

func (sw *snapshotWriter) write(b []byte) {
	if sw.err != nil {
		return
	}
	sw.sum.Write(b)
	_, sw.err = sw.w.Write(b)
}

func (sw *snapshotWriter) record(kind recordKind, v any) {
	body, err := json.Marshal(v)
	if err != nil && sw.err == nil {
		sw.err = err
		return
	}
	sw.frame(kind, body)
}

// binaryBody is the emptied buffer for a binary record's body.
func (sw *snapshotWriter) binaryBody() *binWriter {
	sw.bin.b = sw.bin.b[:0]
	return &sw.bin
}

func (sw *snapshotWriter) frame(kind recordKind, body []byte) {
	sw.buf = append(sw.buf[:0], byte(kind))
	sw.buf = binary.AppendUvarint(sw.buf, uint64(len(body)))
	sw.write(sw.buf)
	sw.write(body)
}

func (c *captured) writeTo(w io.Writer) error {
	sw := &snapshotWriter{w: bufio.NewWriterSize(w, 64<<10), sum: sha256.New()}
	head := append([]byte(snapshotMagic), 0, 0)
	binary.BigEndian.PutUint16(head[4:], SnapshotVersion)
	sw.write(head)
	sw.record(recMeta, c.meta)
	for _, k := range sortedKeys(c.users) {
		sw.record(recUser, c.users[k])
	}
	for _, k := range sortedKeys(c.reserved) {
		sw.record(recReserved, c.reserved[k])
	}
	for _, k := range sortedKeys(c.roles) {
		sw.record(recRole, c.roles[k])
	}
	for _, app := range sortedKeys(c.appPrivs) {
		for _, n := range sortedKeys(c.appPrivs[app]) {
			sw.record(recAppPrivilege, c.appPrivs[app][n])
		}
	}
	for _, k := range sortedKeys(c.nodes) {
		sw.record(recNode, c.nodes[k])
	}
	// Two passes: number the descriptor sets and write them, then write
	// the keys referring to them.
	slices.SortFunc(c.apiKeys, func(a, b *APIKey) int { return strings.Compare(a.ID, b.ID) })
	refs := &setRefs{ids: map[uintptr]int{}}
	for _, k := range c.apiKeys {
		refs.ref(k.RoleDescriptors)
		refs.ref(k.LimitedBy)
	}
	for i, set := range refs.sets {
		sw.record(recDescriptorSet, descriptorSetRecord{ID: i, Set: set})
	}
	for _, k := range c.apiKeys {
		encodeAPIKey(sw.binaryBody(), k, refs.ref(k.RoleDescriptors), refs.ref(k.LimitedBy))
		sw.frame(recAPIKey, sw.bin.b)
	}
	for _, k := range sortedKeys(c.svcToks) {
		sw.record(recServiceToken, c.svcToks[k])
	}
	slices.SortFunc(c.tokens, func(a, b *TokenPair) int { return strings.Compare(a.DocID, b.DocID) })
	for _, t := range c.tokens {
		encodeTokenPair(sw.binaryBody(), t)
		sw.frame(recTokenPair, sw.bin.b)
	}
	sw.write([]byte{byte(recEnd)})
	if sw.err == nil {
		_, sw.err = sw.w.Write(sw.sum.Sum(nil))
	}
	if sw.err != nil {
		return sw.err
	}
	return sw.w.Flush()
}

type hashingReader struct {
	r   *bufio.Reader
	sum hash.Hash
}

func (h *hashingReader) ReadByte() (byte, error) {
	b, err := h.r.ReadByte()
	if err == nil {
		h.sum.Write([]byte{b})
	}
	return b, err
}

func (h *hashingReader) full(b []byte) error {
	if _, err := io.ReadFull(h.r, b); err != nil {
		return err
	}
	h.sum.Write(b)
	return nil
}

// Lengths and counts read from a snapshot are claims, not facts: a backup
// comes from a client, so nothing is allocated on a claim alone.
const (
	// maxRecord bounds one record. The largest real one is a role, user or
	// key built from a request body (at most 10 MiB), re-encoded as JSON,
	// which can escape it to several times its size.
	maxRecord = 64 << 20
	// recordChunk is how much of a record's claimed length is allocated
	// before its bytes arrive; the buffer grows only as they do.
	recordChunk = 64 << 10
	// maxSizeHint caps the record counts of the meta record used to size
	// the key and token tables up front; past it they grow as records
	// arrive, so a meta record claiming fifty million keys costs nothing.
	maxSizeHint = 1 << 16
)

// body reads an n-byte record body into buf, growing buf only as bytes
// arrive, so a claimed length allocates at most twice what was really sent.
func (h *hashingReader) body(buf []byte, n uint64) ([]byte, error) {
	buf = buf[:0]
	for uint64(len(buf)) < n {
		chunk := int(min(n-uint64(len(buf)), uint64(max(len(buf), recordChunk))))
		start := len(buf)
		buf = slices.Grow(buf, chunk)[:start+chunk]
		if err := h.full(buf[start:]); err != nil {
			return buf, err
		}
	}
	return buf, nil
}

// Restore replaces the state with the snapshot read from r. The new state is
// built aside and swapped in only after the checksum matches, so a bad
// snapshot changes nothing.
func (s *State) Restore(r io.Reader) error {
	next := NewState()
	applied, err := next.readSnapshot(&hashingReader{r: bufio.NewReaderSize(r, 64<<10), sum: sha256.New()})
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.users, s.reserved, s.roles, s.appPrivs, s.nodes = next.users, next.reserved, next.roles, next.appPrivs, next.nodes
	s.apiKeys, s.serviceTokens, s.tokens, s.interned = next.apiKeys, next.serviceTokens, next.tokens, next.interned
	s.meta = next.meta
	s.applied.Store(applied)
	s.mu.Unlock()
	s.setApplied(applied)
	return nil
}

func (s *State) readSnapshot(hr *hashingReader) (uint64, error) {
	head := make([]byte, 6)
	if err := hr.full(head); err != nil || string(head[:4]) != snapshotMagic {
		return 0, fmt.Errorf("%w: missing header", ErrBadSnapshot)
	}
	var meta snapshotMeta
	var buf []byte
	if meta.version = binary.BigEndian.Uint16(head[4:]); meta.version < 1 || meta.version > SnapshotVersion {
		return 0, fmt.Errorf("%w: format version %d, this build reads 1 to %d", ErrBadSnapshot, meta.version, SnapshotVersion)
	}
	for {
		kind, err := hr.ReadByte()
		if err != nil {
			return 0, fmt.Errorf("%w: truncated", ErrBadSnapshot)
		}
		if recordKind(kind) == recEnd {
			want := hr.sum.Sum(nil)
			got := make([]byte, len(want))
			if _, err := io.ReadFull(hr.r, got); err != nil || !bytes.Equal(got, want) {
				return 0, fmt.Errorf("%w: checksum mismatch", ErrBadSnapshot)
			}
			s.meta.ClusterID = meta.ClusterID
			return meta.AppliedIndex, nil
		}
		n, err := binary.ReadUvarint(hr)
		if err != nil || n > maxRecord {
			return 0, fmt.Errorf("%w: bad record length", ErrBadSnapshot)
		}
		// Decoding copies what it keeps, so one buffer serves every record.
		body, err := hr.body(buf, n)
		buf = body
		if err != nil {
			return 0, fmt.Errorf("%w: truncated record", ErrBadSnapshot)
		}
		if err := s.restoreRecord(recordKind(kind), body, &meta); err != nil {
			return 0, fmt.Errorf("%w: record kind %d: %v", ErrBadSnapshot, kind, err)
		}
	}
}

func (s *State) restoreRecord(kind recordKind, body []byte, meta *snapshotMeta) error {
	switch kind {
	case recMeta:
		// Once, first: a second one would drop the tables filled so far.
		if meta.read {
			return errors.New("more than one meta record")
		}
		if err := json.Unmarshal(body, meta); err != nil {
			return err
		}
		meta.read = true
		s.apiKeys = newAPIKeyTable(min(max(meta.APIKeys, 0), maxSizeHint))
		s.tokens = newTokenTable(min(max(meta.Tokens, 0), maxSizeHint))
		return nil
	case recUser:
		return restoreInto(body, s.users, func(u *User) string { return u.Username })
	case recReserved:
		return restoreInto(body, s.reserved, func(r *ReservedUser) string { return r.Username })
	case recRole:
		return restoreInto(body, s.roles, func(r *Role) string { return r.Name })
	case recAppPrivilege:
		var p ApplicationPrivilege
		if err := json.Unmarshal(body, &p); err != nil {
			return err
		}
		if s.appPrivs[p.Application] == nil {
			s.appPrivs[p.Application] = map[string]*ApplicationPrivilege{}
		}
		s.appPrivs[p.Application][p.Name] = &p
		return nil
	case recNode:
		return restoreInto(body, s.nodes, func(n *Node) string { return n.ID })
	case recDescriptorSet:
		var d descriptorSetRecord
		if err := json.Unmarshal(body, &d); err != nil {
			return err
		}
		if d.ID != len(meta.sets) {
			return fmt.Errorf("descriptor set %d out of order", d.ID)
		}
		meta.sets = append(meta.sets, s.intern(d.Set))
		return nil
	case recAPIKey:
		k, rd, lb, err := decodeAPIKeyRecord(body, meta.version)
		if err != nil {
			return err
		}
		if rd >= uint64(len(meta.sets)) || lb >= uint64(len(meta.sets)) {
			return fmt.Errorf("api key %s refers to a missing descriptor set", k.ID)
		}
		k.RoleDescriptors, k.LimitedBy = meta.sets[rd], meta.sets[lb]
		s.apiKeys.put(k)
		return nil
	case recTokenPair:
		if meta.version == 1 {
			var t TokenPair
			if err := json.Unmarshal(body, &t); err != nil {
				return err
			}
			s.tokens.put(&t)
			return nil
		}
		t, err := decodeTokenPair(body)
		if err != nil {
			return err
		}
		s.tokens.put(t)
		return nil
	case recServiceToken:
		var t ServiceToken
		if err := json.Unmarshal(body, &t); err != nil {
			return err
		}
		t.salt, t.digest = DecodeSSHA256(t.Hash)
		s.serviceTokens[t.Qualified()] = &t
		return nil
	default:
		return fmt.Errorf("unknown record kind")
	}
}

func restoreInto[V any](body []byte, m map[string]*V, key func(*V) string) error {
	v := new(V)
	if err := json.Unmarshal(body, v); err != nil {
		return err
	}
	m[key(v)] = v
	return nil
}

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
