package node

import (
	"fmt"
	"maps"
	"net/http"
	"path/filepath"
	"slices"
	"strings"

	"github.com/tokenstore/tokenstore/authn"
	"github.com/tokenstore/tokenstore/authn/audit"
	"github.com/tokenstore/tokenstore/cluster"
)

// auditSettings are the xpack.security.audit.* settings.
type auditSettings struct {
	enabled bool
	// include and exclude are events.include/exclude; a nil include is
	// Elasticsearch's default set.
	include, exclude []string
	// policies are the ignore_filters, by policy name.
	policies map[string]*audit.Policy
}

// affixSetting is a family of settings <prefix><name>.<suffix>.
type affixSetting struct {
	prefix   string
	suffixes []string
	set      func(r *resolved, name, v string) error
}

// affixOf finds the affix row a setting name belongs to.
func affixOf(name string) *affixSetting {
	for i := range affixTable {
		a := &affixTable[i]
		rest, ok := strings.CutPrefix(name, a.prefix)
		if !ok {
			continue
		}
		dot := strings.LastIndexByte(rest, '.')
		if dot > 0 && slices.Contains(a.suffixes, rest[dot+1:]) {
			return a
		}
	}
	return nil
}

// settingList reads a list setting: comma-separated, optionally in
// brackets, as -E gives Elasticsearch's list settings.
func settingList(v string) []string {
	v = strings.TrimSpace(v)
	v = strings.TrimSuffix(strings.TrimPrefix(v, "["), "]")
	out := []string{}
	for _, item := range strings.Split(v, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

func auditEvents(dst func(*resolved) *[]string) func(*resolved, string, string) error {
	return func(r *resolved, name, v string) error {
		list := settingList(v)
		if _, err := audit.ParseEvents(list, nil); err != nil {
			return fmt.Errorf("setting [%s]: %w", name, err)
		}
		*dst(r) = list
		return nil
	}
}

// auditIgnoreFilter reads one field of an ignore_filters policy.
func auditIgnoreFilter(r *resolved, name, v string) error {
	rest := strings.TrimPrefix(name, "xpack.security.audit.logfile.events.ignore_filters.")
	dot := strings.LastIndexByte(rest, '.')
	policy, field := rest[:dot], rest[dot+1:]
	if r.audit.policies == nil {
		r.audit.policies = map[string]*audit.Policy{}
	}
	p := r.audit.policies[policy]
	if p == nil {
		p = &audit.Policy{Name: policy}
		r.audit.policies[policy] = p
	}
	list := settingList(v)
	switch field {
	case "users":
		p.Users = list
	case "realms":
		p.Realms = list
	case "roles":
		p.Roles = list
	case "actions":
		p.Actions = list
	}
	return nil
}

// openAudit opens the audit log when xpack.security.audit.enabled is true:
// <cluster.name>_audit.json in the logs directory (--logs-dir, default
// DATA_DIR/logs). It needs the cluster, for cluster.uuid.
func (n *Node) openAudit() error {
	s := n.settings.audit
	if !s.enabled {
		return nil
	}
	dir := n.cfg.LogsDir
	if dir == "" {
		dir = filepath.Join(n.cfg.DataDir, "logs")
	}
	var policies []audit.Policy
	for _, name := range slices.Sorted(maps.Keys(s.policies)) {
		policies = append(policies, *s.policies[name])
	}
	l, err := audit.Open(audit.Config{
		Dir: dir, ClusterName: n.settings.clusterName, NodeID: n.cfg.NodeID, NodeAddress: n.listener.Addr().String(),
		ClusterUUID: func() string { return n.cluster.State().ClusterID() },
		Include:     s.include, Exclude: s.exclude, Policies: policies, InternalPrefix: cluster.InternalPrefix + "/",
		Now: n.cfg.Clock, Logger: n.cfg.Logger,
	})
	if err != nil {
		return err
	}
	n.audit = l
	return nil
}

// observeAudit registers the audit log with the security service.
func (n *Node) observeAudit(ac *authn.Config) {
	if n.audit != nil {
		ac.Observers = append(ac.Observers, n.audit)
	}
}

// auditRequests gives API requests their audit request ids; without an
// audit log the handler is left as it is.
func (n *Node) auditRequests(h http.Handler) http.Handler {
	if n.audit == nil {
		return h
	}
	return n.audit.Requests(h)
}

// closeAudit writes what is queued and closes the file.
func (n *Node) closeAudit() {
	if n.audit != nil {
		if err := n.audit.Close(); err != nil {
			n.log.Error("closing the audit log", "error", err)
		}
	}
}

// Audit is the node's audit log, nil when it is off (its Dropped count is
// for the metrics).
func (n *Node) Audit() *audit.Log { return n.audit }
