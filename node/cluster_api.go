package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/tokenstore/tokenstore/authn"
	"github.com/tokenstore/tokenstore/cluster"
	"github.com/tokenstore/tokenstore/httpapi"
	"github.com/tokenstore/tokenstore/snapshot"
)

var _ httpapi.Cluster = (*clusterAPI)(nil)

// clusterAPI is the cluster as the HTTP API sees it: reads of the
// membership, the one forwarding path, and the operations on the whole
// cluster (voting exclusions, backup, restore), each authorized through
// authn before it acts.
type clusterAPI struct {
	node     *cluster.Node
	authn    *authn.Service
	internal http.Handler
	log      hclog.Logger
}

func (a *clusterAPI) NodeID() string    { return a.node.ID() }
func (a *clusterAPI) ClusterID() string { return a.node.State().ClusterID() }
func (a *clusterAPI) Leader() string    { return a.node.Leader() }

func (a *clusterAPI) Members() ([]httpapi.Member, error) {
	ms, err := a.node.Members()
	if err != nil {
		return nil, err
	}
	out := make([]httpapi.Member, len(ms))
	for i, m := range ms {
		out[i] = httpapi.Member{ID: m.ID, HTTPAddr: m.HTTPAddr, RaftAddr: m.RaftAddr, Voter: m.Voter, Leader: m.Leader,
			Alive: m.Alive, LastContact: m.LastContact, Applied: m.Applied, Lag: m.Lag, Version: m.Version}
	}
	return out, nil
}

func (a *clusterAPI) ForwardToLeader(w http.ResponseWriter, r *http.Request) error {
	return a.node.ForwardToLeader(w, r)
}

func (a *clusterAPI) AskMembers(ctx context.Context, path, credential string) ([]httpapi.MemberAnswer, error) {
	answers, err := a.node.AskMembers(ctx, path, credential)
	if err != nil {
		return nil, err
	}
	out := make([]httpapi.MemberAnswer, len(answers))
	for i, ans := range answers {
		out[i] = httpapi.MemberAnswer{Member: ans.Member, Self: ans.Self, Body: ans.Body, Err: ans.Err}
	}
	return out, nil
}

func (a *clusterAPI) Internal() (string, []string, http.Handler) {
	return cluster.InternalPrefix, cluster.NodeOnlyPaths, a.internal
}

func (a *clusterAPI) RequirePeer(h http.Handler) http.Handler { return a.node.RequirePeer(h) }

func (a *clusterAPI) Halted() error { return a.node.Halted() }

// maxVotingExclusions is Elasticsearch's cluster.max_voting_config_exclusions
// default: here an exclusion removes the member from the configuration.
const maxVotingExclusions = 10

func (a *clusterAPI) AddVotingExclusions(c authn.Caller, names []string) error {
	if err := a.authn.Authorize(c, "cluster:admin/voting_config/add_exclusions"); err != nil {
		return err
	}
	if len(names) == 0 {
		return illegalArgument("You must set [node_names] or [node_ids] but not both")
	}
	if len(names) > maxVotingExclusions {
		return illegalArgument(fmt.Sprintf("add voting config exclusions request for %d nodes would exceed the maximum of [%d] set by [cluster.max_voting_config_exclusions]", len(names), maxVotingExclusions))
	}
	if !a.node.IsLeader() {
		// Membership changes run on the leader, which authorizes the
		// request again with the client's own credential.
		return httpapi.ErrLeaderOnly
	}
	if err := a.checkMembers(names); err != nil {
		return err
	}
	for _, n := range names {
		if err := a.node.RemoveVoter(n); err != nil {
			return fmt.Errorf("%w: %v", cluster.ErrUnavailable, err)
		}
	}
	return nil
}

