package cluster

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"sort"
	"sync"

	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
)

// stableFile is Raft's stable store (the current term and the last vote)
// in a small file of fixed size whose blocks are written when it is made
// and only overwritten after: an update needs no new space, so a full disk
// cannot fail it. That matters because hashicorp/raft panics when it cannot
// save a new term, which a node meets whenever a peer starts an election.
//
// The file holds two slots; each update writes the whole state into the
// slot the last one did not use (sequence q in slot q%2), with a sequence number and a checksum,
// and syncs. A torn write spoils at most that slot; reading takes the valid
// slot with the higher sequence.
//
// Every update is also written, best effort, to the BoltDB store that held
// these keys before this file existed, so that an older build started on
// the same data dir reads the term as it was (unless the disk was full).
type stableFile struct {
	mu     sync.Mutex
	f      *os.File
	seq    uint64
	values map[string][]byte
	legacy raft.StableStore
	closed bool
}

const (
	stableSlot  = 4096
	stableMagic = "TSS1"
	stableHead  = 4 + 8 + 4 + 4 // magic, sequence, length, CRC-32C
)

var stableCRC = crc32.MakeTable(crc32.Castagnoli)

// stableKeys are the keys hashicorp/raft keeps in its stable store, copied
// from BoltDB when the file is first made.
var stableKeys = []string{"CurrentTerm", "LastVoteTerm", "LastVoteCand"}

// openStableFile opens path, or makes it from what legacy holds.
func openStableFile(path string, legacy *raftboltdb.BoltStore) (*stableFile, error) {
	s := &stableFile{values: map[string][]byte{}, legacy: legacy}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if errors.Is(err, os.ErrNotExist) {
		f, err = s.create(path)
	}
	if err != nil {
		return nil, fmt.Errorf("stable store %s: %w", path, err)
	}
	s.f = f
	if err := s.load(); err != nil {
		f.Close()
		return nil, fmt.Errorf("stable store %s: %w", path, err)
	}
	return s, nil
}

// create writes both slots in full under a temporary name (the first with
// the keys BoltDB holds), syncs, and renames it into place.
func (s *stableFile) create(path string) (*os.File, error) {
	for _, k := range stableKeys {
		if v, err := s.legacy.Get([]byte(k)); err == nil {
			s.values[k] = v
		}
	}
	tmp := path + ".new"
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, err
	}
	img, err := s.encode(1)
	if err == nil {
		// Sequence q lives in slot q%2: the first, 1, in the second slot.
		_, err = f.WriteAt(append(make([]byte, stableSlot), img...), 0)
	}
	if err == nil {
		err = f.Sync()
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err == nil {
		err = syncDir(filepath.Dir(path))
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// encode is the state as one slot: header, then (key, value) pairs with
// uvarint lengths, by key.
func (s *stableFile) encode(seq uint64) ([]byte, error) {
	keys := make([]string, 0, len(s.values))
	for k := range s.values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var body []byte
	for _, k := range keys {
		body = binary.AppendUvarint(body, uint64(len(k)))
		body = append(body, k...)
		body = binary.AppendUvarint(body, uint64(len(s.values[k])))
		body = append(body, s.values[k]...)
	}
	if stableHead+len(body) > stableSlot {
		return nil, fmt.Errorf("stable state of %d bytes does not fit a slot", len(body))
	}
	slot := make([]byte, stableSlot)
	copy(slot, stableMagic)
	binary.BigEndian.PutUint64(slot[4:], seq)
	binary.BigEndian.PutUint32(slot[12:], uint32(len(body)))
	binary.BigEndian.PutUint32(slot[16:], crc32.Checksum(body, stableCRC))
	copy(slot[stableHead:], body)
	return slot, nil
}

// load reads the valid slot with the higher sequence.
func (s *stableFile) load() error {
	buf := make([]byte, 2*stableSlot)
	if _, err := s.f.ReadAt(buf, 0); err != nil {
		return err
	}
	found := false
	for i := 0; i < 2; i++ {
		seq, values, ok := decodeSlot(buf[i*stableSlot : (i+1)*stableSlot])
		if ok && (!found || seq > s.seq) {
			s.seq, s.values, found = seq, values, true
		}
	}
	if !found {
		return errors.New("neither slot is valid")
	}
	return nil
}

func decodeSlot(slot []byte) (uint64, map[string][]byte, bool) {
	if !bytes.Equal(slot[:4], []byte(stableMagic)) {
		return 0, nil, false
	}
	seq := binary.BigEndian.Uint64(slot[4:])
	n := int(binary.BigEndian.Uint32(slot[12:]))
	if n > stableSlot-stableHead {
		return 0, nil, false
	}
	body := slot[stableHead : stableHead+n]
	if crc32.Checksum(body, stableCRC) != binary.BigEndian.Uint32(slot[16:]) {
		return 0, nil, false
	}
	values := map[string][]byte{}
	for len(body) > 0 {
		var kv [2][]byte
		for j := range kv {
			l, w := binary.Uvarint(body)
			if w <= 0 || uint64(len(body)-w) < l {
				return 0, nil, false
			}
			kv[j], body = body[w:w+int(l)], body[w+int(l):]
		}
		values[string(kv[0])] = kv[1]
	}
	return seq, values, true
}

// Set writes the whole state, with key set, into the other slot and syncs.
func (s *stableFile) Set(key, val []byte) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		// Raft's transport may still be in a heartbeat of the stopped node
		// (it handles heartbeats outside Raft's loop, so Shutdown does not
		// wait for them) and would panic on an error: the write neither
		// fails nor happens, and the heartbeat is never answered.
		select {}
	}
	defer s.mu.Unlock()
	prev, had := s.values[string(key)]
	s.values[string(key)] = bytes.Clone(val)
	img, err := s.encode(s.seq + 1)
	if err == nil {
		if _, err = s.f.WriteAt(img, int64((s.seq+1)%2)*stableSlot); err == nil {
			err = s.f.Sync()
		}
	}
	if err != nil {
		if had {
			s.values[string(key)] = prev
		} else {
			delete(s.values, string(key))
		}
		return fmt.Errorf("save %s: %w", key, err)
	}
	s.seq++
	s.legacy.Set(key, val) // best effort, for older builds; see stableFile
	return nil
}

// Get returns a key's value, or raft-boltdb's "not found", which Raft
// recognizes.
func (s *stableFile) Get(key []byte) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.values[string(key)]
	if !ok {
		return nil, raftboltdb.ErrKeyNotFound
	}
	return bytes.Clone(v), nil
}

func (s *stableFile) SetUint64(key []byte, val uint64) error {
	return s.Set(key, binary.BigEndian.AppendUint64(nil, val))
}

func (s *stableFile) GetUint64(key []byte) (uint64, error) {
	v, err := s.Get(key)
	if err != nil {
		return 0, err
	}
	if len(v) != 8 {
		return 0, fmt.Errorf("stable value %s is %d bytes, not 8", key, len(v))
	}
	return binary.BigEndian.Uint64(v), nil
}

func (s *stableFile) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return s.f.Close()
}
