package cluster

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hashicorp/raft"

	"github.com/tokenstore/tokenstore/fsm"
)

// A node whose data path cannot be written (a full disk, an I/O error)
// stays a member and keeps answering what it can from the state it has:
//
//   - Writes sent to it are refused at once with a 503 that names the
//     cause (UnavailableError), rather than appended and lost: a leader
//     whose log store fails steps down in hashicorp/raft, and a follower
//     could not apply what it forwarded.
//   - As leader it hands leadership to a peer, so the cluster goes on
//     writing; a leader that cannot store its own entries would otherwise
//     keep failing every write. As follower it calls no elections
//     (holdElections): hashicorp/raft steps a leader down at its first
//     failed append, and, as up to date as any, it would be re-elected and
//     fail again, over and over.
//   - As follower it fails to store entries and lags (hashicorp/raft takes
//     a failed append for a log mismatch and retries further back, with a
//     growing pause); heartbeats still reach it, so it neither calls
//     elections nor stops judging credentials by its state, as long as
//     nothing it lacks may revoke. When the leader waits for it to apply a
//     revocation (confirmOn asks for its status with the index), or an
//     entry that may revoke fails to be stored here, it fences itself: it
//     answers no credential from its state, and says so (Status.Fenced), so
//     the leader need not wait for it before acknowledging the revocation.
//   - A follower that cannot store entries cannot catch up with the
//     leader; it counts as caught up, for the credentials it has, when the
//     leader finds that every entry it lacks only adds (waitCaughtUp).
//   - Raft's term and vote live in stableFile, which needs no new space,
//     since hashicorp/raft panics when it cannot save a term.
//
// A probe notices when space returns; the fence lifts after a catch-up
// with the leader that began once the disk was writable again.
type diskHealth struct {
	node *Node
	dir  string
	// fault is why the data path cannot be written; nil while it can.
	fault atomic.Pointer[string]
	// fenceSeq counts fencings; cleared is the fenceSeq that a catch-up
	// begun on a writable disk has covered. Fenced while they differ.
	fenceSeq, cleared atomic.Uint64
	// faults counts the times the data path stopped taking writes;
	// covered is the count a catch-up begun on a writable disk has covered.
	// While they differ the node may lag for want of space.
	faults, covered atomic.Uint64
	transferLogged  atomic.Bool
	// wake has the loop act at once on a failure the stores saw.
	wake chan struct{}
	// held is the Raft timing in force before elections were held (nil
	// while they are not); only the loop touches it.
	held *raft.ReloadableConfig
}

const (
	// diskProbeEvery is how often the free space is looked at, and a
	// faulty data path tried again.
	diskProbeEvery = time.Second
	// diskMinFree is the space a node keeps free: below it, it refuses
	// writes before the stores fail (as Elasticsearch's flood stage does).
	diskMinFree = 16 << 20
	// diskProbeBytes is written (and synced) to see that a faulty data
	// path takes writes again.
	diskProbeBytes = 64 << 10
)

// UnavailableError is a write this node could not carry, with the reason
// the client is told (a full disk here or on the leader).
type UnavailableError struct{ Reason string }

func (e *UnavailableError) Error() string { return e.Reason }

// Unavailable marks the error as "the cluster could not carry the write".
func (e *UnavailableError) Unavailable() {}

// UnavailableReason is the reason for the client.
func (e *UnavailableError) UnavailableReason() string { return e.Reason }

// err is the error for a write while the data path cannot be written.
func (d *diskHealth) err() error {
	if r := d.fault.Load(); r != nil {
		return &UnavailableError{Reason: fmt.Sprintf("node [%s] cannot write its data path [%s]: %s", d.node.cfg.ID, d.dir, *r)}
	}
	return nil
}