// ChangeMember promotes, demotes or removes one member, on the leader.
func (a *clusterAPI) ChangeMember(c authn.Caller, id string, change httpapi.MemberChange) error {
	action := change.Action()
	if action == "" {
		return illegalArgument(fmt.Sprintf("unknown membership change [%s]", change))
	}
	if err := a.authn.Authorize(c, action); err != nil {
		return err
	}
	if !a.node.IsLeader() {
		return httpapi.ErrLeaderOnly
	}
	var err error
	switch change {
	case httpapi.Promote:
		err = a.node.Promote(id)
	case httpapi.Demote:
		err = a.node.Demote(id)
	default:
		err = a.node.RemoveMember(id)
	}
	switch {
	case errors.Is(err, cluster.ErrUnknownMember):
		return &authn.Error{Kind: authn.NotFound, Type: "resource_not_found_exception",
			Reason: fmt.Sprintf("no member [%s] in the cluster", authn.Clip(id, 256))}
	case errors.Is(err, cluster.ErrMemberDown):
		return illegalArgument(fmt.Sprintf("cannot promote [%s]: it has not answered the leader recently", authn.Clip(id, 256)))
	case errors.Is(err, cluster.ErrLastVoter):
		return illegalArgument(fmt.Sprintf("cannot %s [%s]: it is the last voter", change, authn.Clip(id, 256)))
	case err != nil:
		return err
	}
	a.log.Info("membership changed", "change", string(change), "node", id)
	return nil
}

// checkMembers refuses names that are not members, before any of them is
// removed: each removal is a configuration change of its own.
func (a *clusterAPI) checkMembers(names []string) error {
	members, err := a.node.Members()
	if err != nil {
		return fmt.Errorf("%w: %v", cluster.ErrUnavailable, err)
	}
	for _, n := range names {
		if !slices.ContainsFunc(members, func(m cluster.Member) bool { return m.ID == n }) {
			return illegalArgument(fmt.Sprintf("add voting config exclusions request for nodes named [%s] matched no master-eligible nodes", authn.Clip(n, 256)))
		}
	}
	return nil
}

// Backup authorizes the caller (a backup holds every credential hash, so
// manage_security grants it) and waits, briefly, to include every write
// acknowledged anywhere before the request.
func (a *clusterAPI) Backup(ctx context.Context, c authn.Caller) (func(io.Writer) error, error) {
	if err := a.authn.Authorize(c, authn.ActionBackup); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	a.node.CatchUp(ctx)
	cancel()
	return func(w io.Writer) error { return snapshot.Write(w, a.node.State(), time.Now().UnixMilli()) }, nil
}

// Restore authorizes the caller (a restore replaces the whole state, so
// only all grants it) and installs the backup through Raft, on the leader.
func (a *clusterAPI) Restore(c authn.Caller, backup io.Reader, size int64) (httpapi.RestoreSummary, error) {
	if err := a.authn.Authorize(c, authn.ActionRestore); err != nil {
		return httpapi.RestoreSummary{}, err
	}
	if size > snapshot.MaxBackupSize {
		return httpapi.RestoreSummary{}, snapshot.ErrTooLarge
	}
	if !a.node.IsLeader() {
		return httpapi.RestoreSummary{}, httpapi.ErrLeaderOnly // raft restores on the leader
	}
	hdr, err := snapshot.Restore(a.node, backup)
	if errors.Is(err, snapshot.ErrBadBackup) && !errors.Is(err, snapshot.ErrTooLarge) {
		return httpapi.RestoreSummary{}, illegalArgument(authn.Clip(err.Error(), 300))
	}
	if err != nil {
		return httpapi.RestoreSummary{}, err
	}
	a.log.Info("backup restored", "cluster_id", hdr.ClusterID, "last_index", hdr.LastIndex)
	return httpapi.RestoreSummary{FormatVersion: hdr.FormatVersion, ClusterID: hdr.ClusterID,
		LastIndex: hdr.LastIndex, Counts: hdr.Counts}, nil
}

func illegalArgument(reason string) error {
	return &authn.Error{Kind: authn.Invalid, Type: "illegal_argument_exception", Reason: reason}
}
