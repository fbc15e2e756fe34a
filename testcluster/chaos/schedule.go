package chaos

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenstore/tokenstore/testcluster"
)

// FaultKind is one kind of fault the schedule injects.
type FaultKind uint8

// The faults of the issue, in their rotation.
const (
	KillFollower FaultKind = iota
	KillLeader
	KillAll
	PartitionLeader
	SkewClock
	// KillNonVoter and PartitionNonVoter run only on clusters with
	// non-voting members: one is killed and restarted, or cut off and
	// healed, while revocations must still hold on it.
	KillNonVoter
	PartitionNonVoter
	numFaultKinds
)

func (k FaultKind) String() string {
	return [...]string{"kill-follower", "kill-leader", "kill-all", "partition-leader", "skew-clock",
		"kill-non-voter", "partition-non-voter"}[k]
}

// kinds are the fault kinds this cluster can take.
func (s *Schedule) kinds() []FaultKind {
	k := []FaultKind{KillFollower, KillLeader, KillAll, PartitionLeader, SkewClock}
	if s.C.NonVoters() > 0 {
		k = append(k, KillNonVoter, PartitionNonVoter)
	}
	return k
}

// Fault is one injected fault. Start, Lifted and End are on the
// recorder's clock: Lifted is when the nodes were restarted, healed or
// their clock set right, End when the cluster had recovered.
type Fault struct {
	Kind               FaultKind
	Nodes              []int
	Start, Lifted, End int64
	Detail             string
}

func (f Fault) String() string {
	s := fmt.Sprintf("%s of node %v [%.3fs, %.3fs]", f.Kind, f.Nodes, seconds(f.Start), seconds(f.End))
	if f.Detail != "" {
		s += " " + f.Detail
	}
	return s
}

// Schedule injects faults into a cluster in rotation while a workload runs.
// Its methods run on the test goroutine: they use the cluster's helpers,
// which fail the test when the cluster does not recover in time.
type Schedule struct {
	C    *testcluster.Cluster
	W    *Workload
	Rand *rand.Rand
	// Hold is how long a node stays down, cut off or skewed.
	Hold time.Duration
	// Quiet is how long the healthy cluster runs between faults.
	Quiet time.Duration
	// Recover bounds every wait for the cluster to heal, elect or serve.
	Recover time.Duration
	// Skew is the clock offset of the skew fault (alternately ahead and
	// behind).
	Skew time.Duration

	skews  int
	mu     sync.Mutex
	Faults []Fault
	// Failovers are the times from a leader's kill until a create on a
	// survivor succeeded; PartitionFailovers the same from the leader's
	// isolation.
	Failovers, PartitionFailovers []time.Duration
	// StepDowns are the times the isolated leader took to stop leading.
	StepDowns []time.Duration
	// IsolatedWrites counts the schedule's creates sent to an isolated
	// node and how many of them were acknowledged (which must be none).
	IsolatedWrites, IsolatedWritesAcked int
	// SpuriousElections counts leader changes between faults.
	SpuriousElections int
	// Notes are observations worth reporting that are not failures.
	Notes []string
}

// probeClient is the client id of the schedule's own writes.
const probeClient = 1000

// Run injects faults until the deadline has passed and every kind has run
// at least once.
func (s *Schedule) Run(t testing.TB, until time.Time) {
	t.Helper()
	var order []FaultKind
	for n := 0; n < len(s.kinds()) || time.Now().Before(until); n++ {
		if len(order) == 0 {
			order = s.kinds()
			s.Rand.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		}
		kind := order[0]
		order = order[1:]
		f := Fault{Kind: kind, Start: s.W.Rec.Now()}
		switch kind {
		case KillFollower:
			s.killFollower(t, &f)
		case KillLeader:
			s.killLeader(t, &f)
		case KillAll:
			s.killAll(t, &f)
		case PartitionLeader:
			s.partitionLeader(t, &f)
		case SkewClock:
			s.skewClock(t, &f)
		case KillNonVoter:
			s.killNonVoter(&f)
		case PartitionNonVoter:
			s.partitionNonVoter(&f)
		}
		s.WaitHealthy(t)
		f.End = s.W.Rec.Now()
		s.mu.Lock()
		s.Faults = append(s.Faults, f)
		s.mu.Unlock()
		t.Logf("fault %d: %v", n+1, f)
		s.watchQuiet(t)
	}
}

