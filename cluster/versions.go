package cluster

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/hashicorp/raft"

	"github.com/tokenstore/tokenstore/fsm"
)

// Rolling upgrades. Every member registers the event versions its build
// applies (fsm.Node.Applies, through registerLoop and joins). The leader
// appends an event of a version above fsm.Baseline only once every member
// of the configuration has registered that it applies it: CanPropose is the
// one decision, asked by the node a write comes to (Propose) and again by
// applyLocal, where the leader appends. A member that meets an entry it
// cannot apply anyway halts (fsm.HaltError): it applies nothing more and
// refuses to serve. A build that would start on a log or snapshot holding
// events it lacks refuses to start (checkLogApplies, Open).

// UnsupportedEventError refuses an event that some members cannot apply yet
// (during a rolling upgrade): the leader appends it once they all can.
type UnsupportedEventError struct {
	Event   fsm.EventKey
	Members []string // the members that lack it
	reason  string   // as the leader gave it, on a node that forwarded
}

func (e *UnsupportedEventError) Error() string {
	if e.reason != "" {
		return e.reason
	}
	return fmt.Sprintf("%s is not written until every member applies it, and [%s] do not yet: upgrade them first",
		e.Event, strings.Join(e.Members, ", "))
}

// EventNotSupported marks the error for the HTTP layer (a 400, as
// Elasticsearch refuses a feature some nodes of a mixed cluster lack).
func (e *UnsupportedEventError) EventNotSupported() {}

// CanPropose decides whether the leader may append event now: a version
// up to the baseline always, a newer one once every member of the
// configuration applies it (a member not registered yet, or registered by
// an older build, is taken to apply the baseline).
func (n *Node) CanPropose(event []byte) error {
	k, err := fsm.Header(event)
	if err != nil || fsm.Baseline.Has(k.Type, k.Version) {
		return nil // Validate refuses what does not decode
	}
	return n.everyMemberApplies(fsm.EventVersions{k.Type: k.Version})
}

// CanRestore is CanPropose for a backup: every member must apply every
// event version its state was built with, or installing it would halt them.
func (n *Node) CanRestore(built fsm.EventVersions) error {
	return n.everyMemberApplies(built)
}

func (n *Node) everyMemberApplies(want fsm.EventVersions) error {
	beyond := fsm.Baseline.Lacks(want)
	if len(beyond) == 0 {
		return nil
	}
	f := n.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return fmt.Errorf("%w: read the configuration: %v", ErrUnavailable, err)
	}
	for _, k := range beyond {
		var lacking []string
		for _, s := range f.Configuration().Servers {
			id := string(s.ID)
			applies := fsm.Applies()
			if id != n.cfg.ID {
				node, _ := n.State().Node(id)
				applies = node.AppliesOrBaseline()
			}
			if !applies.Has(k.Type, k.Version) {
				lacking = append(lacking, id)
			}
		}
		if len(lacking) > 0 {
			slices.Sort(lacking)
			return &UnsupportedEventError{Event: k, Members: lacking}
		}
	}
	return nil
}

// yieldLeadership hands leadership on from a halted node, which can append
// nothing (registerLoop asks while the node is halted): elected anyway, it
// would stop every write until replaced.
func (n *Node) yieldLeadership() {
	if !n.IsLeader() {
		return
	}
	if err := n.raft.LeadershipTransfer().Error(); err != nil {
		n.log.Warn("a halted leader could not hand leadership on", "error", err)
	}
}

// appliesState refuses a new member whose build lacks events the state was
// built with: it would halt as soon as it caught up, a voter that never
// serves. (Without versions, a build is taken to apply the baseline.)
func (n *Node) appliesState(req joinRequest) error {
	joining := fsm.Node{Applies: req.Applies}
	if lacks := joining.AppliesOrBaseline().Lacks(n.State().EventsApplied()); len(lacks) > 0 {
		return &memberConflict{fmt.Sprintf("node [%s] runs a build that does not apply %s, which the cluster's state holds: upgrade it before it joins",
			truncate(req.ID, 64), fsm.JoinKeys(lacks, false))}
	}
	return nil
}

// Halted returns why this node stopped applying the log (an entry or a
// snapshot of a newer build), or nil. A halted node serves nothing.
func (n *Node) Halted() error { return n.fsm.Halted() }

// onHalt is told once when the state machine stops applying.
func (n *Node) onHalt(h *fsm.HaltError) {
	n.log.Error("this node stopped applying the log and refuses to serve: " + h.Error())
}

// checkLogApplies reads every command entry of the log store before Raft
// starts, and refuses a log that holds events this build does not apply:
// a newer build wrote them, and this node would halt on them (a downgrade
// after a new event).
func checkLogApplies(logs raft.LogStore) error {
	first, err := logs.FirstIndex()
	if err != nil {
		return err
	}
	last, err := logs.LastIndex()
	if err != nil {
		return err
	}
	found := fsm.EventVersions{}
	var at uint64
	for i := max(first, 1); first > 0 && i <= last; i++ {
		var l raft.Log
		if err := logs.GetLog(i, &l); err != nil {
			if errors.Is(err, raft.ErrLogNotFound) {
				continue
			}
			return fmt.Errorf("read log entry %d: %w", i, err)
		}
		if l.Type != raft.LogCommand {
			continue
		}
		k, err := fsm.Header(l.Data)
		if err != nil || fsm.Applies().Has(k.Type, k.Version) {
			continue
		}
		if at == 0 {
			at = i
		}
		found[k.Type] = max(found[k.Type], k.Version)
	}
	if at == 0 {
		return nil
	}
	return &fsm.NewerEventsError{Lacks: fsm.Applies().Lacks(found), Index: at}
}

// refusedDowngrade words a refusal to start.
func refusedDowngrade(err error) error {
	return fmt.Errorf("refusing to start this build on this data dir (a downgrade after a newer build wrote events it lacks): %w", err)
}
