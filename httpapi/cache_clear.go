package httpapi

import (
	"context"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/tokenstore/tokenstore/authn"
)

// pathClearCache is where a node clears its own caches when a peer
// passes on a client's cache clear; the client's credential comes along
// and is authorized again here.
const pathClearCache = "/_tokenstore/internal/clear_cache"

// clearCacheTimeout bounds the whole fan-out of one cache clear.
const clearCacheTimeout = 5 * time.Second

// clearCache is the handler of one cache-clearing route: the kind, and the
// path parameter that names what to clear.
func (s *Server) clearCache(kind authn.CacheKind, param string) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, c authn.Caller) error {
		names, err := pathVar(r, param)
		if err != nil {
			return err
		}
		usernames := r.URL.Query().Get("usernames")
		if err := s.authn.ClearCache(c, kind, authn.SplitNames(names), authn.SplitNames(usernames)); err != nil {
			return err
		}
		q := url.Values{"kind": {string(kind)}, "names": {names}}
		if usernames != "" {
			q.Set("usernames", usernames)
		}
		ctx, cancel := context.WithTimeout(r.Context(), clearCacheTimeout)
		defer cancel()
		answers, err := s.cluster.AskMembers(ctx, pathClearCache+"?"+q.Encode(), c.Credential)
		if err != nil {
			return err
		}
		s.writeNodesAnswers(w, r, answers)
		return nil
	}
}

// handleLocalClearCache clears this node's cache for a peer.
func (s *Server) handleLocalClearCache(w http.ResponseWriter, r *http.Request, c authn.Caller) error {
	q := r.URL.Query()
	err := s.authn.ClearCache(c, authn.CacheKind(q.Get("kind")), authn.SplitNames(q.Get("names")), authn.SplitNames(q.Get("usernames")))
	if err != nil {
		return err
	}
	writeJSON(w, r, http.StatusOK, map[string]bool{"acknowledged": true})
	return nil
}

// writeNodesAnswers is Elasticsearch's nodes envelope over a fan-out: the
// nodes that answered, and a failure for each that did not.
func (s *Server) writeNodesAnswers(w http.ResponseWriter, r *http.Request, answers []MemberAnswer) {
	nodes := map[string]any{}
	var failures []map[string]any
	for _, a := range answers {
		if a.Self || a.Err == nil {
			nodes[a.Member] = map[string]string{"name": a.Member}
			continue
		}
		failures = append(failures, map[string]any{"type": "failed_node_exception",
			"reason": "Failed node [" + a.Member + "]", "node_id": a.Member,
			"caused_by": map[string]string{"type": "exception", "reason": authn.Clip(strings.TrimSpace(a.Err.Error()), 256)}})
	}
	sort.Slice(failures, func(i, j int) bool { return failures[i]["node_id"].(string) < failures[j]["node_id"].(string) })
	header := map[string]any{"total": len(answers), "successful": len(nodes), "failed": len(failures)}
	if len(failures) > 0 {
		header["failures"] = failures
	}
	writeJSON(w, r, http.StatusOK, map[string]any{"_nodes": header, "cluster_name": s.cfg.ClusterName, "nodes": nodes})
}