// watchQuiet lets the workload run on the healthy cluster for Quiet and
// counts leader changes meanwhile: with no fault, each is a spurious
// election, a sign of Raft timeouts too short for the machine.
func (s *Schedule) watchQuiet(t testing.TB) {
	leader := s.C.Leader()
	for end := time.Now().Add(s.Quiet); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if l := s.C.Leader(); l >= 0 && l != leader {
			s.mu.Lock()
			s.SpuriousElections++
			s.mu.Unlock()
			t.Logf("leader changed from %d to %d with no fault", leader, l)
			leader = l
		}
	}
}

func (s *Schedule) note(format string, args ...any) {
	s.mu.Lock()
	s.Notes = append(s.Notes, fmt.Sprintf(format, args...))
	s.mu.Unlock()
}

func (s *Schedule) killFollower(t testing.TB, f *Fault) {
	fs := slices.DeleteFunc(s.C.Followers(), s.C.NonVoter)
	if len(fs) == 0 {
		t.Fatal("no follower to kill")
	}
	n := fs[s.Rand.IntN(len(fs))]
	f.Nodes = []int{n}
	s.C.Kill(n)
	s.hold()
	f.Lifted = s.W.Rec.Now()
	s.C.Restart(n)
}

func (s *Schedule) killLeader(t testing.TB, f *Fault) {
	l := s.C.WaitForLeader(s.Recover)
	f.Nodes = []int{l}
	killed := time.Now()
	s.C.Kill(l)
	took, ok := s.writeUntilOK(others(s.C.Len(), l), killed.Add(s.Recover))
	if !ok {
		t.Fatalf("no create succeeded on the survivors within %v of the leader's kill", s.Recover)
	}
	f.Detail = fmt.Sprintf("writes again after %v", took.Round(time.Millisecond))
	s.mu.Lock()
	s.Failovers = append(s.Failovers, took)
	s.mu.Unlock()
	s.holdSince(killed)
	f.Lifted = s.W.Rec.Now()
	s.C.Restart(l)
}

func (s *Schedule) killAll(t testing.TB, f *Fault) {
	var wg sync.WaitGroup
	for i := range s.C.Len() {
		f.Nodes = append(f.Nodes, i)
		wg.Add(1)
		go func() { defer wg.Done(); s.C.Kill(i) }()
	}
	wg.Wait()
	s.hold()
	order := s.Rand.Perm(s.C.Len())
	restarted := time.Now()
	f.Lifted = s.W.Rec.Now()
	for _, i := range order {
		s.C.Restart(i)
	}
	took, ok := s.writeUntilOK(order, restarted.Add(s.Recover))
	if !ok {
		t.Fatalf("no create succeeded within %v of restarting every node", s.Recover)
	}
	f.Detail = fmt.Sprintf("restarted in order %v; writes again %v after the first restart", order, took.Round(time.Millisecond))
}

// partitionLeader cuts the leader off: it must step down, the majority must
// elect another leader and accept writes, and a write sent to the old
// leader must fail rather than be acknowledged and lost.
func (s *Schedule) partitionLeader(t testing.TB, f *Fault) {
	l := s.C.WaitForLeader(s.Recover)
	f.Nodes = []int{l}
	cut := time.Now()
	s.C.Partition(l)
	rest := others(s.C.Len(), l)
	took, ok := s.writeUntilOK(rest, cut.Add(s.Recover))
	if !ok {
		t.Fatalf("the majority accepted no create within %v of isolating leader %d", s.Recover, l)
	}
	var stepDown time.Duration
	s.C.Eventually(s.Recover, fmt.Sprintf("isolated node %d steps down", l), func() bool {
		stepDown = time.Since(cut)
		return !s.C.Node(l).Cluster().IsLeader()
	})
	newLeader := s.C.WaitForLeader(s.Recover)
	if newLeader == l {
		t.Fatalf("isolated node %d leads again", l)
	}
	op := s.W.Create(probeClient, l)
	s.mu.Lock()
	s.PartitionFailovers = append(s.PartitionFailovers, took)
	s.StepDowns = append(s.StepDowns, stepDown)
	s.IsolatedWrites++
	if op.Outcome == OK {
		s.IsolatedWritesAcked++
	}
	s.mu.Unlock()
	if op.Outcome == OK {
		t.Errorf("isolated node %d acknowledged create %s", l, op.Key)
	}
	f.Detail = fmt.Sprintf("stepped down after %v, majority writes after %v, new leader %d; a create on the isolated node got %d %s",
		stepDown.Round(time.Millisecond), took.Round(time.Millisecond), newLeader, op.Status, op.Outcome)
	s.holdSince(cut)
	f.Lifted = s.W.Rec.Now()
	s.C.Heal(l)
}

