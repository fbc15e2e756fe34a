package console

import (
	"encoding/json"
	"net/http"
	"sort"
)

// statusPath is where every node's console answers with its own Raft
// figures, for the cluster page of whichever node the browser is on.
const statusPath = Prefix + "/status.json"

// handleStatusJSON answers a peer's console (or anyone) holding a credential
// with the monitor privilege; the API's stats endpoint decides that.
func (c *Console) handleStatusJSON(w http.ResponseWriter, r *http.Request) {
	a := c.call(r, r.Header.Get("Authorization"), http.MethodGet, "/_tokenstore/stats", nil)
	w.Header().Set("Content-Type", "application/json")
	if !a.OK() {
		w.WriteHeader(a.Status)
		w.Write(a.Body)
		return
	}
	json.NewEncoder(w).Encode(c.cfg.Status())
}

// nodeRow is one line of the cluster page.
type nodeRow struct {
	NodeStatus
	Role, Health, Error string
	Lag                 uint64
}

type clusterData struct {
	Health string
	Leader string
	Nodes  []nodeRow
	Counts []countRow
}

type countRow struct {
	Kind  string
	Count int
}

func (c *Console) handleCluster(w http.ResponseWriter, q *request) {
	if !q.can.Monitor {
		c.fail(w, q, "Cluster", answer{Status: http.StatusForbidden, Body: esError(http.StatusForbidden, "the monitor privilege is needed")})
		return
	}
	a := c.api(q, http.MethodGet, "/_cluster/health", nil)
	var health struct {
		Status string `json:"status"`
	}
	if !a.OK() || a.decode(&health) != nil {
		c.fail(w, q, "Cluster", a)
		return
	}
	d := clusterData{Health: health.Status, Nodes: c.nodeRows(q)}
	self := c.cfg.Status()
	for k, n := range self.Counts {
		d.Counts = append(d.Counts, countRow{k, n})
	}
	sort.Slice(d.Counts, func(i, j int) bool { return d.Counts[i].Kind < d.Counts[j].Kind })
	for _, n := range d.Nodes {
		if n.Role == "leader" {
			d.Leader = n.ID
		}
	}
	v := q.view("Cluster", "cluster")
	v.Data = d
	c.render(w, http.StatusOK, "cluster", v)
}

// nodeRows asks every member for its status; lag is how far a member's
// applied index is behind the leader's commit index.
func (c *Console) nodeRows(q *request) []nodeRow {
	var rows []nodeRow
	var commit uint64
	for _, ans := range c.cfg.AskPeers(q.Context(), statusPath, q.s.credential) {
		row := nodeRow{NodeStatus: NodeStatus{ID: ans.Member}, Health: "ok"}
		switch {
		case ans.Self:
			row.NodeStatus = c.cfg.Status()
		case ans.Err != nil:
			row.Health, row.Error = "unreachable", ans.Err.Error()
		case json.Unmarshal(ans.Body, &row.NodeStatus) != nil:
			row.Health = "bad answer"
		}
		row.Role = roleOf(row.NodeStatus, row.Health == "ok")
		if row.Role == "leader" {
			commit = row.CommitIndex
		}
		rows = append(rows, row)
	}
	for i := range rows {
		if rows[i].Health == "ok" && commit > rows[i].AppliedIndex {
			rows[i].Lag = commit - rows[i].AppliedIndex
		}
	}
	return rows
}

func roleOf(s NodeStatus, answered bool) string {
	switch {
	case !answered:
		return "unknown"
	case s.State == "Leader":
		return "leader"
	case !s.Voter:
		return "non-voter"
	case s.State == "Follower":
		return "follower"
	}
	return s.State
}
