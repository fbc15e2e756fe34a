package httpapi

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/tokenstore/tokenstore/authn"
	"github.com/tokenstore/tokenstore/authn/authz"
)

// Cluster is what the API needs of the cluster this node runs in; package
// node supplies it. Operations that change or read the whole cluster
// authorize the caller themselves; one that only the leader carries out
// returns ErrLeaderOnly on another node.
type Cluster interface {
	// NodeID is this node's id; ClusterID the cluster's, "" before bootstrap.
	NodeID() string
	ClusterID() string
	// Members lists the members in id order; Leader is the leader's id, or
	// "" when none is known.
	Members() ([]Member, error)
	Leader() string
	// ForwardToLeader passes a request on to the leader, as it came.
	ForwardToLeader(w http.ResponseWriter, r *http.Request) error
	// AskMembers sends a GET for path with the client's credential to
	// every other member, and returns one answer per member.
	AskMembers(ctx context.Context, path, credential string) ([]MemberAnswer, error)
	// AddVotingExclusions removes the named nodes from the voting
	// configuration.
	AddVotingExclusions(c authn.Caller, names []string) error
	// ChangeMember promotes a non-voter, demotes a voter, or removes a
	// member (leader only).
	ChangeMember(c authn.Caller, id string, change MemberChange) error
	// Backup returns what writes a backup of the state once every write
	// acknowledged before the call is in it.
	Backup(ctx context.Context, c authn.Caller) (func(io.Writer) error, error)
	// Restore installs a backup of size bytes (-1: unknown) through Raft.
	Restore(c authn.Caller, backup io.Reader, size int64) (RestoreSummary, error)
	// Internal is the handler of the endpoints nodes call each other on,
	// all under prefix; nodeOnly are those that carry no client credential.
	Internal() (prefix string, nodeOnly []string, h http.Handler)
	// RequirePeer admits only other nodes where they prove it by
	// certificate (transport TLS), and everyone otherwise.
	RequirePeer(h http.Handler) http.Handler
	// Halted says why this node stopped applying the log (an event of a
	// newer build), or nil: a halted node answers every request with 503.
	Halted() error
}

// Member is one node of the cluster as this node sees it.
type Member struct {
	ID       string
	HTTPAddr string
	RaftAddr string
	Voter    bool
	Leader   bool
	// Alive says this node reached it recently.
	Alive bool
	// LastContact is how long ago this node last heard from it (-1: never).
	LastContact time.Duration
	// Applied is its applied log index; Lag how far it trails the highest
	// applied index this node knows of.
	Applied, Lag uint64
	// Version is the build it runs, "" when unknown.
	Version string
}

// MemberChange is an operator's change to one member.
type MemberChange string

// The changes ChangeMember makes.
const (
	Promote MemberChange = "promote"
	Demote  MemberChange = "demote"
	Remove  MemberChange = "remove"
)

// memberChangeActions are the actions of the membership changes. Each is
// under the owner prefix or is the voting-exclusions action, which manage
// does not grant: a member removed comes back only by joining (all), and
// promoting or demoting decides which nodes the quorum depends on. Only
// all grants them.
var memberChangeActions = map[MemberChange]string{
	Promote: authz.OwnerPrefix + "members/promote",
	Demote:  authz.OwnerPrefix + "members/demote",
	Remove:  actionAddVotingExclusions,
}

// Action is the action that authorizes the change ("" for no change of
// ours): Cluster.ChangeMember authorizes it, and a run-as refusal on the
// change's route names it.
func (m MemberChange) Action() string { return memberChangeActions[m] }

// MemberAnswer is one member's answer to Cluster.AskMembers: Body when it
// answered 200, else Err. Self marks this node, which is not asked.
type MemberAnswer struct {
	Member string
	Self   bool
	Body   []byte
	Err    error
}

// RestoreSummary describes the backup a restore installed.
type RestoreSummary struct {
	FormatVersion int
	ClusterID     string
	LastIndex     uint64
	Counts        map[string]int
}

// Version is the Elasticsearch version this API is compatible with.
const Version = "8.15.0"

func (s *Server) handleRoot(w http.ResponseWriter, r *http.Request, c authn.Caller) error {
	if err := s.authn.Authorize(c, "cluster:monitor/main"); err != nil {
		return err
	}
	clusterID := s.cluster.ClusterID()
	if clusterID == "" {
		clusterID = "_na_"
	}
	writeJSON(w, r, http.StatusOK, map[string]any{
		"name": s.cluster.NodeID(), "cluster_name": s.cfg.ClusterName, "cluster_uuid": clusterID,
		"version": map[string]any{
			"number": Version, "build_flavor": "default", "build_type": "tokenstore", "build_hash": "tokenstore",
			"build_date": "2026-11-23T00:00:00.000Z", "build_snapshot": false, "lucene_version": "9.11.1",
			"minimum_wire_compatibility_version": "7.17.0", "minimum_index_compatibility_version": "7.0.0",
		},
		"tagline": "You Know, for Search",
	})
	return nil
}

