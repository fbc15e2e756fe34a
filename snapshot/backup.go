package snapshot

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/tokenstore/tokenstore/fsm"
)

// File layout: magic, uint32 header length, JSON header, SHA-256 of the
// header, then the state machine's snapshot stream, which ends with the
// SHA-256 of its own bytes. Every byte is covered by one of the two.
const (
	magic = "TKBACKUP"
	// FormatVersion is the backup format this build writes; it reads this
	// and older ones. 2: the state stream has binary API key and token
	// records (fsm.SnapshotVersion 2, or 3 once API keys have last uses).
	FormatVersion = 2
	// maxHeader bounds the JSON header, a few hundred bytes in practice.
	maxHeader = 64 << 10
	// MaxBackupSize is the largest backup a restore reads. A million API
	// keys take about 150 MiB, so this leaves room for large metadata;
	// the restored state is built in memory, so the size must be bounded.
	MaxBackupSize = 1 << 30
)

// ErrBadBackup is returned for a file that fails any check; nothing is
// restored from it.
var ErrBadBackup = errors.New("bad backup file")

// ErrTooLarge is returned for a backup over MaxBackupSize; nothing is
// restored from it.
var ErrTooLarge error = tooLargeError{}

type tooLargeError struct{}

func (tooLargeError) Error() string {
	return fmt.Sprintf("backup is larger than the limit of [%d] bytes", MaxBackupSize)
}

// TooLarge marks the error as a body over its limit, for the HTTP layer,
// which classifies it without importing this package.
func (tooLargeError) TooLarge() {}

// capped reads at most MaxBackupSize bytes and remembers going past it;
// fsm reports the cut as a truncated stream, this says why.
type capped struct {
	r    io.Reader
	left int64
	over bool
}

func (c *capped) Read(p []byte) (int, error) {
	if c.left <= 0 {
		c.over = true
		return 0, ErrTooLarge
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	return n, err
}

// Header describes a backup.
type Header struct {
	FormatVersion int            `json:"format_version"`
	ClusterID     string         `json:"cluster_id"`
	LastIndex     uint64         `json:"last_index"`
	Created       int64          `json:"created"` // epoch ms, from the node that wrote it
	Counts        map[string]int `json:"counts"`
}

// Write writes a backup of st to w, streaming the state.
func Write(w io.Writer, st *fsm.State, created int64) error {
	head, err := json.Marshal(Header{FormatVersion: FormatVersion, ClusterID: st.ClusterID(),
		LastIndex: st.AppliedIndex(), Created: created, Counts: st.Counts()})
	if err != nil {
		return err
	}
	sum := sha256.Sum256(head)
	var pre bytes.Buffer
	pre.WriteString(magic)
	binary.Write(&pre, binary.BigEndian, uint32(len(head)))
	pre.Write(head)
	pre.Write(sum[:])
	if _, err := w.Write(pre.Bytes()); err != nil {
		return err
	}
	if err := st.WriteSnapshot(w); err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	return nil
}

// ReadHeader reads and checks the header only.
func ReadHeader(r io.Reader) (Header, error) {
	var hdr Header
	head := make([]byte, len(magic)+4)
	if _, err := io.ReadFull(r, head); err != nil || string(head[:len(magic)]) != magic {
		return hdr, fmt.Errorf("%w: not a tokenstore backup", ErrBadBackup)
	}
	n := binary.BigEndian.Uint32(head[len(magic):])
	if n > maxHeader {
		return hdr, fmt.Errorf("%w: header too large", ErrBadBackup)
	}
	raw := make([]byte, int(n)+sha256.Size)
	if _, err := io.ReadFull(r, raw); err != nil {
		return hdr, fmt.Errorf("%w: truncated header", ErrBadBackup)
	}
	if sum := sha256.Sum256(raw[:n]); !bytes.Equal(sum[:], raw[n:]) {
		return hdr, fmt.Errorf("%w: header checksum mismatch", ErrBadBackup)
	}
	if err := json.Unmarshal(raw[:n], &hdr); err != nil {
		return hdr, fmt.Errorf("%w: unreadable header", ErrBadBackup)
	}
	if hdr.FormatVersion > FormatVersion {
		return hdr, fmt.Errorf("%w: format version %d is newer than this build reads (%d); use a newer tokenstore", ErrBadBackup, hdr.FormatVersion, FormatVersion)
	}
	return hdr, nil
}

// Read checks a backup and loads its state into a new, unattached State. A
// wrong checksum, a newer format or a damaged stream is an ErrBadBackup.
// A file over MaxBackupSize is an ErrTooLarge.
func Read(r io.Reader) (Header, *fsm.State, error) {
	limit := &capped{r: r, left: MaxBackupSize}
	br := bufio.NewReaderSize(limit, 256<<10)
	hdr, err := ReadHeader(br)
	if err == nil {
		st := fsm.NewState()
		if err = st.Restore(br); err == nil {
			return hdr, st, nil
		}
		err = fmt.Errorf("%w: %v", ErrBadBackup, err)
	}
	if limit.over {
		return hdr, nil, ErrTooLarge
	}
	return hdr, nil, err
}

// Restorer is what restoring needs of the cluster: the live state, and
// installing a state stream through Raft so every node converges.
// cluster.Node satisfies it.
type Restorer interface {
	State() *fsm.State
	RestoreSnapshot(r io.Reader, size int64) error
	// CanRestore refuses a state built with event versions some member
	// does not apply yet (during a rolling upgrade).
	CanRestore(built fsm.EventVersions) error
}

// Restore checks a backup and installs its state into the cluster, keeping
// the cluster's own membership and id. A bad file changes nothing.
func Restore(n Restorer, r io.Reader) (Header, error) {
	hdr, st, err := Read(r)
	if err != nil {
		return hdr, err
	}
	if err := n.CanRestore(st.EventsApplied()); err != nil {
		return hdr, err
	}
	st.AdoptCluster(n.State())
	// Raft needs the snapshot's size up front, so the stream is staged in a
	// temporary file (it holds hashes only, like the backup itself).
	tmp, err := os.CreateTemp("", "tokenstore-restore-*")
	if err != nil {
		return hdr, err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	if err := st.WriteSnapshot(tmp); err != nil {
		return hdr, fmt.Errorf("stage restore: %w", err)
	}
	size, err := tmp.Seek(0, io.SeekCurrent)
	if err == nil {
		_, err = tmp.Seek(0, io.SeekStart)
	}
	if err != nil {
		return hdr, err
	}
	if err := n.RestoreSnapshot(bufio.NewReaderSize(tmp, 256<<10), size); err != nil {
		return hdr, fmt.Errorf("install backup through raft: %w", err)
	}
	return hdr, nil
}