// failed records a write to the data path that failed, and returns the
// error Raft passes on to whoever proposed the entries.
func (d *diskHealth) failed(what string, err error) error {
	reason := fmt.Sprintf("%s: %v", what, err)
	if d.fault.Swap(&reason) == nil {
		d.faults.Add(1)
		select {
		case d.wake <- struct{}{}:
		default:
		}
		d.node.log.Error("the data path cannot be written: writes are refused until it can", "dir", d.dir, "error", reason)
	}
	return d.err()
}

// missed is told of entries this node failed to store: any that may
// revoke fences it.
func (d *diskHealth) missed(logs []*raft.Log) {
	for _, l := range logs {
		if mayRevoke(l) {
			d.fence(l.Index)
			return
		}
	}
}

func mayRevoke(l *raft.Log) bool { return l.Type == raft.LogCommand && !fsm.OnlyAdds(l.Data) }

// fence stops this node from answering credentials from its state until a
// catch-up on a writable disk: it may lack the revocation at index.
func (d *diskHealth) fence(index uint64) {
	d.node.fresh.caughtUp.Store(false)
	if d.fenceSeq.Add(1) == d.cleared.Load()+1 {
		d.node.log.Warn("cannot store a revocation: answering no credential from local state until caught up", "index", index)
	}
}

// fenceFor fences this node if it has not applied index and may not for
// want of space (its disk is faulty, or was since it last caught up); it
// reports whether the node is fenced.
func (d *diskHealth) fenceFor(index uint64) bool {
	if d.node.State().AppliedIndex() < index && (d.fault.Load() != nil || d.faults.Load() != d.covered.Load()) {
		d.fence(index)
	}
	return d.fenced()
}

// fenced reports whether this node may lack a revocation it failed to store.
func (d *diskHealth) fenced() bool { return d.fenceSeq.Load() != d.cleared.Load() }

// catchUpStarted is called as a catch-up begins; its result, called once
// the catch-up succeeded, lifts the fences it covers: those before it, if
// the data path was writable when it began.
func (d *diskHealth) catchUpStarted() func() {
	seq, faults, writable := d.fenceSeq.Load(), d.faults.Load(), d.fault.Load() == nil
	return func() {
		if writable {
			raise(&d.cleared, seq)
			raise(&d.covered, faults)
		}
	}
}

// raise sets v to at least to.
func raise(v *atomic.Uint64, to uint64) {
	for {
		c := v.Load()
		if c >= to || v.CompareAndSwap(c, to) {
			return
		}
	}
}

func (d *diskHealth) loop() {
	t := time.NewTicker(diskProbeEvery)
	defer t.Stop()
	for {
		select {
		case <-d.node.stopped:
			return
		case <-t.C:
			d.check()
		case <-d.wake:
		}
		if d.fault.Load() == nil {
			d.holdElections(false)
			d.transferLogged.Store(false)
			continue
		}
		if d.node.IsLeader() {
			d.holdElections(false) // a leadership transfer waits an election timeout
			d.handOver()
		} else {
			d.holdElections(true)
			d.freshen()
		}
	}
}

// check looks at the free space and, while faulty, tries a write.
func (d *diskHealth) check() {
	var st syscall.Statfs_t
	if err := syscall.Statfs(d.dir, &st); err == nil {
		if free := st.Bavail * uint64(st.Bsize); free < diskMinFree {
			d.failed("no space left on device", fmt.Errorf("%d bytes free, under the %d kept free", free, diskMinFree))
			return
		}
	}
	if d.fault.Load() == nil {
		return
	}
	if err := probeWrite(d.dir); err != nil {
		d.failed("write probe", err)
		return
	}
	d.fault.Store(nil)
	d.node.log.Info("the data path takes writes again", "dir", d.dir)
}

// probeWrite writes, syncs and removes a small file in dir.
func probeWrite(dir string) error {
	path := filepath.Join(dir, ".write-probe")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	defer os.Remove(path)
	_, err = f.Write(make([]byte, diskProbeBytes))
	if err == nil {
		err = f.Sync()
	}
	return errors.Join(err, f.Close())
}
