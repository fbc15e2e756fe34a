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
	"maps"
	"slices"

	"github.com/hashicorp/raft"
)

// Snapshot stream format, version 3:
//
//	"TKSN" magic, uint16 format version
//	records: kind byte, uvarint length, body: JSON, except API keys, their
//	  last uses and token pairs, which are binary (snapshot_binary.go,
//	  apikey_used.go); version 1 had JSON for those too and is still read,
//	  and versions 1 and 2 had no last uses
//	end: kind 0, then SHA-256 of every byte before it
//
// Records are written in a fixed order (by kind, then key), so two nodes
// that applied the same events write the same bytes.
//
// Profile records (recProfile) came without a new format version: a state
// has them only after applying a profile event, which its meta record's
// Events then names, so an older build refuses such a snapshot at the meta
// record (NewerEventsError) before it meets the unknown kind, and still
// reads every snapshot without profiles.
const (
	snapshotMagic   = "TKSN"
	SnapshotVersion = 3
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
	recAPIKeyUse
	recProfile
)

// recordKinds is the one table of snapshot records: a new kind is a
// number above and one entry here, whose functions live in its resource's
// file. Records are written in this order, each kind by key, so two nodes
// that applied the same events write the same bytes.
var recordKinds = []recordEntry{
	{recMeta, captureMeta, restoreMeta},
	keyed(recUser, func(s *State) map[string]*User { return s.users }),
	keyed(recReserved, func(s *State) map[string]*ReservedUser { return s.reserved }),
	keyed(recRole, func(s *State) map[string]*Role { return s.roles }),
	{recAppPrivilege, captureAppPrivileges, restoreAppPrivilege},
	keyed(recNode, func(s *State) map[string]*Node { return s.nodes }),
	// Written by the API key entry, before the keys that refer to them.
	{recDescriptorSet, nil, restoreDescriptorSet},
	{recAPIKey, captureAPIKeys, restoreAPIKey},
	// After the keys: a last use is restored onto its key.
	{recAPIKeyUse, captureKeyUses, restoreKeyUse},
	keyed(recServiceToken, func(s *State) map[string]*ServiceToken { return s.serviceTokens }),
	{recTokenPair, captureTokenPairs, restoreTokenPair},
	keyed(recProfile, func(s *State) map[string]*Profile { return s.profiles }),
}

// recordEntry is how one kind of record is written and read.
type recordEntry struct {
	kind recordKind
	// capture copies the kind's records under the state's read lock and
	// returns what writes them later, without the lock; nil for a kind
	// another entry writes.
	capture func(s *State) recordWriter
	// restore adds one record to a state being restored.
	restore func(s *State, body []byte, r *restoring) error
}

type recordWriter func(sw *snapshotWriter)

// restoring is what a restore knows besides the state it fills.
type restoring struct {
	version  uint16 // the stream's format version
	meta     snapshotMeta
	metaRead bool
	sets     []map[string]RoleDescriptor // the descriptor sets read so far
}

var restorers = indexRecords(recordKinds)

func indexRecords(table []recordEntry) map[recordKind]func(*State, []byte, *restoring) error {
	byKind := make(map[recordKind]func(*State, []byte, *restoring) error, len(table))
	for _, e := range table {
		byKind[e.kind] = e.restore
	}
	return byKind
}

// keyedRecord is a record the state keeps in a map by its key.
type keyedRecord[V any] interface {
	*V
	recordKey() string
}

// keyed is the entry of a kind the state keeps in a map by key, written as
// JSON. A record that keeps its hash decoded (decodeHash) decodes it again.
func keyed[V any, P keyedRecord[V]](kind recordKind, records func(*State) map[string]P) recordEntry {
	capture := func(s *State) recordWriter {
		captured := maps.Clone(records(s))
		return func(sw *snapshotWriter) {
			for _, k := range slices.Sorted(maps.Keys(captured)) {
				sw.record(kind, captured[k])
			}
		}
	}
	restore := func(s *State, body []byte, _ *restoring) error {
		p := P(new(V))
		if err := json.Unmarshal(body, p); err != nil {
			return err
		}
		if h, ok := any(p).(interface{ decodeHash() }); ok {
			h.decodeHash()
		}
		records(s)[p.recordKey()] = p
		return nil
	}
	return recordEntry{kind, capture, restore}
}

// ErrBadSnapshot is returned for a snapshot that fails its checks.
var ErrBadSnapshot = errors.New("bad snapshot")