// skewClock moves one node's clock by minutes, checks that keys with an
// expiry stay right on the others, and sets the clock back.
func (s *Schedule) skewClock(t testing.TB, f *Fault) {
	n := s.Rand.IntN(s.C.Len())
	d := s.Skew
	if s.skews%2 == 1 {
		d = -d
	}
	s.skews++
	f.Nodes = []int{n}
	f.Detail = fmt.Sprintf("by %v", d)
	start := time.Now()
	s.C.SkewClock(n, d)
	s.checkExpiry(t, n, d)
	s.holdSince(start)
	f.Lifted = s.W.Rec.Now()
	s.C.SkewClock(n, 0)
}

// writeUntilOK sends creates to nodes in turn until one is acknowledged or
// the deadline passes, and returns how long that took.
func (s *Schedule) writeUntilOK(nodes []int, deadline time.Time) (time.Duration, bool) {
	start := time.Now()
	for i := 0; time.Now().Before(deadline); i++ {
		if op := s.W.Create(probeClient, nodes[i%len(nodes)]); op.Outcome == OK {
			return time.Since(start), true
		}
		time.Sleep(10 * time.Millisecond) // pacing between attempts; the result is what the loop waits for
	}
	return time.Since(start), false
}

func (s *Schedule) hold() { time.Sleep(s.Hold) }

func (s *Schedule) holdSince(t0 time.Time) {
	if d := s.Hold - time.Since(t0); d > 0 {
		time.Sleep(d)
	}
}

// WaitHealthy waits until every node runs, all agree on one leader, and
// the leader counts every node as a registered voter.
func (s *Schedule) WaitHealthy(t testing.TB) {
	t.Helper()
	s.C.Eventually(s.Recover, "every node up and agreeing on the leader", func() bool {
		leader := ""
		for i := range s.C.Len() {
			srv := s.C.Node(i)
			if srv == nil {
				return false
			}
			id := srv.Cluster().Leader()
			if id == "" || (leader != "" && id != leader) {
				return false
			}
			leader = id
		}
		return true
	})
	s.C.WaitForMembers(s.C.Voters(), s.C.NonVoters(), s.Recover)
}

func others(n, skip int) []int {
	var out []int
	for i := range n {
		if i != skip {
			out = append(out, i)
		}
	}
	return out
}

// Stats summarizes durations as min/median/max.
func Stats(ds []time.Duration) string {
	if len(ds) == 0 {
		return "none"
	}
	s := slices.Sorted(slices.Values(ds))
	r := func(d time.Duration) time.Duration { return d.Round(time.Millisecond) }
	return fmt.Sprintf("n=%d min %v median %v max %v", len(s), r(s[0]), r(s[len(s)/2]), r(s[len(s)-1]))
}

// FaultCounts is e.g. "kill-follower=3 kill-leader=3 ...".
func FaultCounts(fs []Fault) string {
	counts := map[FaultKind]int{}
	for _, f := range fs {
		counts[f.Kind]++
	}
	var parts []string
	for k := KillFollower; k < numFaultKinds; k++ {
		if counts[k] > 0 || k < KillNonVoter {
			parts = append(parts, fmt.Sprintf("%s=%d", k, counts[k]))
		}
	}
	return strings.Join(parts, " ")
}
