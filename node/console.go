package node

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/tokenstore/tokenstore/httpapi/console"
)

// withConsole serves the browser console at /_console/ in front of the
// API it is made of; every other path goes to the API unchanged.
func (n *Node) withConsole(api http.Handler) http.Handler {
	return console.New(console.Config{API: api, TLS: n.tls.server != nil, Status: n.consoleStatus,
		AskPeers: n.askPeers, Logger: n.cfg.Logger}).Mount(api)
}

// consoleStatus is this node's Raft figures and record counts.
func (n *Node) consoleStatus() console.NodeStatus {
	stats := n.cluster.Stats()
	st := console.NodeStatus{ID: n.cfg.NodeID, HTTPAddr: n.URL(), State: stats["state"],
		LastContact: readableContact(stats["last_contact"]), AppliedIndex: n.cluster.State().AppliedIndex(),
		Counts: n.cluster.State().Counts()}
	st.CommitIndex, _ = strconv.ParseUint(stats["commit_index"], 10, 64)
	if ms, err := n.cluster.Members(); err == nil {
		for _, m := range ms {
			if m.ID == n.cfg.NodeID {
				st.Voter = m.Voter
			}
		}
	}
	return st
}

// readableContact rounds Raft's last contact ("6.427122ms") to what a
// person reads at a glance ("6ms"); "never" and the like pass unchanged.
func readableContact(s string) string {
	d, err := time.ParseDuration(s)
	if err != nil || d < time.Millisecond {
		return s
	}
	return d.Round(time.Millisecond).String()
}

func (n *Node) askPeers(ctx context.Context, path, credential string) []console.PeerAnswer {
	answers, err := n.cluster.AskMembers(ctx, path, credential)
	if err != nil {
		return []console.PeerAnswer{{Member: n.cfg.NodeID, Self: true}}
	}
	out := make([]console.PeerAnswer, len(answers))
	for i, a := range answers {
		out[i] = console.PeerAnswer{Member: a.Member, Self: a.Self, Body: a.Body, Err: a.Err}
	}
	return out
}
