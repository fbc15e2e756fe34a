package httpapi

import (
	"net/http"
	"time"

	"github.com/tokenstore/tokenstore/authn"
)

// actionMembership reads the membership: under cluster:monitor/*, so the
// monitor privilege grants it (it names nodes and addresses, no
// credential).
const actionMembership = "cluster:monitor/tokenstore/cluster"

// nonVoterRole is a non-voter's letter in _cat/nodes: Elasticsearch's "d"
// (data) for a node that holds the state and answers from it but is not
// master-eligible; voters are "m".
const nonVoterRole = "d"

// MemberView is one member in GET /_tokenstore/cluster's answer.
type MemberView struct {
	ID            string `json:"id"`
	HTTPAddress   string `json:"http_address"`
	RaftAddress   string `json:"raft_address"`
	Voter         bool   `json:"voter"`
	Leader        bool   `json:"leader"`
	Alive         bool   `json:"alive"`
	LastContact   string `json:"last_contact,omitempty"` // with ?human
	LastContactMS *int64 `json:"last_contact_ms"`
	AppliedIndex  uint64 `json:"applied_index"`
	Lag           uint64 `json:"lag"`
	Version       string `json:"version,omitempty"`
}

// Membership is GET /_tokenstore/cluster's answer; the cluster
// subcommand reads it too.
type Membership struct {
	ClusterUUID string       `json:"cluster_uuid"`
	Leader      string       `json:"leader"`
	AnsweredBy  string       `json:"answered_by"`
	Members     []MemberView `json:"members"`
}

// handleMembership lists every member as this node sees it: the
// configuration is the same everywhere; contact, applied index and lag are
// this node's latest view (ask the leader for the leader's).
func (s *Server) handleMembership(w http.ResponseWriter, r *http.Request, c authn.Caller) error {
	if err := s.authn.Authorize(c, actionMembership); err != nil {
		return err
	}
	members, err := s.cluster.Members()
	if err != nil {
		return err
	}
	out := Membership{ClusterUUID: s.cluster.ClusterID(), Leader: s.cluster.Leader(), AnsweredBy: s.cluster.NodeID(),
		Members: make([]MemberView, 0, len(members))}
	human := humanOn(r)
	for _, m := range members {
		j := MemberView{ID: m.ID, HTTPAddress: m.HTTPAddr, RaftAddress: m.RaftAddr, Voter: m.Voter, Leader: m.Leader,
			Alive: m.Alive, AppliedIndex: m.Applied, Lag: m.Lag, Version: m.Version}
		if m.LastContact >= 0 {
			ms := m.LastContact.Milliseconds()
			j.LastContactMS = &ms
			if human {
				j.LastContact = timeValue(time.Duration(ms) * time.Millisecond)
			}
		}
		out.Members = append(out.Members, j)
	}
	writeJSON(w, r, http.StatusOK, out)
	return nil
}

// changeMember serves promote, demote and remove: the change runs on the
// leader, which authorizes the caller again (leaderOnly forwards it).
func (s *Server) changeMember(change MemberChange) handlerFunc {
	return s.leaderOnly(func(w http.ResponseWriter, r *http.Request, c authn.Caller) error {
		id, err := pathVar(r, "id")
		if err != nil {
			return err
		}
		if err := s.cluster.ChangeMember(c, id, change); err != nil {
			return err
		}
		writeJSON(w, r, http.StatusOK, map[string]any{"acknowledged": true, "node": id, "change": change})
		return nil
	})
}