type snapshotMeta struct {
	AppliedIndex uint64 `json:"applied_index"`
	ClusterID    string `json:"cluster_id"`
	// APIKeys and Tokens are the record counts that follow, so a restore
	// sizes its tables once (version 2; a hint, capped, not trusted).
	APIKeys int `json:"api_keys,omitempty"`
	Tokens  int `json:"tokens,omitempty"`
	// Events is the highest version of each event type the state has
	// applied; a build that lacks one refuses the snapshot (NewerEventsError).
	Events EventVersions `json:"events,omitempty"`
}

func captureMeta(s *State) recordWriter {
	m := snapshotMeta{AppliedIndex: s.applied.Load(), ClusterID: s.meta.ClusterID, APIKeys: s.apiKeys.len(), Tokens: s.tokens.len(),
		Events: maps.Clone(s.meta.events)}
	return func(sw *snapshotWriter) { sw.record(recMeta, m) }
}

func restoreMeta(s *State, body []byte, r *restoring) error {
	// Once: a second one would drop the tables filled so far.
	if r.metaRead {
		return errors.New("more than one meta record")
	}
	if err := json.Unmarshal(body, &r.meta); err != nil {
		return err
	}
	if lacks := Applies().Lacks(r.meta.Events); len(lacks) > 0 {
		return &NewerEventsError{Lacks: lacks}
	}
	r.metaRead = true
	s.apiKeys = newAPIKeyTable(min(max(r.meta.APIKeys, 0), maxSizeHint))
	s.tokens = newTokenTable(min(max(r.meta.Tokens, 0), maxSizeHint))
	return nil
}

// captured is a state's records copied for a snapshot: the writers of
// every kind, in table order, and the format version they need.
type captured struct {
	writers []recordWriter
	version uint16
}

// lastUseVersion is the first format with API key last uses. A state
// without any is written as the version before, which builds that cannot
// apply APIKeysUsed (and so read no last uses) still restore during a
// rolling upgrade: a leader on the new build sends them its snapshots.
const lastUseVersion = 3

func (s *State) capture() captured {
	s.mu.RLock()
	defer s.mu.RUnlock()
	c := captured{writers: make([]recordWriter, 0, len(recordKinds)), version: lastUseVersion - 1}
	if s.apiKeys.marks != nil {
		c.version = lastUseVersion
	}
	for _, e := range recordKinds {
		if e.capture != nil {
			c.writers = append(c.writers, e.capture(s))
		}
	}
	return c
}

// WriteSnapshot writes the whole state to w in the snapshot format.
func (s *State) WriteSnapshot(w io.Writer) error {
	return s.capture().writeTo(w)
}

// Persist implements raft.FSMSnapshot.
func (c captured) Persist(sink raft.SnapshotSink) error {
	if err := c.writeTo(sink); err != nil {
		sink.Cancel()
		return fmt.Errorf("persist snapshot: %w", err)
	}
	return sink.Close()
}

// Release implements raft.FSMSnapshot.
func (c captured) Release() {}

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

func (c captured) writeTo(w io.Writer) error {
	sw := &snapshotWriter{w: bufio.NewWriterSize(w, 64<<10), sum: sha256.New()}
	head := append([]byte(snapshotMagic), 0, 0)
	binary.BigEndian.PutUint16(head[4:], c.version)
	sw.write(head)
	for _, write := range c.writers {
		write(sw)
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
	s.contents = next.contents
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
	r := &restoring{version: binary.BigEndian.Uint16(head[4:])}
	if r.version < 1 || r.version > SnapshotVersion {
		return 0, fmt.Errorf("%w: format version %d, this build reads 1 to %d", ErrBadSnapshot, r.version, SnapshotVersion)
	}
	var buf []byte
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
			s.meta.ClusterID, s.meta.events = r.meta.ClusterID, r.meta.Events
			return r.meta.AppliedIndex, nil
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
		restore, ok := restorers[recordKind(kind)]
		if !ok {
			return 0, fmt.Errorf("%w: record kind %d: unknown record kind", ErrBadSnapshot, kind)
		}
		if err := restore(s, body, r); err != nil {
			if newer, ok := errors.AsType[*NewerEventsError](err); ok {
				return 0, newer
			}
			return 0, fmt.Errorf("%w: record kind %d: %v", ErrBadSnapshot, kind, err)
		}
	}
}
