package chaos

// randomNonVoter picks one of the cluster's non-voting members.
func (s *Schedule) randomNonVoter() int {
	var nvs []int
	for i := range s.C.Len() {
		if s.C.NonVoter(i) {
			nvs = append(nvs, i)
		}
	}
	return nvs[s.Rand.IntN(len(nvs))]
}

// killNonVoter crashes a non-voter and restarts it after Hold: writes go
// on meanwhile (it is no part of the quorum), and a revocation is
// acknowledged only once the dead member's read lease has surely run out.
func (s *Schedule) killNonVoter(f *Fault) {
	n := s.randomNonVoter()
	f.Nodes = []int{n}
	s.C.Kill(n)
	s.hold()
	f.Lifted = s.W.Rec.Now()
	s.C.Restart(n)
}

// partitionNonVoter cuts a non-voter off for Hold: it keeps answering from
// its state only within its lease, and the workload's clients still reach
// it, so a revocation acknowledged meanwhile must be refused there too.
func (s *Schedule) partitionNonVoter(f *Fault) {
	n := s.randomNonVoter()
	f.Nodes = []int{n}
	s.C.Partition(n)
	s.hold()
	f.Lifted = s.W.Rec.Now()
	s.C.Heal(n)
}