type healthResponse struct {
	ClusterName             string `json:"cluster_name"`
	Status                  string `json:"status"`
	TimedOut                bool   `json:"timed_out"`
	NumberOfNodes           int    `json:"number_of_nodes"`
	NumberOfDataNodes       int    `json:"number_of_data_nodes"`
	ActivePrimaryShards     int    `json:"active_primary_shards"`
	ActiveShards            int    `json:"active_shards"`
	RelocatingShards        int    `json:"relocating_shards"`
	InitializingShards      int    `json:"initializing_shards"`
	UnassignedShards        int    `json:"unassigned_shards"`
	DelayedUnassignedShards int    `json:"delayed_unassigned_shards"`
	NumberOfPendingTasks    int    `json:"number_of_pending_tasks"`
	NumberOfInFlightFetch   int    `json:"number_of_in_flight_fetch"`
	// With ?human, the readable twins come before the raw values, as
	// Elasticsearch writes them.
	TaskMaxWaitingInQueue       string  `json:"task_max_waiting_in_queue,omitempty"`
	TaskMaxWaitingInQueueMillis int     `json:"task_max_waiting_in_queue_millis"`
	ActiveShardsPercentHuman    string  `json:"active_shards_percent,omitempty"`
	ActiveShardsPercent         float64 `json:"active_shards_percent_as_number"`
}

// withHuman adds the readable twins ?human asks for.
func (h healthResponse) withHuman(r *http.Request) healthResponse {
	if humanOn(r) {
		h.TaskMaxWaitingInQueue = timeValue(time.Duration(h.TaskMaxWaitingInQueueMillis) * time.Millisecond)
		h.ActiveShardsPercentHuman = percentage(h.ActiveShardsPercent)
	}
	return h
}

var statusRank = map[string]int{"red": 0, "yellow": 1, "green": 2}

// health is green when a leader is known and every voter answers, yellow
// when a leader is known but some voter does not, red without a leader.
func (s *Server) health() healthResponse {
	h := healthResponse{ClusterName: s.cfg.ClusterName, Status: "red", ActiveShardsPercent: 100}
	members, err := s.cluster.Members()
	if err != nil {
		return h
	}
	all := true
	for _, m := range members {
		if m.Alive {
			h.NumberOfNodes++
			h.NumberOfDataNodes++
		} else if m.Voter {
			all = false
		}
	}
	switch {
	case s.cluster.Leader() == "":
	case all:
		h.Status = "green"
	default:
		h.Status = "yellow"
	}
	return h
}

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request, c authn.Caller) error {
	if err := s.authn.Authorize(c, "cluster:monitor/health"); err != nil {
		return err
	}
	q := r.URL.Query()
	wantStatus := q.Get("wait_for_status")
	if _, ok := statusRank[wantStatus]; wantStatus != "" && !ok {
		return badRequest("illegal_argument_exception", fmt.Sprintf("unknown cluster health status [%s]", wantStatus))
	}
	wantNodes := q.Get("wait_for_nodes")
	timeout := 30 * time.Second
	if v := q.Get("timeout"); v != "" {
		d, err := authn.ParseTimeValue("timeout", v)
		if err != nil {
			return badRequest("illegal_argument_exception", err.Error())
		}
		timeout = d
	}
	// A long poll holds a connection: it waits at most half the request
	// timeout, so its answer is written before the connection's deadline,
	// and answers as a timed-out wait does.
	deadline := time.Now().Add(min(timeout, s.cfg.RequestTimeout/2))
	for {
		h := s.health().withHuman(r)
		if (wantStatus == "" || statusRank[h.Status] >= statusRank[wantStatus]) && nodesOK(wantNodes, h.NumberOfNodes) {
			writeJSON(w, r, http.StatusOK, h)
			return nil
		}
		if wantStatus == "" && wantNodes == "" || time.Now().After(deadline) {
			h.TimedOut = wantStatus != "" || wantNodes != ""
			status := http.StatusOK
			if h.TimedOut {
				status = http.StatusRequestTimeout
			}
			writeJSON(w, r, status, h)
			return nil
		}
		select {
		case <-r.Context().Done():
			return nil
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// nodesOK evaluates wait_for_nodes: "N", ">=N", "<=N", ">N", "<N".
func nodesOK(expr string, n int) bool {
	if expr == "" {
		return true
	}
	for _, op := range []string{">=", "<=", ">", "<", "ge(", "le(", "gt(", "lt("} {
		if rest, ok := strings.CutPrefix(expr, op); ok {
			want, err := strconv.Atoi(strings.TrimSuffix(rest, ")"))
			if err != nil {
				return false
			}
			switch op {
			case ">=", "ge(":
				return n >= want
			case "<=", "le(":
				return n <= want
			case ">", "gt(":
				return n > want
			default:
				return n < want
			}
		}
	}
	want, err := strconv.Atoi(expr)
	return err == nil && n == want
}

func hostOf(addr string) string {
	h, _, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	return h
}

func (s *Server) handleCatMaster(w http.ResponseWriter, r *http.Request, c authn.Caller) error {
	if err := s.authn.Authorize(c, "cluster:monitor/state"); err != nil {
		return err
	}
	members, err := s.cluster.Members()
	if err != nil {
		return err
	}
	var rows []map[string]any
	for _, m := range members {
		if m.Leader {
			ip := hostOf(m.HTTPAddr)
			rows = append(rows, map[string]any{"id": m.ID, "host": ip, "ip": ip, "node": m.ID})
		}
	}
	if rows == nil {
		rows = []map[string]any{{"id": "-", "host": "-", "ip": "-", "node": "-"}}
	}
	return writeCat(w, r, []string{"id", "host", "ip", "node"}, rows)
}

// catNodesActions are the actions Elasticsearch's _cat/nodes sends, in
// order: a caller is refused at the first it may not perform.
var catNodesActions = []string{"cluster:monitor/state", "cluster:monitor/nodes/info", "cluster:monitor/nodes/stats"}

func (s *Server) handleCatNodes(w http.ResponseWriter, r *http.Request, c authn.Caller) error {
	for _, action := range catNodesActions {
		if err := s.authn.Authorize(c, action); err != nil {
			return err
		}
	}
	members, err := s.cluster.Members()
	if err != nil {
		return err
	}
	var rows []map[string]any
	for _, m := range members {
		if !m.Alive {
			continue
		}
		master, heap, role := "-", any(nil), "m"
		if m.Leader {
			master = "*"
		}
		if m.ID == s.cluster.NodeID() {
			heap = heapPercent()
		}
		if !m.Voter {
			role = nonVoterRole
		}
		rows = append(rows, map[string]any{"ip": hostOf(m.HTTPAddr), "heap.percent": heap, "node.role": role,
			"master": master, "name": m.ID})
	}
	return writeCat(w, r, []string{"ip", "heap.percent", "node.role", "master", "name"}, rows)
}

func heapPercent() string {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	if ms.Sys == 0 {
		return "0"
	}
	return strconv.FormatUint(ms.HeapAlloc*100/ms.Sys, 10)
}

// writeCat writes a _cat table as text, or as JSON with ?format=json.
func writeCat(w http.ResponseWriter, r *http.Request, cols []string, rows []map[string]any) error {
	q := r.URL.Query()
	switch q.Get("format") {
	case "json":
		if rows == nil {
			rows = []map[string]any{}
		}
		writeJSON(w, r, http.StatusOK, rows)
		return nil
	case "", "txt", "text":
	default:
		return badRequest("illegal_argument_exception", "unsupported format ["+q.Get("format")+"]")
	}
	var b strings.Builder
	_, header := q["v"]
	if header {
		b.WriteString(strings.Join(cols, " ") + "\n")
	}
	for _, row := range rows {
		vals := make([]string, len(cols))
		for i, c := range cols {
			if v := row[c]; v != nil {
				vals[i] = fmt.Sprint(v)
			} else {
				vals[i] = "-"
			}
		}
		b.WriteString(strings.Join(vals, " ") + "\n")
	}
	w.Header().Set("Content-Type", "text/plain; charset=UTF-8")
	w.Write([]byte(b.String()))
	return nil
}

func (s *Server) handleAddVotingExclusion(w http.ResponseWriter, r *http.Request, c authn.Caller) error {
	if err := s.cluster.AddVotingExclusions(c, authn.SplitNames(r.URL.Query().Get("node_names"))); err != nil {
		return err
	}
	w.Header().Set("Content-Type", responseMediaType(r))
	return nil
}

func (s *Server) handleClearVotingExclusions(w http.ResponseWriter, r *http.Request, c authn.Caller) error {
	// Removed nodes are gone from the configuration; there is no exclusion
	// list to clear. A removed node comes back by joining again.
	return s.authn.Authorize(c, actionClearVotingExclusions)
}
